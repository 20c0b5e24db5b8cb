"""`--executor ray`: a sweep's tasks as Ray tasks, so that a sweep spreads over a cluster.

Each task (a cell's runs, stacked) travels as its spec in JSON, the spec file's path, its
first run and its count (~1.3 kB); the worker rebuilds the spec and trains it as a local
worker process would, so that `results.csv` is the same byte for byte. A task whose worker
dies is retried by Ray. docs/CLUSTER.md tells how to run a sweep on several machines.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from minidl.cli.sweep_grid import Cell, CellResult, Task

__all__ = ["INSTALL", "RETRIES", "RayError", "cluster", "run_tasks", "task_arguments"]

INSTALL = 'pip install "minidl[ray]"'
RETRIES = 3
"""How many times Ray runs a task again when its worker dies (a node lost, a process killed)."""
CONNECT_TIMEOUT_S = 5.0
INIT_TIMEOUT_S = 60.0
"""A port that answers but never lets us in (another service, a wrong token) makes `ray.init`
retry for minutes: past this, give up. (A local instance, which starts in ~10 s, has no limit.)"""


class RayError(RuntimeError):
    """Ray is missing, or no cluster answers at the address: a one-line message, exit 2."""


def _import_ray() -> Any:
    if os.environ.get("MINIDL_NO_RAY") == "1":  # lets a test see the message without uninstalling
        raise RayError(f"--executor ray needs Ray: {INSTALL}")
    try:
        import ray
    except ImportError:
        raise RayError(f"--executor ray needs Ray: {INSTALL}") from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail fast where nothing listens: `ray.init` would wait minutes for an absent GCS."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayError(f"--address {address!r} is not HOST:PORT (the head's GCS port, 6379)")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as caught:
        reason = caught.strerror or type(caught).__name__
        raise RayError(f"no Ray cluster answers at {address}: {reason}") from None


def _init_within(ray: Any, address: str | None, options: dict[str, Any], timeout: float) -> None:
    """`ray.init`, or a one-line error and exit 2 if it neither returns nor fails in time."""
    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(address=address, **options)
        except BaseException as caught:  # reported in the caller's thread
            failure.append(caught)

    thread = threading.Thread(target=init, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Ray's C++ client cannot be interrupted; nothing was written yet, so leave at once.
        why = "(a wrong port, or a cluster that wants another auth token)"
        print(f"minidl: error: Ray at {address} did not let us in within {timeout:.0f} s {why}",
              file=sys.stderr)  # fmt: skip
        sys.stderr.flush()
        os._exit(2)
    if failure:
        text = str(failure[0]).strip()
        first = text.splitlines()[0] if text else type(failure[0]).__name__
        raise RayError(f"cannot join the Ray cluster at {address}: {first}{_token_hint()}")


def _token_hint() -> str:
    """Ray sends no token to an address given explicitly unless RAY_AUTH_MODE=token, while
    `ray start --head` turns token authentication on wherever ~/.ray/auth_token exists."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return ""
    return " (for a token: RAY_AUTH_MODE=token, the token in ~/.ray/auth_token or RAY_AUTH_TOKEN)"


@contextmanager
def cluster(address: str | None, jobs: int | None) -> Iterator[Any]:
    """Connect to the cluster at `address` (default `RAY_ADDRESS`), or start a Ray instance on
    this machine with `jobs` CPUs that stops at the end; yield the `ray` module."""
    ray = _import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if address is None:
        # "local": a new instance even where `ray start` left one, which `None` would join.
        # In this thread, not `_init_within`'s: Ray starts its GCS and raylet with
        # PR_SET_PDEATHSIG, which kills them as soon as the thread that started them ends.
        cpus = jobs or os.cpu_count()
        ray.init(address="local", include_dashboard=False, num_cpus=cpus, **options)
    else:
        _check_reachable(address)
        _init_within(ray, address, options, INIT_TIMEOUT_S)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_tasks(
    ray: Any, work: list[Task], report: Callable[[tuple[int, int], int], None]
) -> Iterator[tuple[Task, CellResult]]:
    """Submit every task, then yield each task with its result as it completes.

    Stopping the iteration (Ctrl-C) cancels the tasks still pending or running.
    """
    remote = ray.remote(num_cpus=1, max_retries=RETRIES)(_train_task)
    pending: dict[Any, int] = {}
    for number, task in enumerate(work):
        pending[remote.remote(*task_arguments(task))] = number
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.1)
            for ref in ready:
                task = work[pending.pop(ref)]
                partial = ray.get(ref)
                report((task.cell.index, task.first), task.cell.spec.train.epochs * task.count)
                yield task, partial
    finally:
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # a Ctrl-C may have stopped a local Ray already
                break


def task_arguments(task: Task) -> tuple[str, str | None, int, int, int]:
    """What travels to the worker for one task: its cell's spec in JSON, the spec file's path,
    the cell's index, its first run and its count of runs.

    The path is made absolute: CSV data is found relative to it, and a worker's working
    folder is not the driver's (on another node, every data file must be at the same path).
    """
    spec = task.cell.spec
    source = str(Path(spec.source).resolve()) if spec.source else None
    return spec.model_dump_json(), source, task.cell.index, task.first, task.count


def _train_task(spec_json: str, source: str | None, index: int, first: int, count: int) -> Any:
    """On a worker: rebuild the cell's spec and train runs `first` to `first + count - 1`."""
    import torch

    from minidl.cli.sweep_task import run_task
    from minidl.lang import Spec

    torch.set_num_threads(1)  # as the local worker processes: the same sums, the same bits
    spec = Spec.model_validate_json(spec_json).model_copy(update={"source": source})
    started = time.perf_counter()
    result = run_task(Task(Cell(index, (), spec), first, count))
    result.seconds = time.perf_counter() - started
    return result
