"""Where the command line writes (issue 27): `--out` folders shared by concurrent runs, and
`--out FILE` that names something other than a regular file, or a file of the run itself."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from minidl.cli.main import UsageError, _check_out
from minidl.compile import main


def test_concurrent_runs_sharing_an_out_folder_never_fail_its_write_test(tmp_path: Path) -> None:
    """The write test used one fixed file name: two processes removed each other's (278
    failures in 6,000 calls)."""
    failures: list[str] = []

    def check_many() -> None:
        for _ in range(1500):
            try:
                _check_out(tmp_path)
            except UsageError as caught:
                failures.append(str(caught))

    threads = [threading.Thread(target=check_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert list(tmp_path.iterdir()) == []  # no probe left behind


ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"
ROWS = "x1,x2\n0.5,0.25\n0.9,0.1\n"


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


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(ROWS)
    return path


def expected_predictions(seed_run: Path, rows: Path) -> str:
    code, out, err = run(seed_run, "--predict", rows)
    assert code == 0, err
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_out_to_a_fifo_writes_into_it_and_keeps_it(
    seed_run: Path, rows: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, err = run(seed_run, "--predict", rows, "--out", fifo)
    reader.join(timeout=300)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not replaced by a regular file
    assert received == [expected_predictions(seed_run, rows).encode()]


def test_out_dev_stdout_redirected_to_a_file_is_written_not_replaced(
    seed_run: Path, rows: Path, tmp_path: Path
) -> None:
    captured = tmp_path / "captured.txt"
    with captured.open("w") as stdout:
        print("before", file=stdout, flush=True)
        inode = os.fstat(stdout.fileno()).st_ino
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "minidl",
                str(seed_run),
                "--predict",
                str(rows),
                "--out",
                "/dev/stdout",
            ],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert os.stat(captured).st_ino == inode
    assert captured.read_text() == "before\n" + expected_predictions(seed_run, rows)


def test_out_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(
    seed_run: Path, rows: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    target.chmod(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    code, _, err = run(seed_run, "--predict", rows, "--out", link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text() == expected_predictions(seed_run, rows)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to("nowhere.csv")
    code, _, err = run(seed_run, "--predict", rows, "--out", dangling)
    assert code == 2 and "a link to nowhere.csv, which does not exist" in err
    assert dangling.is_symlink() and not (tmp_path / "nowhere.csv").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["--predict", "ROWS", "--out", "metrics.json"],
        ["--emit", "onnx", "--out", "weights.safetensors"],
        ["--predict", "ROWS", "--out", "new.csv"],
    ],
)
def test_out_inside_the_run_folder_is_refused(
    seed_run: Path, rows: Path, tmp_path: Path, command: list[str]
) -> None:
    """It overwrote the run's own file, and the folder then refused to load."""
    folder = tmp_path / "run"
    shutil.copytree(seed_run, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    argv = [str(rows) if a == "ROWS" else a for a in command]
    argv[-1] = str(folder / argv[-1])
    code, out, err = run(folder, *argv)
    assert code == 2
    assert f"is inside the run folder {folder}" in err and not out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
