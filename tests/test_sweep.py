"""Sweeps: the grid, the seeds, stacked ensembles against runs one by one, the files."""

from __future__ import annotations

import csv
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from minidl import compile_ensemble, compile_spec
from minidl.cli.sweep_grid import Task, cells
from minidl.cli.sweep_task import run_task
from minidl.compile import main
from minidl.lang import parse

NETWORK = "Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;"


def test_grid_is_the_product_in_written_order() -> None:
    spec = parse(NETWORK + "sweep batch=[4, 8, 16] backend=[minidl, torch] runs=3")
    grid = cells(spec)
    assert [c.settings for c in grid][:3] == [
        (("sgd.batch", 4), ("train.backend", "minidl")),
        (("sgd.batch", 4), ("train.backend", "torch")),
        (("sgd.batch", 8), ("train.backend", "minidl")),
    ]
    assert (
        len(grid) == 6
        and grid[5].spec.optimizer.batch == 16
        and grid[5].spec.train.backend == "torch"
    )
    assert all(c.spec.sweep is None for c in grid)
    assert grid[0].label == "batch=4, backend=minidl"
    assert cells(parse(NETWORK + "sweep lr=[0.1]"))[0].label == "0.1"


def test_ensemble_equals_runs_one_by_one_in_float64() -> None:
    spec = parse(NETWORK + "train epochs=2 seed=5 dtype=float64; data disk train=200 test=100")
    ensemble = compile_ensemble(spec, runs=3)
    histories = ensemble.fit()
    for run in range(3):
        seeded = spec.train.model_copy(update={"seed": 5 + run})
        alone = compile_spec(spec.model_copy(update={"train": seeded}))
        history = alone.fit()
        for (stacked, _), (value, _) in zip(
            ensemble.model.param(), alone.model.param(), strict=True
        ):
            torch.testing.assert_close(stacked[run], value, atol=1e-8, rtol=0)
        assert [r.test_error for r in histories[run]] == [r.test_error for r in history]


def test_float32_sweep_means_agree_with_sequential_runs() -> None:
    spec = parse(NETWORK + "train epochs=15 seed=0; data disk train=300 test=300; sweep runs=4")
    (cell,) = cells(spec)
    stacked = run_task(Task(cell, 0, 4))  # a minidl cell's runs: one stacked task
    sequential = []
    for run in range(4):
        seeded = spec.train.model_copy(update={"seed": run})
        program = compile_spec(cell.spec.model_copy(update={"train": seeded}))
        sequential.append(program.fit()[-1])
    for name in ("train_error", "test_error"):
        ours = statistics.fmean(stacked.figures(name))
        theirs = statistics.fmean(getattr(r, name) for r in sequential)
        assert abs(ours - theirs) <= 0.3


def test_sweep_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "grid.mdl"
    spec.write_text(
        NETWORK + "train epochs=2 seed=10; data disk train=64 test=32;"
        "sweep batch=[8, 16] lr=[0.01, 0.001] runs=3"
    )
    assert main([str(spec), "--train", "--quiet", "--jobs", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "grid: 4 cells × 3 runs, 2 epochs" in out
    header, train_row, test_row = out.splitlines()[1:4]
    assert header.split()[:3] == ["sgd.batch", "×", "sgd.lr"]
    assert train_row.startswith("Train Error (%)") and test_row.startswith("Test Error (%)")
    assert train_row.count("±") == 4
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    with (folder / "results.csv").open(newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames is not None and reader.fieldnames[:3] == [
        "cell",
        "sgd.batch",
        "sgd.lr",
    ]
    assert "settings" not in reader.fieldnames
    assert len(rows) == 12
    assert sorted({int(r["seed"]) for r in rows}) == [10, 11, 12]
    # draw order: cell by cell, run by run
    assert [(r["cell"], r["run"]) for r in rows] == [
        (str(c), str(r)) for c in range(4) for r in range(3)
    ]
    by_batch: dict[int, list[float]] = {}
    for row in rows:
        by_batch.setdefault(int(row["sgd.batch"]), []).append(float(row["test_error"]))
    assert sorted(by_batch) == [8, 16] and all(len(v) == 6 for v in by_batch.values())
    assert {(r["sgd.batch"], r["sgd.lr"]) for r in rows} == {
        ("8", "0.01"),
        ("8", "0.001"),
        ("16", "0.01"),
        ("16", "0.001"),
    }
    results = json.loads((folder / "results.json").read_text())
    assert results["status"] == "completed" and len(results["cells"]) == 4
    first = results["cells"][0]
    errors = [r["test_error"] for r in first["runs"]]
    assert first["test_error"]["mean"] == pytest.approx(statistics.fmean(errors))
    assert first["test_error"]["std"] == pytest.approx(statistics.stdev(errors))
    assert (folder / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "spec.mdl").exists()


def test_sweep_cells_are_reproducible_whatever_the_jobs(tmp_path: Path) -> None:
    spec = parse(NETWORK + "train epochs=2; data disk train=50 test=50; sweep batch=[4, 8] runs=2")
    one = [run_task(Task(c, 0, 2)) for c in cells(spec)]
    again = [run_task(Task(c, 0, 2)) for c in cells(spec)]
    assert [r.finals for r in one] == [r.finals for r in again]


def test_bad_sweep_on_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "s.mdl"
    spec.write_text(NETWORK)
    assert main([str(spec), "--set", "sweep.batchsize=[4]"]) == 2
    assert "did you mean `batch`?" in capsys.readouterr().err
    assert main([str(spec), "--set", "sweep.batch=[]"]) == 2
    assert "error[E221]" in capsys.readouterr().err
    assert main([str(spec), "--set", "sweep.backend=[minidl, jax]"]) == 2
    assert "error[E222]: `train.backend` must be one of" in capsys.readouterr().err


def test_results_csv_has_a_column_per_key_with_the_short_key_spelled_out(tmp_path: Path) -> None:
    """With `adam`, `lr` is `adam.lr`; a string with a comma and a quote survives the CSV."""
    from minidl.cli.sweep_grid import CellResult
    from minidl.cli.sweep_results import write_results

    weird = 'a,b "c"'
    spec = parse(
        NETWORK + 'adam; data csv train="d.csv" target=y;'
        'sweep lr=[0.1, 0.01] data.target=[y, "a,b \\"c\\""] runs=2'
    )
    grid = cells(spec)
    assert grid[1].settings[1][1] == weird
    results = [CellResult(c.index, [None, None], 0.0, "diverged") for c in grid]
    write_results(tmp_path, spec, grid, results, "interrupted", 0.0)
    with (tmp_path / "results.csv").open(newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames is not None and reader.fieldnames[1:3] == ["adam.lr", "data.target"]
    assert [r["data.target"] for r in rows] == ["y", "y", weird, weird] * 2
    assert [r["adam.lr"] for r in rows] == ["0.1"] * 4 + ["0.01"] * 4


SWEEP_ARGS = ["--set", "sweep.runs=2", "--set", "train.epochs=25", "--jobs", "1", "--quiet"]
TABLE1 = str(Path(__file__).parents[1] / "specs" / "table1.mdl")


def minidl(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "minidl.compile", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    done = minidl(TABLE1, "--train", *SWEEP_ARGS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    (folder,) = out.iterdir()
    return folder


@pytest.mark.parametrize(
    ("how", "delay"),
    [(signal.SIGINT, 0.0), (signal.SIGKILL, 0.5)],
    ids=["sigint-between-cells", "sigkill-inside-a-cell"],
)
def test_a_sweep_cut_short_resumes_to_the_same_results(
    uninterrupted: Path, tmp_path: Path, how: signal.Signals, delay: float
) -> None:
    """Interrupt or kill a sweep once its first cell is kept (at once, or a moment later,
    inside the next cell); `--resume` keeps the finished cells, runs the rest, and
    `results.csv` is byte for byte the uninterrupted sweep's."""
    command = [sys.executable, "-m", "minidl.compile", TABLE1, "--train", *SWEEP_ARGS]
    process = subprocess.Popen(
        [*command, "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("*/results.json")):
        assert time.monotonic() < deadline and process.poll() is None, "no cell finished"
        time.sleep(0.02)
    time.sleep(delay)
    process.send_signal(how)
    process.communicate(timeout=300)
    assert process.returncode != 0, "the sweep finished before the signal"
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "results.json").read_text())["status"] == "interrupted"
    resumed = minidl(str(folder), "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    expected = (uninterrupted / "results.csv").read_bytes()
    assert (folder / "results.csv").read_bytes() == expected
    assert json.loads((folder / "results.json").read_text())["status"] == "completed"
    again = minidl(str(folder), "--resume", timeout=120)
    assert again.returncode == 0 and "already complete" in again.stdout
