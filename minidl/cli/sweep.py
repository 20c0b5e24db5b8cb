"""Sweeps: a grid of cells (or a search's drawn configurations) times `runs` seeds, each cell
trained as one stacked ensemble.

Cells run in parallel worker processes, or as Ray tasks (`--executor ray`); the parent shows
one progress bar for the whole sweep and writes `results.csv`, `results.json` and `sweep.png`
to the run folder.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import torch

from minidl.cli.data_warnings import print_warnings
from minidl.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_TRAINING_FAILED, EXIT_USAGE
from minidl.cli.one_run import Progress, deferred_interrupt
from minidl.cli.sweep_gpu import run_on_gpu
from minidl.cli.sweep_grid import Cell, CellResult, Task, cells, tasks
from minidl.cli.sweep_results import (
    ranking_figure,
    read_sweep,
    search_table,
    table,
    write_results,
    write_source,
)
from minidl.cli.sweep_task import run_task
from minidl.lang import Diagnostic, Spec, SpecError, format_spec
from minidl.runs.run_folder import new_run_folder, remove_stale_temporaries, write_atomic
from minidl.train import EpochRecord

__all__ = ["resume_sweep", "run_sweep", "run_task"]


def _merge(index: int, runs: int, partials: list[CellResult]) -> CellResult:
    """One cell's result from its tasks' results (whose `index` is their first run)."""
    finals: list[EpochRecord | None] = [None] * runs
    for partial in partials:
        finals[partial.index : partial.index + len(partial.finals)] = partial.finals
    failures = [p.failure for p in partials if p.failure]
    seconds = sum(p.seconds for p in partials)
    warnings = partials[0].warnings if partials else ()
    return CellResult(index, finals, seconds, failures[0] if failures else None, warnings)


def run_sweep(
    spec: Spec,
    name: str,
    out: Path,
    jobs: int | None = None,
    quiet: bool = False,
    executor: str = "local",
    address: str | None = None,
    log: bool = False,
) -> int:
    """Run every cell of the sweep, print the table, write the run folder; return the exit code.

    `executor` is `local` (worker processes) or `ray` (Ray tasks on the cluster at `address`,
    by default `RAY_ADDRESS` or a Ray instance started here). With `log`, each cell's
    settings and figures also go to TensorBoard (`cell-N` folders, hparams plugin)."""
    if executor == "local":
        runner: Runner = lambda work, report: _run_all(work, jobs, report)  # noqa: E731
        return _sweep(spec, name, out, quiet, runner, log=log)
    from minidl.cli.ray_executor import RayError, cluster, run_tasks

    try:
        with cluster(address, jobs) as ray:
            return _sweep(
                spec, name, out, quiet, lambda work, rep: run_tasks(ray, work, rep), log=log
            )
    except RayError as caught:
        print(f"minidl: error: {caught}", file=sys.stderr)
        return EXIT_USAGE


Runner = Callable[[list[Task], Any], Iterator[tuple[Task, CellResult]]]


def _sweep(
    spec: Spec,
    name: str,
    out: Path,
    quiet: bool,
    runner: Runner,
    resumed: tuple[Path, dict[int, CellResult]] | None = None,
    log: bool = False,
) -> int:
    """Run the sweep's cells (those not in `resumed`'s results, in its folder, when it
    continues an interrupted sweep), keeping every finished cell on disk as it arrives."""
    assert spec.sweep is not None
    started = time.perf_counter()
    grid, runs = cells(spec), spec.sweep.runs
    if resumed is None:
        folder, results = new_run_folder(out, name), {}
        write_atomic(folder / "spec.mdl", format_spec(spec).encode())
        write_source(folder, spec)  # where its CSV paths start, before results.json exists
    else:
        folder, results = resumed[0], dict(resumed[1])
    remaining = [cell for cell in grid if cell.index not in results]
    progress = Progress(len(remaining) * runs * spec.train.epochs, quiet, unit="epoch")
    status = "completed"

    def keep() -> None:  # what a kill leaves behind: the cells finished so far
        done = [c for c in grid if c.index in results]
        wall = time.perf_counter() - started
        write_results(folder, spec, done, [results[c.index] for c in done], "interrupted", wall)

    shown: set[str] = set()
    try:
        for result in _execute(remaining, runs, runner, progress):
            results[result.index] = result
            print_warnings(result.warnings, shown)  # each cell loads the data: say it once
            keep()
            if log:
                _log_cell(folder, grid[result.index], result)
    except KeyboardInterrupt:
        status = "interrupted"
    except SpecError:  # the data's fault, the same in every cell: reported once, by the caller
        if resumed is None and not results:
            shutil.rmtree(folder, ignore_errors=True)  # as a single run, which leaves none
        raise
    finally:
        progress.close()
    finished = [c for c in grid if c.index in results]
    ordered = [results[c.index] for c in finished]
    wall = time.perf_counter() - started
    with deferred_interrupt() as interrupted:  # Ctrl-C now waits until the files are whole
        write_results(folder, spec, finished, ordered, status, wall)
    if interrupted():
        status = "interrupted"
    if spec.sweep.samples is None:
        header = " × ".join(axis.key for axis in spec.sweep.axes) or "cell"
        print(f"{name}: {len(grid)} cells × {runs} runs, {spec.train.epochs} epochs")
        print(table(finished, ordered, header))
    else:
        print(f"{name}: {len(grid)} configurations × {runs} runs, {spec.train.epochs} epochs")
        if ranking_figure(ordered).startswith("test_"):
            _warn_test_ranking(spec)
        print(search_table(finished, ordered))
    failed = [r for r in ordered if r.failure]
    for result in failed:
        print(f"error: cell {grid[result.index].label}: {result.failure}", file=sys.stderr)
    if status == "interrupted":
        print(f"interrupted: {len(ordered)} of {len(grid)} cells complete", file=sys.stderr)
    print(f"wall time {wall:.1f} s   run folder {folder}")
    if status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_TRAINING_FAILED if failed else EXIT_OK


def _execute(
    grid: list[Cell], runs: int, runner: Runner, progress: Progress
) -> Iterator[CellResult]:
    """Yield each cell's result as it completes, in worker processes when that helps."""
    if not grid:
        return
    work = tasks(grid, runs)
    epochs: dict[tuple[int, int], int] = {}

    def report(key: tuple[int, int], done: int) -> None:
        epochs[key] = done
        progress.update(sum(epochs.values()), f"{len(finished)}/{len(grid)} cells")

    partials: dict[int, list[CellResult]] = {cell.index: [] for cell in grid}
    finished: list[int] = []
    for task, partial in runner(work, report):
        index = task.cell.index
        partials[index].append(partial)
        if sum(len(p.finals) for p in partials[index]) == runs:
            finished.append(index)
            yield _merge(index, runs, partials[index])


def _run_all(work: list[Task], jobs: int | None, report: Any) -> Iterator[tuple[Task, CellResult]]:
    jobs = min(jobs or os.cpu_count() or 1, len(work))
    if any(task.cell.spec.train.device == "cuda" for task in work):
        yield from run_on_gpu(work, jobs, report)  # threads of this process, one GPU
        return
    if jobs <= 1:
        for task in work:
            yield task, run_task(task, report)
        return
    context = multiprocessing.get_context("fork")
    queue = context.SimpleQueue()
    pool = context.Pool(jobs, initializer=_worker_start, initargs=(queue,))
    try:
        pending = pool.imap_unordered(_worker_run, list(enumerate(work)))
        for _ in work:
            while True:
                while not queue.empty():
                    report(*queue.get())
                try:
                    number, partial = pending.next(timeout=0.05)
                    break
                except multiprocessing.TimeoutError:
                    continue
            yield work[number], partial
        pool.close()
    finally:
        pool.terminate()
        pool.join()


_QUEUE: Any = None


def _worker_start(queue: Any) -> None:
    global _QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    torch.set_num_threads(1)
    _QUEUE = queue


def _worker_run(numbered: tuple[int, Task]) -> tuple[int, CellResult]:
    number, task = numbered
    try:
        return number, run_task(task, lambda key, done: _QUEUE.put((key, done)))
    except Exception as caught:
        raise sendable(caught) from None


def sendable(caught: Exception) -> Exception:
    """`caught`, or a `RuntimeError` with its message where it would not survive pickling:
    the pool's result thread dies on an exception it cannot rebuild, and the sweep hangs.

    `ForkingPickler.dumps` is what the pool sends; `copy.copy` rebuilds the exception the way
    unpickling does (from `__reduce_ex__`), without unpickling anything."""
    try:
        ForkingPickler.dumps(caught)
        copy.copy(caught)
    except Exception:
        return RuntimeError(f"{type(caught).__name__}: {caught}")
    return caught


def _warn_test_ranking(spec: Spec) -> None:
    """W220: a search without a validation set ranks by test error, which flatters the
    configuration it puts first."""
    assert spec.sweep is not None
    text = ""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = Path(spec.source).read_text(encoding="utf-8") if spec.source else ""
    warning = Diagnostic.at(
        spec.sweep.span,
        "W220",
        "this search ranks its configurations by test error: the best one's test error "
        "then overstates how well it will do on new data",
        "hold out a validation set to rank by, such as `validation=0.2` in the `data` statement",
        spec.source,
        "warning",
    )
    sys.stdout.flush()
    print(SpecError([warning], text).render(), file=sys.stderr, flush=True)


def _log_cell(folder: Path, cell: Cell, result: CellResult) -> None:
    """The cell's settings and mean final figures, for TensorBoard's hparams plugin."""
    from minidl.cli.tensorboard_log import log_cell

    figures = {
        name: statistics.fmean(values) if (values := result.figures(name)) else None
        for name in (
            "train_loss",
            "train_error",
            "train_rmse",
            "train_r2",
            "val_loss",
            "val_error",
            "val_rmse",
            "val_r2",
            "test_loss",
            "test_error",
            "test_rmse",
            "test_r2",
        )
        if all(getattr(f, name) is not None for f in result.finals if f is not None)
    }
    log_cell(folder / f"cell-{cell.index}", dict(cell.settings), figures)


def resume_sweep(
    folder: Path, jobs: int | None = None, quiet: bool = False, log: bool = False
) -> int:
    """Continue an interrupted or killed sweep in its folder: its finished cells are kept
    (from `results.json`), the others run; the files are then those of a sweep never
    interrupted (but for the wall times they record)."""
    spec, status, done = read_sweep(folder)
    remove_stale_temporaries(folder)
    if status == "completed":
        print(f"{folder}: the sweep is already complete; nothing to do")
        return EXIT_OK
    if not quiet:
        print(f"resuming {folder}: {len(done)} cells already complete", file=sys.stderr)
    name = folder.name.rsplit("-", 1)[0]
    runner: Runner = lambda work, report: _run_all(work, jobs, report)  # noqa: E731
    log = log or any(folder.glob("cell-*"))
    return _sweep(spec, name, folder.parent, quiet, runner, (folder, done), log)
