"""`--executor ray`: the same `results.csv` as `local`, on a Ray cluster at an address and on
a Ray instance the sweep starts itself; a killed worker's task is retried; Ctrl-C cancels.

Adds about 90 s to CI on 2 busy cores (a `ray start` of ~10 s, a Ray started by the sweep of
~20 s, six short sweeps); skipped without Ray.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "minidl[ray]")')

ROOT = Path(__file__).parents[1]
TABLE1 = ROOT / "specs" / "table1.mdl"
SHORT = ["--set", "sweep.runs=2", "--set", "train.epochs=5", "--train", "--quiet"]
TWO_CELLS = """Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;
loss MSE;
sgd lr=0.01 batch=16;
train epochs=40 seed=0;
data disk train=3000 test=1000;
sweep batch=[256, 4] runs=2;
"""
"""A cell that ends in a blink (batch 256) and one that trains for seconds (batch 4)."""


@dataclass(frozen=True)
class Head:
    """A Ray cluster started by `ray start --head`: its address, the environment a driver
    needs to join it, and its temp folder (which its worker processes carry in RAY_TMPDIR)."""

    address: str
    env: dict[str, str]
    temp: str


def minidl(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minidl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=driver_env(env),
        cwd=ROOT,
    )


def driver_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    if extra is None or "RAY_ADDRESS" not in extra:
        env.pop("RAY_ADDRESS", None)  # a test says where its cluster is
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def results_csv(where: Path) -> bytes:
    (folder,) = [p for p in where.iterdir() if p.is_dir()]
    return (folder / "results.csv").read_bytes()


def training_workers(head: Head) -> list[int]:
    """The process ids of `head`'s workers that are training a task at this moment."""
    marker = f"RAY_TMPDIR={head.temp}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "cmdline").read_bytes().startswith(b"ray::_train_task") and marker in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # not a process, or one that just ended
            continue
    return found


def wait_for(condition: Callable[[], object], what: str, limit: float = 600) -> None:
    """Poll `condition()` until it holds; fail, saying `what`, after `limit` seconds.

    The limits here and the timeouts below only stop a hung test: they are minutes, so that a
    machine loaded by other jobs (Ray's workers start slowly there) never fails a test."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    """A one-machine Ray cluster with two CPUs and its own token, stopped afterwards whatever
    happens. `ray start --block` stops its own processes on SIGTERM, where `ray stop` would
    stop every Ray instance of this user on the machine."""
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    joins = {"RAY_TMPDIR": str(temp), "RAY_AUTH_MODE": "token",
             "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # fmt: skip
    start = [ray_cli, "start", "--head", "--block", "--num-cpus", "2", "--port", str(port)]
    start += ["--include-dashboard", "false", "--disable-usage-stats"]
    log = temp / "ray-start.log"
    with log.open("w") as output:
        ray_start = subprocess.Popen(start, stdout=output, stderr=subprocess.STDOUT,
                                     env=driver_env(joins))  # fmt: skip
    try:

        def started() -> bool:
            return "Ray runtime started" in log.read_text() or ray_start.poll() is not None

        wait_for(started, "`ray start` to start")
        assert ray_start.poll() is None, log.read_text()
        yield Head(f"127.0.0.1:{port}", joins, str(temp))
    finally:
        ray_start.terminate()
        ray_start.wait(timeout=300)


@pytest.fixture(scope="module")
def table1_local(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[str]]:
    """The short Table 1 sweep with `--executor local`: its `results.csv` and its table."""
    out = tmp_path_factory.mktemp("local")
    result = minidl(str(TABLE1), *SHORT, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return results_csv(out), result.stdout.splitlines()[1:4]


@pytest.fixture(scope="module")
def two_cells(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """The spec TWO_CELLS and its `results.csv` with `--executor local`."""
    folder = tmp_path_factory.mktemp("two_cells")
    spec = folder / "two.mdl"
    spec.write_text(TWO_CELLS)
    result = minidl(str(spec), "--train", "--quiet", "--out", str(folder / "local"))
    assert result.returncode == 0, result.stderr
    return spec, results_csv(folder / "local")


def test_ray_at_an_address_gives_the_same_results_csv_as_local(
    head: Head, table1_local: tuple[bytes, list[str]], tmp_path: Path
) -> None:
    expected, table = table1_local
    remote = minidl(str(TABLE1), *SHORT, "--executor", "ray", "--address", head.address,
                    "--out", str(tmp_path), env=head.env)  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    assert results_csv(tmp_path) == expected
    assert expected.count(b"\n") == 1 + 6 * 2  # six cells, two runs each
    assert remote.stdout.splitlines()[1:4] == table


def test_ray_started_here_gives_the_same_results_csv_as_local(
    table1_local: tuple[bytes, list[str]], tmp_path: Path
) -> None:
    """No address: the sweep starts a Ray instance of its own and stops it at the end."""
    result = minidl(str(TABLE1), *SHORT, "--executor", "ray", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert results_csv(tmp_path) == table1_local[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds workers in /proc")
def test_a_killed_worker_is_retried_and_the_results_are_the_same(
    head: Head, two_cells: tuple[Path, bytes], tmp_path: Path
) -> None:
    spec, expected = two_cells
    command = [sys.executable, "-m", "minidl", str(spec), "--train", "--quiet",
               "--executor", "ray", "--address", head.address, "--out", str(tmp_path)]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, env=driver_env(head.env), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as driver:  # fmt: skip
        wait_for(lambda: training_workers(head) or driver.poll() is not None, "a training task")
        killed = training_workers(head)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        _, stderr = driver.communicate(timeout=600)
    assert killed, "the sweep ended before a worker could be killed"
    assert driver.returncode == 0, stderr
    assert results_csv(tmp_path) == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds workers in /proc")
def test_ctrl_c_cancels_the_tasks_keeps_the_finished_cells_and_exits_130(
    head: Head, two_cells: tuple[Path, bytes], tmp_path: Path
) -> None:
    spec, expected = two_cells
    command = [sys.executable, "-m", "minidl", str(spec), "--train",
               "--executor", "ray", "--address", head.address, "--out", str(tmp_path)]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, env=driver_env(head.env), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as driver:  # fmt: skip
        assert driver.stderr is not None
        for line in driver.stderr:  # a progress line: the batch-256 cell has finished
            if re.match(r"\s*\d+/\d+\s", line):
                break
        time.sleep(0.5)  # let the driver file the cell it just reported
        os.killpg(driver.pid, signal.SIGINT)  # as a terminal's Ctrl-C
        stderr = driver.stderr.read()  # to the end: the driver has exited
        driver.wait(timeout=300)
    assert driver.returncode == 130, stderr
    assert "interrupted: 1 of 2 cells complete" in stderr
    header_and_batch_256 = b"".join(expected.splitlines(keepends=True)[:3])
    assert results_csv(tmp_path) == header_and_batch_256
    wait_for(lambda: not training_workers(head), "the batch-4 task to be cancelled")


def test_a_dead_address_is_a_one_line_error(tmp_path: Path) -> None:
    """No wall-clock assertion (a loaded machine would fail it): the error must come without
    Ray's own retries, which the guard of 120 s would not outwait."""
    dead = f"127.0.0.1:{free_port()}"
    result = minidl(str(TABLE1), *SHORT, "--executor", "ray", "--address", dead,
                    "--out", str(tmp_path), timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("minidl: error: no Ray cluster answers at 127.0.0.1:")
    assert result.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())  # no run folder


def test_missing_ray_says_what_to_install(tmp_path: Path) -> None:
    result = minidl(str(TABLE1), *SHORT, "--executor", "ray", "--out", str(tmp_path),
                    env={"MINIDL_NO_RAY": "1"})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == 'minidl: error: --executor ray needs Ray: pip install "minidl[ray]"\n'


def test_the_missing_message_comes_from_a_failed_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from minidl.cli import ray_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    missing = pytest.raises(ray_executor.RayError, match=r'pip install "minidl\[ray\]"')
    with missing, ray_executor.cluster(None, 1):
        pass


def test_a_sweep_over_a_bad_cell_reports_it_once_with_ray(head: Head, tmp_path: Path) -> None:
    """Each Ray task fails on the same data fault: one diagnostic, exit 2, no traceback."""
    from test_crossing import bad_cell_sweep

    spec = bad_cell_sweep(tmp_path)
    result = minidl(str(spec), "--train", "--quiet", "--executor", "ray", "--address",
                    head.address, "--out", str(tmp_path / "runs"), env=head.env)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error[E304]") == 1
