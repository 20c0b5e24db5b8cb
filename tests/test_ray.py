"""`--executor ray`: a real local Ray cluster gives the same `results.csv` as `local`.

Adds about 60 s to CI (a `ray start` of ~10 s, two sweeps, a `ray stop`); skipped without Ray.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "minidl[ray]")')

ROOT = Path(__file__).parents[1]
TABLE1 = ROOT / "specs" / "table1.mdl"
SHORT = ["--set", "sweep.runs=2", "--set", "train.epochs=5", "--train", "--quiet"]


def minidl(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minidl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A one-machine Ray cluster with two CPUs, stopped afterwards whatever happens; its
    address and the environment a driver needs to join it (its temp folder holds the token)."""
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    joins = {
        "RAY_TMPDIR": str(temp),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    env = {**os.environ, **joins}
    env.pop("RAY_ADDRESS", None)
    start = [ray_cli, "start", "--head", "--num-cpus", "2", "--port", str(port)]
    start += ["--include-dashboard", "false", "--disable-usage-stats"]
    try:
        subprocess.run(start, check=True, capture_output=True, timeout=120, env=env)
        yield f"127.0.0.1:{port}", joins
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120, env=env)


def only_folder(where: Path) -> Path:
    (folder,) = [p for p in where.iterdir() if p.is_dir()]
    return folder


def test_ray_gives_the_same_results_csv_as_local(
    head: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = head
    local = minidl(str(TABLE1), *SHORT, "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    remote = minidl(
        str(TABLE1),
        *SHORT,
        "--executor",
        "ray",
        "--address",
        address,
        "--out",
        str(tmp_path / "ray"),
        env=env,
    )
    assert remote.returncode == 0, remote.stderr
    expected = (only_folder(tmp_path / "local") / "results.csv").read_bytes()
    assert (only_folder(tmp_path / "ray") / "results.csv").read_bytes() == expected
    assert expected.count(b"\n") == 1 + 6 * 2  # six cells, two runs each
    assert remote.stdout.splitlines()[1:4] == local.stdout.splitlines()[1:4]  # the same table


def test_a_dead_address_is_a_fast_one_line_error(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = minidl(str(TABLE1), *SHORT, "--executor", "ray", "--address", f"127.0.0.1:{free_port()}",
                    "--out", str(tmp_path), timeout=60)  # fmt: skip
    assert time.perf_counter() - started < 15
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
    with pytest.raises(ray_executor.RayError, match=r'pip install "minidl\[ray\]"'):
        with ray_executor.cluster(None, 1):
            pass
