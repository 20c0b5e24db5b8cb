"""Run folders as targets: the summary, `minidl.load`, resuming, and damaged folders."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import minidl
from minidl.cli.main import main
from minidl.runs.checkpoint import CHECKPOINT
from minidl.runs.run_folder import RunFolderError, write_json

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"
SHORT = ["--set", "train.epochs=3", "--set", "data.train=200"]
LONG = ["--set", "train.epochs=1500", "--set", "data.train=200"]


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def train(out: Path, *options: str, spec: Path = SEED) -> Path:
    code, _, err = run(spec, "--train", "--quiet", "--out", out, *options)
    assert code == 0, err
    (folder,) = out.iterdir()
    return folder


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("seed"), *SHORT)


def test_the_summary_says_status_and_final_figures(seed_run: Path) -> None:
    code, out, _ = run(seed_run)
    metrics = json.loads((seed_run / "metrics.json").read_text())
    assert code == 0
    assert metrics["format_version"] == 1 and metrics["status"] == "completed"
    assert "status completed" in out and f"{metrics['final']['test_error']:.2f} %" in out
    assert "Linear 2->25" in out


def test_load_predicts_what_the_weights_compute_by_hand(seed_run: Path) -> None:
    weights = load_file(str(seed_run / "weights.safetensors"))
    x = torch.rand(500, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    h = x.float()
    for layer in (0, 2, 4):
        h = torch.relu(h @ weights[f"{layer}.weight"].T + weights[f"{layer}.bias"])
    output = torch.tanh(h @ weights["6.weight"].T + weights["6.bias"])
    program = minidl.load(str(seed_run))
    assert program.predict(x) == (output[:, 0] > 0.5).long().tolist()
    assert program.predict(x.numpy()) == program.predict(x)


def test_resuming_a_finished_run_says_so(seed_run: Path) -> None:
    before = (seed_run / "weights.safetensors").read_bytes()
    code, out, _ = run(seed_run, "--resume")
    assert code == 0 and "already complete" in out
    assert (seed_run / "weights.safetensors").read_bytes() == before


# Damaged folders and data: one line (or one diagnostic) naming the file, exit 2, nothing written


def copy_of(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / folder.name
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    return copy


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda f: (f / "weights.safetensors").write_bytes(b""), "weights.safetensors"),
        (
            lambda f: (f / "weights.safetensors").write_bytes(
                (f / "weights.safetensors").read_bytes()[:200]
            ),
            "weights.safetensors",
        ),
        (lambda f: (f / "spec.mdl").unlink(), "spec.mdl"),
        (
            lambda f: (f / "metrics.json").write_text(json.dumps({"format_version": 99})),
            "metrics.json",
        ),
        (
            lambda f: save_file(
                {**load_file(str(f / "weights.safetensors")), "0.weight": torch.zeros(30, 2)},
                str(f / "weights.safetensors"),
            ),
            "weights.safetensors",
        ),
        (
            lambda f: (f / "spec.mdl").write_text(
                (f / "spec.mdl")
                .read_text()
                .replace("25->25 | ReLU | Linear 25->1", "25->24 | ReLU | Linear 24->1")
            ),
            "weights.safetensors",
        ),
    ],
    ids=["empty", "truncated", "no-spec", "future-version", "other-shapes", "other-spec"],
)
@pytest.mark.parametrize("action", [[], ["--predict", "x.csv"], ["--emit", "onnx"], ["--resume"]])
def test_a_damaged_folder_is_one_line_naming_the_file(
    seed_run: Path, tmp_path: Path, damage: object, named: str, action: list[str]
) -> None:
    folder = copy_of(seed_run, tmp_path)
    assert callable(damage)
    damage(folder)
    (tmp_path / "x.csv").write_text("x1,x2\n0.5,0.5\n")
    action = [str(tmp_path / a) if a.endswith(".csv") else a for a in action]
    out_file = tmp_path / "written"
    writes = action and action[0] != "--resume"
    code, out, err = run(folder, *action, *(["--out", out_file] if writes else []))
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert not out_file.exists() and not out


def test_loading_a_damaged_folder_raises_naming_the_file(seed_run: Path, tmp_path: Path) -> None:
    folder = copy_of(seed_run, tmp_path)
    (folder / "weights.safetensors").write_bytes(b"")
    with pytest.raises(RunFolderError, match=r"weights\.safetensors"):
        minidl.load(folder)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x1,y2\n0.5,0.5\n", "E302"),  # a missing feature column, with "did you mean"
        ("x1,x2\n0.5,0.5\n0.5,nan\n", "E307"),
        ("x1,x2,label\n0.5,0.5,1\n0.5,abc,0\n", "E303"),
    ],
    ids=["missing", "nan", "text"],  # an extra column is kept since contract v3
)
@pytest.mark.parametrize("to_file", [True, False])
def test_bad_data_to_predict_is_a_diagnostic(
    seed_run: Path, tmp_path: Path, text: str, code: str, to_file: bool
) -> None:
    data = tmp_path / "data.csv"
    data.write_text(text)
    out_file = tmp_path / "predictions.csv"
    exit_code, out, err = run(
        seed_run, "--predict", data, *(["--out", out_file] if to_file else [])
    )
    assert exit_code == 2 and f"error[{code}]" in err and "Traceback" not in err
    assert not out and not out_file.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    if "y2" in text:
        assert "did you mean `y2`?" in err and "no column named `x2`" in err


def test_predict_matches_columns_by_name_and_keeps_the_cells(
    seed_run: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data.csv"
    data.write_text('x2,label,x1\n0.25,1,"0.5"\n1e-1,0,0.90\n')
    code, out, err = run(seed_run, "--predict", data)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "x2,label,x1,prediction,output"
    assert lines[2].startswith("1e-1,0,0.90,")
    expected = minidl.load(seed_run).predict(torch.tensor([[0.5, 0.25], [0.9, 0.1]]))
    assert [line.split(",")[3] for line in lines[1:]] == [str(e) for e in expected]


# Resuming an interrupted or killed run: bit-identical to a run never interrupted


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("reference"), *LONG)


def start(out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "minidl.compile", str(SEED), "--train", "--quiet"]
    return subprocess.Popen(
        [*command, *LONG, "--out", str(out)],
        cwd=ROOT,
        # A checkpoint at every epoch's end, so that a signal often meets one being written.
        env={**os.environ, "PYTHONUNBUFFERED": "1", "MINIDL_CHECKPOINT_SECONDS": "0"},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize("draw", range(3))
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_resume_after_an_interruption_is_bit_identical(
    reference: Path, tmp_path: Path, how: signal.Signals, draw: int
) -> None:
    process = start(tmp_path)
    deadline = time.monotonic() + 120
    # Once the first checkpoint exists, the signal comes at a random moment: between
    # epochs, inside one, or while a checkpoint is written (one every 2 s).
    while not any((f / CHECKPOINT).exists() for f in tmp_path.iterdir()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    time.sleep(random.Random(draw).uniform(0.0, 1.0))
    process.send_signal(how)
    _, err = process.communicate(timeout=300)
    (folder,) = tmp_path.iterdir()
    assert process.returncode != 0, "the run finished before the signal: make it longer"
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), err
    if how == signal.SIGINT:  # Ctrl-C ends cleanly; a kill may leave a writer's temporary
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    if how == signal.SIGINT:
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["status"] == "interrupted"
        assert (folder / CHECKPOINT).exists() == (metrics["epochs_completed"] > 0)
    code, _, err = run(folder, "--resume", "--quiet")
    assert code == 0, err
    for name in ("weights.safetensors", "history.csv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    assert not (folder / CHECKPOINT).exists()
    assert json.loads((folder / "metrics.json").read_text())["status"] == "completed"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # resume cleans up


def test_json_files_hold_null_where_a_figure_is_not_finite(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"final": [float("nan"), 1.5, float("inf")], "loss": -float("inf"), "n": 2})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"final": [None, 1.5, None], "loss": None, "n": 2}
