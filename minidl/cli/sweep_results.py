"""A sweep's results: the table printed like the report's, and the files of its run folder."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from minidl.cli.one_run import versions
from minidl.cli.run_folder import write_atomic, write_json
from minidl.cli.sweep_grid import Cell, CellResult
from minidl.lang import Spec
from minidl.lang.format import format_value

__all__ = ["ROWS", "table", "write_results"]

ROWS = (("Train Error (%)", "train_error"), ("Test Error (%)", "test_error"))


def table(grid: list[Cell], results: list[CellResult], header: str) -> str:
    """Mean ± standard deviation per cell, laid out like the report's Table 1."""
    columns = [header] + [cell.label for cell in grid]
    rows = []
    for title, name in ROWS:
        row = [title]
        for result in results:
            values = result.figures(name)
            row.append(_mean_std(values))
        rows.append(row)
    widths = [max(len(r[c]) for r in [columns, *rows]) for c in range(len(columns))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in [columns, *rows]
    ]
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    if not values:
        return "diverged"
    if all(math.isnan(v) for v in values):
        return "n/a"  # no test set
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {std:.2f}"


def write_results(
    folder: Path, spec: Spec, grid: list[Cell], results: list[CellResult], status: str, wall: float
) -> None:
    assert spec.sweep is not None
    lines = ["cell,settings,run,seed,status,epoch,loss,train_loss,test_loss,train_error,test_error"]
    cells_json = []
    for cell, result in zip(grid, results, strict=True):
        settings = ";".join(f"{k}={format_value(v)}" for k, v in cell.settings)
        for run, final in enumerate(result.finals):
            seed = spec.train.seed + run
            figures = (
                ["", "", "", "", "", ""]
                if final is None
                else [repr(v) for v in final.as_dict().values()]
            )
            lines.append(
                ",".join(
                    [
                        str(cell.index),
                        f'"{settings}"',
                        str(run),
                        str(seed),
                        "diverged" if final is None else "completed",
                        *figures,
                    ]
                )
            )
        cells_json.append(
            {
                "cell": cell.index,
                "settings": dict(cell.settings),
                "seconds": round(result.seconds, 3),
                "failure": result.failure,
                **{name: _stats(result.figures(name)) for _, name in ROWS},
                "runs": [None if f is None else f.as_dict() for f in result.finals],
            }
        )
    write_atomic(folder / "results.csv", ("\n".join(lines) + "\n").encode())
    write_json(
        folder / "results.json",
        {
            "status": status,
            "runs_per_cell": spec.sweep.runs,
            "seed": spec.train.seed,
            "wall_time_s": round(wall, 3),
            "versions": versions(),
            "cells": cells_json,
        },
    )
    if results and status == "completed":  # after Ctrl-C, finish fast: no plot
        from minidl.cli.plots import plot_sweep

        plot_sweep(spec, grid, results, folder / "sweep.png")


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }
