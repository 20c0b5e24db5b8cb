"""Contract v3: validation and early stopping on the tables of v3 (regression, categories,
gaps): `val_rmse` and `val_r2` instead of `val_error`, the best epoch kept, searches ranked
by validation RMSE, and the hold-out of the tables reader."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
import torch
from test_tables import line_data, run, trained, write

from minidl.data.csv_sets import CsvSets, csv_datasets

VALIDATED = (
    "Linear ->8 | ReLU | Linear ->1; loss MSE reduction=mean; adam lr=0.05 batch=8; "
    'train epochs=300 patience=5; data csv train="d.csv" split=0.75 target=t0 '
    "normalize=standard validation=0.25"
)

HEADER = [
    "epoch", "loss", "train_loss", "test_loss", "train_rmse", "test_rmse", "train_r2", "test_r2",
    "val_loss", "val_rmse", "val_r2",
]  # fmt: skip


def numbers_only(text: str) -> str:
    """The table without its text column `kind`: read by the fast numeric reader."""
    return "".join(
        ",".join(c for i, c in enumerate(line.split(",")) if i != 2) + "\n"
        for line in text.splitlines()
    )


@pytest.mark.parametrize("table", ["categories", "numbers"])
def test_regression_with_validation_and_patience(table: str, tmp_path: Path) -> None:
    data = line_data(80)
    folder = trained(tmp_path, data if table == "categories" else numbers_only(data), VALIDATED)
    metrics = json.loads((folder / "metrics.json").read_text())
    with (folder / "history.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == HEADER
    best, stopped = metrics["best_epoch"], metrics["stopped_epoch"]
    assert metrics["status"] == "completed"
    assert stopped == len(rows) == best + 5 < 300
    losses = [float(r["val_loss"]) for r in rows]
    assert losses[best - 1] == min(losses)
    final = metrics["final"]
    assert list(final) == HEADER and final["epoch"] == best
    assert {k: float(v) for k, v in rows[best - 1].items()} == final
    assert final["val_rmse"] > 0 and final["val_r2"] <= 1


def test_the_printed_line_and_the_summary_show_val_rmse_and_r2(tmp_path: Path) -> None:
    path = write(tmp_path, line_data(80), VALIDATED)
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    final = json.loads((folder / "metrics.json").read_text())["final"]
    line = next(line for line in out.splitlines() if line.startswith("train rmse"))
    words = line.split()
    assert words[3:5] == ["val", "rmse"] and words[6:8] == ["val", "r2"]
    assert float(words[5]) == pytest.approx(final["val_rmse"], rel=1e-5)
    assert "val error" not in out
    code, summary, err = run(str(folder))
    assert code == 0, err
    assert "val rmse" in summary and "best epoch" in summary


def test_the_hold_out_is_never_trained_on_and_fills_gaps_with_the_kept_rows_mean(
    tmp_path: Path,
) -> None:
    lines = line_data(60).splitlines()
    for row in range(1, len(lines), 4):  # gaps in x1, some in the rows held out
        cells = lines[row].split(",")
        lines[row] = ",".join(["NA", *cells[1:]])
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")

    def sets(validation: float | None) -> CsvSets:
        return csv_datasets(
            tmp_path / "d.csv",
            "t0",
            outputs=1,
            loss="mse",
            generator=torch.Generator().manual_seed(0),
            split_fraction=0.75,
            normalize="standard",
            validation=validation,
        )

    whole, held = sets(None), sets(0.25)
    assert held.validation is not None and held.raw_inputs is not None
    assert whole.raw_inputs is not None
    # 45 training rows after the split: 11 held out, 34 trained on, none in both.
    assert (len(held.train), len(held.validation)) == (34, 11)
    assert held.test is not None and whole.test is not None  # the same split: test alike
    assert len(held.test) == len(whole.test) == 15
    assert torch.equal(held.test.inputs[:, 2:], whole.test.inputs[:, 2:])  # one-hot `kind`
    kept = held.raw_inputs
    # A gap takes the mean of the kept rows' present cells, so the kept column's mean is it.
    mean = held.encoding.columns[0].mean
    assert mean == pytest.approx(float(kept[:, 0].mean()), rel=1e-12)
    assert mean != pytest.approx(whole.encoding.columns[0].mean, rel=1e-9)
    # The normalisers learn from the kept rows only.
    assert held.normalizer.shift is not None
    assert float(held.normalizer.shift[0]) == pytest.approx(float(kept[:, 0].mean()))
    # The categories are the whole train file's, with or without the hold-out.
    assert held.encoding.input_names() == whole.encoding.input_names()


def test_a_sweep_ranks_by_validation_rmse_and_results_csv_has_its_columns(
    tmp_path: Path,
) -> None:
    spec = VALIDATED.replace("epochs=300 patience=5", "epochs=20") + (
        "; sweep adam.lr=[0.001, 0.05, 0.01] runs=2"
    )
    path = write(tmp_path, line_data(80), spec)
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    assert "Val RMSE" in out and "Val R2" in out and "Test RMSE" in out
    (folder,) = (tmp_path / "runs").iterdir()
    with (folder / "results.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[-7:] == [*HEADER[-7:-3], "val_loss", "val_rmse", "val_r2"]
    by_cell: dict[str, list[float]] = {}
    for row in rows:
        by_cell.setdefault(row["adam.lr"], []).append(float(row["val_rmse"]))
    means = {lr: statistics.fmean(values) for lr, values in by_cell.items()}
    header = next(line for line in out.splitlines() if line.startswith("adam.lr"))
    shown = header.split()[1:]  # the cells, best first
    assert shown == sorted(means, key=means.__getitem__)
    assert shown != ["0.001", "0.05", "0.01"]  # ranked, not in the grid's order
