"""A run folder on the command line as the README shows it (contract v3, clarifications): a
missing RUN_DIR means the newest RUN_DIR-<timestamp>, and --predict keeps an id column."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

from minidl.compile import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code, _, err = run(SEED, "--train", "--quiet", "--out", out, "--set", "train.epochs=2",
                       "--set", "data.train=100")  # fmt: skip
    assert code == 0, err
    (folder,) = out.iterdir()
    return folder


def test_a_missing_run_dir_means_its_newest_timestamped_folder(
    seed_run: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ["iris-20260101T000000Z", "iris-20260102T000000Z-2", "iris-20260102T000000Z",
                 "iris-20260102T000000Z-10", "iris2-20270101T000000Z"]:  # fmt: skip
        shutil.copytree(seed_run, runs / name)
    (runs / "iris-20990101T000000Z.txt").write_text("not a folder")
    code, out, err = run(runs / "iris")
    assert code == 0, err
    assert f"taking the newest run, {runs / 'iris-20260102T000000Z-10'}" in err
    assert "status completed" in out
    code, out, _ = run(runs / "iris", "--predict", ROOT / "tests" / "diagnostics" / "moons.csv")
    assert code == 0 and out.startswith("x1,x2,label,prediction,output\n")


def test_a_missing_run_dir_without_any_run_is_still_missing(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "iris")
    assert code == 2
    assert f"{tmp_path / 'iris'}: no such file" in err


def test_predict_keeps_an_id_column_as_written_and_unused(seed_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "new.csv"
    data.write_text("id,x2,x1,note\nA-1,0.25,0.5,\nB 2,0.1,0.9,hello\n")
    code, out, err = run(seed_run, "--predict", data)
    assert code == 0, err
    plain = tmp_path / "plain.csv"
    plain.write_text("x2,x1\n0.25,0.5\n0.1,0.9\n")
    _, expected, _ = run(seed_run, "--predict", plain)
    lines, reference = out.splitlines(), expected.splitlines()
    assert lines[0] == "id,x2,x1,note,prediction,output"
    assert lines[1] == "A-1,0.25,0.5,," + reference[1].split(",", 2)[2]
    assert lines[2] == "B 2,0.1,0.9,hello," + reference[2].split(",", 2)[2]


def test_a_bad_feature_cell_beside_an_id_is_blamed_at_the_feature(
    seed_run: Path, tmp_path: Path
) -> None:
    data = tmp_path / "new.csv"
    data.write_text("id,x1,x2\nA,0.5,0.25\nB,0.9,oops\n")
    code, _, err = run(seed_run, "--predict", data)
    assert code == 2
    assert f"{data}:3:7: error[E303]: `oops` is not a number (column `x2`)" in err
