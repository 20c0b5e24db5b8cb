"""Training one task of a sweep (some runs of one cell), wherever it runs: a local worker
process or a Ray worker. Runs of minidl's backend are stacked into one ensemble."""

from __future__ import annotations

import time
from typing import Any

from minidl.cli.sweep_grid import CellResult, Task
from minidl.compiler.program import compile_ensemble, compile_spec, final_record, with_run_seed
from minidl.lang import Diagnostic
from minidl.train import DivergenceError, EpochRecord

__all__ = ["run_task"]


def run_task(task: Task, report: Any = None) -> CellResult:
    """Train one task's runs; its `finals` are those runs' final records (with early
    stopping, their best epochs'), in order."""
    started = time.perf_counter()
    spec = task.cell.spec
    done = [0]

    def tick(_: object) -> None:
        done[0] += 1
        if report is not None:
            report((task.cell.index, task.first), done[0] * task.count)

    finals: list[EpochRecord | None]
    failure = None
    warnings: tuple[Diagnostic, ...] = ()
    try:
        if spec.train.backend == "minidl":
            ensemble = compile_ensemble(with_run_seed(spec, task.first), task.count)
            warnings = tuple(ensemble.warnings)
            finals = [final_record(spec, h) for h in ensemble.fit(callback=tick)]
        else:
            finals = []
            for run in range(task.first, task.first + task.count):
                program = compile_spec(with_run_seed(spec, run))
                warnings = tuple(program.warnings)
                finals.append(final_record(spec, program.fit(tick)))
    except DivergenceError as diverged:
        finals, failure = [None] * task.count, str(diverged)
    return CellResult(task.first, finals, time.perf_counter() - started, failure, warnings)
