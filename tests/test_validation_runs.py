"""v3: early stopping across interruptions, searches ranked by validation, TensorBoard."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors import safe_open
from test_validation import disk_spec, history_rows, run, train

from minidl.cli.one_run import Progress
from minidl.runs.checkpoint import CHECKPOINT

ROOT = Path(__file__).resolve().parent.parent


def same_files(folder: Path, reference: Path) -> None:
    for name in ("weights.safetensors", "history.csv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    ours, theirs = (json.loads((f / "metrics.json").read_text()) for f in (folder, reference))
    for key in ("status", "epochs_completed", "final", "best_epoch", "stopped_epoch"):
        assert ours[key] == theirs[key], key
    assert not (folder / CHECKPOINT).exists()


# --resume of an early-stopping run is byte-identical


@pytest.fixture(scope="module")
def stopping_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = train(tmp_path_factory.mktemp("reference"), disk_spec(epochs=300))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["stopped_epoch"] == metrics["best_epoch"] + 5 < 300
    return folder


@pytest.mark.parametrize("when", ["before the best epoch", "after it", "at the stop"])
def test_resume_after_ctrl_c_is_byte_identical(
    stopping_reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    metrics = json.loads((stopping_reference / "metrics.json").read_text())
    best, stopped = metrics["best_epoch"], metrics["stopped_epoch"]
    at = {"before the best epoch": best - 3, "after it": best + 2, "at the stop": stopped}[when]
    monkeypatch.setenv("MINIDL_CHECKPOINT_SECONDS", "0")
    update = Progress.update

    def interrupt(self: Progress, done: int, text: str) -> None:
        if done == at:  # as Ctrl-C right after epoch `at`'s checkpoint
            raise KeyboardInterrupt
        update(self, done, text)

    monkeypatch.setattr(Progress, "update", interrupt)
    spec = tmp_path / "es.mdl"
    spec.write_text(disk_spec(epochs=300), encoding="utf-8")
    code, _, err = run(spec, "--train", "--quiet", "--out", tmp_path / "runs")
    assert code == 130, err
    (folder,) = (tmp_path / "runs").iterdir()
    assert json.loads((folder / "metrics.json").read_text())["status"] == "interrupted"
    assert len(history_rows(folder)) == at
    with safe_open(str(folder / CHECKPOINT), framework="pt") as file:
        assert any(key.startswith("best/") for key in file.keys())  # noqa: SIM118
    monkeypatch.setattr(Progress, "update", update)
    code, _, err = run(folder, "--resume", "--quiet")
    assert code == 0, err
    same_files(folder, stopping_reference)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_resume_after_a_signal_during_the_patience_is_byte_identical(
    stopping_reference: Path, tmp_path: Path, how: signal.Signals
) -> None:
    """The signal comes once the checkpoint is past the best epoch: the best weights must
    come back from the checkpoint, the patience counter from the history."""
    best = json.loads((stopping_reference / "metrics.json").read_text())["best_epoch"]
    spec = tmp_path / "es.mdl"
    spec.write_text(disk_spec(epochs=300), encoding="utf-8")
    command = [sys.executable, "-m", "minidl.compile", str(spec), "--train", "--quiet"]
    process = subprocess.Popen(
        [*command, "--out", str(tmp_path / "runs")],
        cwd=ROOT,
        env={**os.environ, "MINIDL_CHECKPOINT_SECONDS": "0"},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _checkpoint_epoch(tmp_path / "runs") <= best:
        assert time.monotonic() < deadline and process.poll() is None, "finished too soon"
        time.sleep(0.005)
    process.send_signal(how)
    _, err = process.communicate(timeout=300)
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), err
    (folder,) = (tmp_path / "runs").iterdir()
    code, _, err = run(folder, "--resume", "--quiet")
    assert code == 0, err
    same_files(folder, stopping_reference)


def _checkpoint_epoch(out: Path) -> int:
    for folder in out.glob("*") if out.exists() else []:
        try:
            with safe_open(str(folder / CHECKPOINT), framework="pt") as file:
                return int((file.metadata() or {}).get("epoch", 0))
        except (OSError, RuntimeError, ValueError):
            pass  # not written yet
    return 0


# Sweeps and searches rank by validation


SEARCH = disk_spec(epochs=40) + "sweep lr=loguniform(0.0005, 0.02) samples=5 runs=2;\n"


def sweep(tmp_path: Path, text: str, *options: str) -> tuple[Path, str, str]:
    spec = tmp_path / "search.mdl"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "runs"
    code, stdout, err = run(spec, "--train", "--quiet", "--jobs", "1", "--out", out, *options)
    assert code == 0, err
    (folder,) = out.iterdir()
    return folder, stdout, err


def test_a_search_with_validation_ranks_by_it_with_test_beside(tmp_path: Path) -> None:
    folder, out, err = sweep(tmp_path, SEARCH)
    assert "W220" not in err
    header, *lines = out.splitlines()[1:-1]
    titles = [t.strip() for t in header.split("  ") if t.strip()]
    assert titles[-3:] == ["Train Error (%)", "Val Error (%)", "Test Error (%)"]
    val_means = [float(line.split()[-6]) for line in lines]
    assert val_means == sorted(val_means) and len(val_means) == 5
    with (folder / "results.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[-2:] == ["val_loss", "val_error"]
    for row in rows:  # each run's figures are its best epoch's
        assert int(row["epoch"]) < 40 or float(row["val_loss"]) > 0
    cells = json.loads((folder / "results.json").read_text())["cells"]
    assert all("val_error" in cell for cell in cells)


def test_a_search_without_validation_warns_that_test_ranking_overstates(tmp_path: Path) -> None:
    text = SEARCH.replace(" validation=0.2", "").replace("patience=5", "")
    _, out, err = sweep(tmp_path, text)
    assert "search.mdl:5:1: warning[W220]" in err
    assert "validation=" in err and "Val Error" not in out
    test_means = [float(line.split()[-3]) for line in out.splitlines()[2:-1]]
    assert test_means == sorted(test_means)


def test_a_grid_with_early_stopping_keeps_each_runs_best_epoch(tmp_path: Path) -> None:
    folder, out, _ = sweep(tmp_path, disk_spec(epochs=300) + "sweep lr=[0.003, 0.001] runs=2;\n")
    assert "Val Error (%)" in out
    with (folder / "results.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    alone = json.loads(
        (train(tmp_path / "one", disk_spec(epochs=300)) / "metrics.json").read_text()
    )
    first = rows[0]  # cell 0, run 0: lr=0.003, seed 0, as the run trained alone
    assert int(first["epoch"]) == alone["best_epoch"]
    assert float(first["val_loss"]) == pytest.approx(alone["final"]["val_loss"], rel=1e-5)


# TensorBoard


def test_tensorboard_scalars_per_epoch_are_read_back(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = train(tmp_path, disk_spec(epochs=300), "--log", "tensorboard")
    rows = history_rows(folder)
    events = EventAccumulator(str(folder))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"loss", "train_error", "val_error", "test_error", "val_loss", "lr"} <= tags
    for tag in ("loss", "val_loss", "test_error"):
        points = events.Scalars(tag)
        assert [p.step for p in points] == [int(r["epoch"]) for r in rows]
        assert [p.value for p in points] == pytest.approx([float(r[tag]) for r in rows])
    assert [p.value for p in events.Scalars("lr")] == pytest.approx([0.003] * len(rows))


def test_a_sweep_logs_each_cells_hparams(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    text = disk_spec(epochs=30) + "sweep lr=[0.003, 0.001] runs=2;\n"
    folder, _, _ = sweep(tmp_path, text, "--log", "tensorboard")
    cells = json.loads((folder / "results.json").read_text())["cells"]
    for cell in cells:
        events = EventAccumulator(str(folder / f"cell-{cell['cell']}"))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        ).session_start_info
        assert start.hparams["sgd.lr"].number_value == cell["settings"]["sgd.lr"]
        experiment = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/experiment"]
        ).experiment
        names = {m.name.tag for m in experiment.metric_infos}
        assert {"val_error", "test_error"} <= names
        (point,) = events.Scalars("val_error")
        assert point.value == pytest.approx(cell["val_error"]["mean"])


def test_tensorboard_missing_is_one_line_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "tensorboard" else find_spec(n, *a)
    )
    spec = tmp_path / "es.mdl"
    spec.write_text(disk_spec(epochs=3), encoding="utf-8")
    code, out, err = run(spec, "--train", "--log", "tensorboard", "--out", tmp_path / "runs")
    assert code == 2 and out == "" and not (tmp_path / "runs").exists()
    assert err.count("\n") == 1 and "minidl[tensorboard]" in err and "Traceback" not in err


def test_log_without_training_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "es.mdl"
    spec.write_text(disk_spec(epochs=3), encoding="utf-8")
    code, _, err = run(spec, "--log", "tensorboard")
    assert code == 2 and "--train" in err and err.count("\n") == 1


def test_a_grid_with_validation_ranks_its_cells_by_it(tmp_path: Path) -> None:
    text = disk_spec(epochs=20, stop="") + "sweep lr=[0.0001, 0.003, 0.001] runs=2;\n"
    folder, out, _ = sweep(tmp_path, text)
    lines = out.splitlines()
    titles = lines[1].split()[1:]
    val = next(line for line in lines if line.startswith("Val Error (%)"))
    means = [float(v) for v in val.split("(%)")[1].split()[::3]]
    assert means == sorted(means) and len(means) == 3
    cells = json.loads((folder / "results.json").read_text())["cells"]
    by_val = sorted(cells, key=lambda c: (c["val_error"]["mean"], c["cell"]))
    assert titles == [f"{c['settings']['sgd.lr']:g}" for c in by_val]
