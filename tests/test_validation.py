"""v3: a validation set held out of the training rows, and early stopping on its loss."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minidl.cli.main import main
from minidl.compiler.program import compile_ensemble, compile_spec, final_record, with_run_seed
from minidl.data import held_out
from minidl.lang import SpecError, format_spec, parse
from minidl.stopping import EarlyStopping, model_tensors
from minidl.train import evaluate

DISK = """Linear 2->25 | ReLU | Linear 25->1 | Tanh;
sgd lr={lr} batch=16 momentum=0.9;
train epochs={epochs} {stop};
data disk train=200 test=100 validation=0.2;
"""


def disk_spec(epochs: int = 60, stop: str = "patience=5", lr: float = 0.003) -> str:
    return DISK.format(epochs=epochs, stop=stop, lr=lr)


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def train(tmp_path: Path, text: str, *options: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "es.mdl"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "runs"
    code, _, err = run(spec, "--train", "--quiet", "--out", out, *options)
    assert code == 0, err
    (folder,) = out.iterdir()
    return folder


def history_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "history.csv").open(newline="") as file:
        return list(csv.DictReader(file))


# The language: options, their canonical form, their mistakes


def test_validation_and_patience_round_trip() -> None:
    spec = parse(disk_spec(stop="patience=4 min_delta=0.001"))
    assert spec.data.validation == 0.2
    assert (spec.train.patience, spec.train.min_delta) == (4, 0.001)
    assert parse(format_spec(spec)) == spec
    csv_spec = parse('Linear ->2; data csv train="a.csv" target=y split=0.8 validation=0.25')
    assert csv_spec.data.validation == 0.25


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.1"])
def test_validation_is_a_fraction(value: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(f"Linear 2->1; data disk validation={value}")
    (found,) = caught.value.diagnostics
    assert found.code == "E132" and "validation" in found.message


def test_patience_without_validation_points_at_patience_and_names_validation() -> None:
    with pytest.raises(SpecError) as caught:
        parse("Linear 2->1;\ntrain epochs=9 patience=3;\ndata disk train=50")
    (found,) = caught.value.diagnostics
    assert (found.code, found.line, found.column) == ("E260", 2, 16)
    assert "validation" in found.message and "validation=" in (found.help or "")


def test_set_checks_patience_against_validation() -> None:
    seed = Path(__file__).parents[1] / "specs" / "seed.mdl"
    code, _, err = run(seed, "--set", "train.patience=3")
    assert code == 2 and "error[E260]" in err and "validation" in err
    code, out, err = run(seed, "--set", "train.patience=3", "--set", "data.validation=0.2")
    assert code == 0 and "patience=3" in out, err


def test_a_validation_share_that_leaves_no_row_is_e262_at_validation(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.mdl"
    spec.write_text("Linear 2->1;\ntrain epochs=1;\ndata disk train=3 validation=0.1;\n")
    code, _, err = run(spec, "--train", "--out", tmp_path / "runs")
    assert code == 2 and "tiny.mdl:3:" in err and "error[E262]" in err, err
    assert "Traceback" not in err


def test_a_csv_validation_share_that_leaves_no_row_is_e262(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n", encoding="utf-8")
    spec = tmp_path / "c.mdl"
    spec.write_text('Linear ->1;\ndata csv train="d.csv" target=y validation=0.1;\n')
    code, _, err = run(spec, "--train", "--out", tmp_path / "runs")
    assert code == 2 and "c.mdl:2:" in err and "error[E262]" in err, err


# The hold-out


@given(st.integers(2, 500), st.floats(0.01, 0.99), st.integers(0, 2**31))
def test_held_out_rows_are_a_seeded_partition(rows: int, fraction: float, seed: int) -> None:
    count = round(fraction * rows)
    if count < 1 or count >= rows:
        with pytest.raises(ValueError, match="leaves no row"):
            held_out(rows, fraction, torch.Generator().manual_seed(seed))
        return
    kept, out = held_out(rows, fraction, torch.Generator().manual_seed(seed))
    again = held_out(rows, fraction, torch.Generator().manual_seed(seed))
    assert torch.equal(kept, again[0]) and torch.equal(out, again[1])
    assert len(out) == count
    assert sorted(kept.tolist() + out.tolist()) == list(range(rows))


def test_validation_rows_are_training_rows_never_trained_on() -> None:
    with_val = compile_spec(parse(disk_spec(stop="")))
    without = compile_spec(parse(disk_spec(stop="").replace(" validation=0.2", "")))
    train, validation = with_val.data[0], with_val.validation
    assert validation is not None and (len(train), len(validation)) == (160, 40)
    rows = {tuple(r) for r in torch.cat([train.inputs, validation.inputs]).tolist()}
    assert rows == {tuple(r) for r in without.data[0].inputs.tolist()}
    assert not {tuple(r) for r in train.inputs.tolist()} & {
        tuple(r) for r in validation.inputs.tolist()
    }
    assert torch.equal(with_val.data[1].inputs, without.data[1].inputs)  # the test set stays


def test_csv_validation_after_split_with_train_statistics(tmp_path: Path) -> None:
    root = Path(__file__).parents[1] / "specs"
    text = (root / "iris.mdl").read_text().replace("normalize=standard", "validation=0.25")
    spec = tmp_path / "iris.mdl"
    spec.write_text(text.replace('"data/iris.csv"', f'"{root / "data" / "iris.csv"}"'))
    program = compile_spec(parse(spec.read_text(), filename=str(spec)))
    assert (len(program.data[0]), len(program.validation or []), len(program.data[1] or [])) == (
        90,
        30,
        30,
    )
    # Normalised, the statistics are those of the rows left for training.
    normalised = spec.read_text().replace("validation=0.25", "validation=0.25 normalize=standard")
    program = compile_spec(parse(normalised, filename=str(spec)))
    means = program.data[0].inputs.mean(dim=0)
    assert torch.allclose(means, torch.zeros_like(means), atol=1e-5)


# Early stopping


@pytest.mark.parametrize(
    ("losses", "patience", "min_delta", "best", "since"),
    [
        ([5.0, 4.0, 4.0, 4.0], 2, 0.0, 2, 2),
        ([5.0, 4.0, 4.5, 3.0, 3.5], 3, 0.0, 4, 1),
        ([1.0, 0.95, 0.91, 0.5], 5, 0.1, 4, 0),
        ([1.0, 0.95, 0.91], 5, 0.1, 1, 2),
        ([float("nan"), 1.0], 5, 0.0, 1, 1),
    ],
)
def test_the_rule(
    losses: list[float], patience: int, min_delta: float, best: int, since: int
) -> None:
    rule = EarlyStopping(patience, min_delta)
    assert rule.state(losses) == (best, since)
    assert rule.stopped(losses) == (since >= patience)


def test_a_run_stops_patience_epochs_after_its_best_and_keeps_that_epoch(tmp_path: Path) -> None:
    folder = train(tmp_path, disk_spec(epochs=200, stop="patience=5"))
    metrics = json.loads((folder / "metrics.json").read_text())
    rows = history_rows(folder)
    assert metrics["status"] == "completed"
    best, stopped = metrics["best_epoch"], metrics["stopped_epoch"]
    assert stopped == len(rows) == best + 5 < 200
    losses = [float(r["val_loss"]) for r in rows]
    assert losses[best - 1] == min(losses)
    row = rows[best - 1]
    assert list(row) == [*metrics["final"]]  # the same figures, named as the columns
    assert {k: float(v) for k, v in row.items()} == metrics["final"]
    assert {"val_loss", "val_error"} <= set(row)


def test_the_kept_weights_are_the_best_epochs(tmp_path: Path) -> None:
    stopped = train(tmp_path / "a", disk_spec(epochs=200, stop="patience=5"))
    best = json.loads((stopped / "metrics.json").read_text())["best_epoch"]
    # The same run, told to end at its best epoch (same data, hold-out and updates).
    plain = train(tmp_path / "b", disk_spec(epochs=best, stop=""))
    assert (stopped / "weights.safetensors").read_bytes() == (
        plain / "weights.safetensors"
    ).read_bytes()


def test_min_delta_asks_for_a_larger_fall() -> None:
    loose = compile_spec(parse(disk_spec(epochs=300, stop="patience=5")))
    strict = compile_spec(parse(disk_spec(epochs=300, stop="patience=5 min_delta=0.01")))
    assert len(strict.fit()) < len(loose.fit())


def test_without_patience_validation_only_scores() -> None:
    program = compile_spec(parse(disk_spec(epochs=7, stop="")))
    history = program.fit()
    assert len(history) == 7 and all(r.val_loss is not None for r in history)
    assert final_record(program.spec, history) is history[-1]


def test_the_torch_backend_stops_where_minidl_does() -> None:
    text = disk_spec(epochs=200, stop="patience=5 backend=torch dtype=float64")
    theirs = compile_spec(parse(text))
    mine = compile_spec(parse(text.replace(" backend=torch", "")))
    h_theirs, h_mine = theirs.fit(), mine.fit()
    assert len(h_theirs) == len(h_mine) < 200
    best = final_record(theirs.spec, h_theirs)
    assert best.epoch == final_record(mine.spec, h_mine).epoch
    assert theirs.validation is not None
    theirs.model.eval()
    assert float(evaluate(theirs.model, theirs.loss, theirs.validation)[0]) == pytest.approx(
        best.val_loss, rel=1e-9
    )


# Early stopping inside a stacked ensemble


def test_each_stacked_run_stops_by_itself_as_it_would_alone() -> None:
    spec = parse(disk_spec(epochs=150))
    ensemble = compile_ensemble(spec, 4)
    trained: list[int] = []
    histories = ensemble.fit(callback=lambda records: trained.append(len(records)))
    lengths = [len(h) for h in histories]
    assert len(set(lengths)) > 1, "pick settings where the runs stop at different epochs"
    assert len(trained) == max(lengths) < 150  # the cell ends when its last run stops
    assert trained == [sum(n >= e for n in lengths) for e in range(1, max(lengths) + 1)]
    for r, history in enumerate(histories):
        alone = compile_spec(with_run_seed(spec, r))
        solo = alone.fit()
        assert [h.epoch for h in history] == [h.epoch for h in solo]
        for mine, theirs in zip(history, solo, strict=True):
            assert mine.val_loss == pytest.approx(theirs.val_loss, rel=1e-4, abs=1e-6)
        # Stopped early, the run's weights stayed at its best epoch while the others went on.
        pairs = zip(model_tensors(alone.model), model_tensors(ensemble.model), strict=True)
        for one, stacked in pairs:
            assert torch.allclose(one, stacked[r], atol=1e-5)


def test_the_emitted_script_holds_out_and_stops_as_train_does(tmp_path: Path) -> None:
    import subprocess
    import sys

    text = disk_spec(epochs=300, stop="patience=5 min_delta=0.0001")
    folder = train(tmp_path, text)
    code, script, err = run(tmp_path / "es.mdl", "--emit", "python")
    assert code == 0, err
    (tmp_path / "es.py").write_text(script, encoding="utf-8")
    printed = subprocess.run(
        [sys.executable, str(tmp_path / "es.py")], capture_output=True, text=True, check=True
    ).stdout
    final = json.loads((folder / "metrics.json").read_text())["final"]
    assert f"train error {final['train_error']:.2f} %" in printed
    assert f"test error {final['test_error']:.2f} %  loss {final['loss']:.6f}" in printed


def test_the_run_folder_summary_tells_the_best_epoch(tmp_path: Path) -> None:
    folder = train(tmp_path, disk_spec(epochs=300))
    metrics = json.loads((folder / "metrics.json").read_text())
    code, out, err = run(folder)
    assert code == 0, err
    assert f"best epoch {metrics['best_epoch']} kept" in out
    assert f"stopped after epoch {metrics['stopped_epoch']}" in out
    assert f"val error {metrics['final']['val_error']:.2f} %" in out
    assert (folder / "curves.png").stat().st_size > 0
