"""Exceptions that cross a process or Ray boundary, and a sweep whose cells all fail for one
data fault: reported once, exit 2, in seconds (it used to hang the worker pool forever)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from minidl.cli.main import UsageError
from minidl.cli.ray_executor import RayError
from minidl.cli.sweep import sendable
from minidl.data import DataError
from minidl.data.parse import ChunkFault
from minidl.lang import Diagnostic, SpecError
from minidl.lang.settings import SettingsError
from minidl.runs.run_folder import RunFolderError
from minidl.train import DivergenceError, EpochRecord

DIAGNOSTIC = Diagnostic("E303", "`abc` is not a number", 3, 5, 3, 8, "numbers only", "d.csv")
RECORD = EpochRecord(1, 0.5, 0.4, 0.6, 10.0, 20.0)

EXCEPTIONS: list[Exception] = [
    SpecError([DIAGNOSTIC], "a,b\n"),
    SettingsError([DIAGNOSTIC], ["sgd.lr=x"]),
    DataError(
        "d.csv",
        3,
        "E303",
        "not a number",
        "fix it",
        column=5,
        end_column=8,
        source_line="0.3,abc,1",
    ),
    DivergenceError(4, 2, "loss", [[RECORD], []], 1),
    RunFolderError(Path("runs/x/weights.safetensors"), "truncated"),
    ChunkFault(65536, "bad chunk"),
    UsageError("--out x: is a file"),
    RayError("no Ray cluster answers"),
]


@pytest.mark.parametrize("caught", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_every_exception_survives_a_pickle_round_trip(caught: Exception) -> None:
    back = pickle.loads(pickle.dumps(caught))
    assert type(back) is type(caught)
    assert str(back) == str(caught)
    assert vars(back) == vars(caught)


def test_an_exception_that_cannot_be_pickled_is_sent_as_its_message() -> None:
    class Stubborn(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}+{b}")

    sent = sendable(Stubborn(1, 2))
    assert type(sent) is RuntimeError
    assert str(sent) == "Stubborn: 1+2"
    assert sendable(caught := ValueError("x")) is caught


BAD_CELL_SWEEP = """Linear ->4 | ReLU | Linear ->1;
sgd lr=0.1 batch=2;
train epochs=3;
data csv train="bad.csv" target=y;
sweep train.seed=[0, 1, 2];
"""


def bad_cell_sweep(folder: Path) -> Path:
    """A sweep of three cells over a CSV whose line 3 has a cell too many (a text cell, which
    the issue used, is a category since contract v3)."""
    rows = ["a,b,y", "0.1,0.2,0", "0.3,0.1,1,7", "0.5,0.9,1", "0.2,0.4,0", "0.8,0.7,1"]
    (folder / "bad.csv").write_text("\n".join(rows) + "\n")
    spec = folder / "sweep.mdl"
    spec.write_text(BAD_CELL_SWEEP)
    return spec


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_a_sweep_over_a_bad_cell_reports_it_once_and_exits_2(tmp_path: Path, jobs: str) -> None:
    spec = bad_cell_sweep(tmp_path)
    out = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "minidl",
            str(spec),
            "--train",
            "--quiet",
            "--jobs",
            jobs,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("error[E304]") == 1
    assert f"{tmp_path / 'bad.csv'}:3:" in done.stderr
    assert not out.exists() or not any(out.iterdir())  # no half-made sweep folder
