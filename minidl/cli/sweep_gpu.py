"""A sweep's cells on a GPU: threads of this one process, each on a CUDA stream of its own.

Worker processes would each start CUDA (seconds each) and then share the one device; the
steps of a small network, captured as CUDA graphs, leave most of the GPU idle. So the tasks
run in threads, each launching on its own stream: their graphs run on the device side by
side while Python, released during each replay, serves the next thread. Each task's runs
are stacked as everywhere else; the results are the tasks' own, whatever their order.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import torch

from minidl.cli.sweep_grid import CellResult, Task
from minidl.cli.sweep_task import run_task

__all__ = ["run_on_gpu"]


class _Stopped(Exception):
    """Raised in a task's thread, at its next epoch, once the sweep is interrupted."""


def run_on_gpu(work: list[Task], jobs: int, report: Any) -> Iterator[tuple[Task, CellResult]]:
    """Yield each task with its result as it completes; at most `jobs` run at once."""
    reports: queue.SimpleQueue[tuple[tuple[int, int], int]] = queue.SimpleQueue()
    stop = [False]

    def tell(key: tuple[int, int], done: int) -> None:
        if stop[0]:
            raise _Stopped
        reports.put((key, done))

    def one(task: Task) -> CellResult:
        with _own_stream():
            return run_task(task, tell)

    pool = ThreadPoolExecutor(max(1, jobs), thread_name_prefix="minidl-cell")
    try:
        futures: dict[Future[CellResult], Task] = {pool.submit(one, task): task for task in work}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            while not reports.empty():
                report(*reports.get())
            for future in done:
                yield futures[future], future.result()
    finally:
        stop[0] = True  # an interrupted sweep: the running tasks end at their next epoch
        pool.shutdown(wait=True, cancel_futures=True)


def _own_stream() -> contextlib.AbstractContextManager[Any]:
    """A new CUDA stream as the thread's current one (nothing without CUDA: the tests)."""
    if not torch.cuda.is_available():
        return contextlib.nullcontext()
    return torch.cuda.stream(torch.cuda.Stream())  # type: ignore[no-untyped-call]
