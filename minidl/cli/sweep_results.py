"""A sweep's results: the table printed like the report's, and the files of its run folder."""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from minidl.cli.one_run import versions
from minidl.cli.sweep_grid import Cell, CellResult
from minidl.lang import Spec, SpecError, parse
from minidl.lang.format import format_value
from minidl.runs.run_folder import RunFolderError, read_json, write_atomic, write_json
from minidl.train import REGRESSION_FIGURES, EpochRecord

__all__ = [
    "REGRESSION_ROWS",
    "REGRESSION_VAL_ROWS",
    "ROWS",
    "VAL_ROWS",
    "figure_rows",
    "ranking_figure",
    "regressed",
    "results_rows",
    "rows_of",
    "search_table",
    "table",
    "validated",
    "write_results",
]

ROWS = (("Train Error (%)", "train_error"), ("Test Error (%)", "test_error"))
VAL_ROWS = (
    ("Train Error (%)", "train_error"),
    ("Val Error (%)", "val_error"),
    ("Test Error (%)", "test_error"),
)
"""The figures of a sweep with a validation set: validation error beside train and test."""
REGRESSION_ROWS = (
    ("Train RMSE", "train_rmse"),
    ("Test RMSE", "test_rmse"),
    ("Train R2", "train_r2"),
    ("Test R2", "test_r2"),
)
REGRESSION_VAL_ROWS = (
    ("Train RMSE", "train_rmse"),
    ("Val RMSE", "val_rmse"),
    ("Test RMSE", "test_rmse"),
    ("Train R2", "train_r2"),
    ("Val R2", "val_r2"),
    ("Test R2", "test_r2"),
)
"""The figures of values to predict (regression), without and with a validation set."""


def validated(results: list[CellResult]) -> bool:
    """Whether the sweep's runs scored a validation set."""
    return any(f is not None and f.val_loss is not None for r in results for f in r.finals)


def regressed(results: list[CellResult]) -> bool:
    """Whether the sweep's runs predict values (RMSE and R²) rather than classes."""
    return any(f is not None and f.regression for r in results for f in r.finals)


def figure_rows(results: list[CellResult]) -> tuple[tuple[str, str], ...]:
    """The figures a sweep's table shows: (title, record field): error rates, or RMSE and
    R² for values to predict; the validation set's beside train and test when there is one."""
    if regressed(results):
        return REGRESSION_VAL_ROWS if validated(results) else REGRESSION_ROWS
    return VAL_ROWS if validated(results) else ROWS


rows_of = figure_rows


def _digits(name: str) -> int:
    return 2 if name.endswith("_error") else 4


def table(grid: list[Cell], results: list[CellResult], header: str) -> str:
    """Mean ± standard deviation per cell, laid out like the report's Table 1. With a
    validation set, its error (or RMSE and R²) comes between train and test, and the cells
    are ranked by it, best first (the grid's order otherwise)."""
    if validated(results):
        by = ranking_figure(results)
        pairs = sorted(zip(grid, results, strict=True), key=lambda p: _rank(p, by))
        grid, results = [cell for cell, _ in pairs], [result for _, result in pairs]
    columns = [header] + [cell.label for cell in grid]
    rows = []
    for title, name in figure_rows(results):
        row = [title]
        for result in results:
            values = result.figures(name)
            row.append(_mean_std(values, _digits(name)))
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


def _mean_std(values: list[float], digits: int = 2) -> str:
    if not values:
        return "diverged"
    if all(math.isnan(v) for v in values):
        return "n/a"  # no test set
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {std:.{digits}f}"


def search_table(grid: list[Cell], results: list[CellResult]) -> str:
    """A search's configurations one per line, best first: by mean validation error when
    there is a validation set (the test error beside it), else by mean test error (RMSE
    for values to predict)."""
    keys = [key for key, _ in grid[0].settings] if grid else []
    shown = figure_rows(results)
    columns = ["#", *keys, *(title for title, _ in shown)]
    by = ranking_figure(results)
    rows = [
        [
            str(cell.index),
            *(_short(value) for _, value in cell.settings),
            *(_mean_std(result.figures(name), _digits(name)) for _, name in shown),
        ]
        for cell, result in sorted(zip(grid, results, strict=True), key=lambda p: _rank(p, by))
    ]
    widths = [max(len(r[c]) for r in [columns, *rows]) for c in range(len(columns))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True))
        for line in [columns, *rows]
    )


def ranking_figure(results: list[CellResult]) -> str:
    """What a search ranks by: the validation error if it has a validation set, else the
    test error (which overstates how good the chosen configuration is); RMSE instead of the
    error for values to predict."""
    figure = "rmse" if regressed(results) else "error"
    return f"val_{figure}" if validated(results) else f"test_{figure}"


def _rank(pair: tuple[Cell, CellResult], by: str) -> tuple[float, int]:
    """Best mean figure `by` first; diverged and unscored configurations last, in draw order."""
    cell, result = pair
    errors = [e for e in result.figures(by) if not math.isnan(e)]
    return (statistics.fmean(errors) if errors else math.inf, cell.index)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else format_value(value)  # type: ignore[arg-type]


CSV_FIGURES = ("epoch", "loss", "train_loss", "test_loss", "train_error", "test_error")
VAL_FIGURES = ("val_loss", "val_error")
REGRESSION_CSV_FIGURES = ("epoch", "loss", "train_loss", "test_loss", *REGRESSION_FIGURES)
REGRESSION_VAL_FIGURES = ("val_loss", "val_rmse", "val_r2")


def results_rows(spec: Spec, grid: list[Cell], results: list[CellResult]) -> list[list[str]]:
    """`results.csv`: a header, then one row a run, cell by cell in draw order, run by run;
    one column per swept key, named by its full dotted path (`sgd.batch`); with a
    validation set, `val_loss` and `val_error` (regression: `val_loss`, `val_rmse`,
    `val_r2`) after the test figures (a run's figures are its best epoch's with early
    stopping)."""
    assert spec.sweep is not None
    keys = [axis.key for axis in spec.sweep.axes]
    regression = regressed(results)
    names: tuple[str, ...] = REGRESSION_CSV_FIGURES if regression else CSV_FIGURES
    if spec.data.validation is not None or validated(results):
        names += REGRESSION_VAL_FIGURES if regression else VAL_FIGURES
    rows = [["cell", *keys, "run", "seed", "status", *names]]
    for cell, result in zip(grid, results, strict=True):
        settings = [_csv_value(value) for _, value in cell.settings]
        for run, final in enumerate(result.finals):
            figures = ["" if final is None else _cell(getattr(final, name)) for name in names]
            status = "diverged" if final is None else "completed"
            seed = cell.spec.train.seed + run
            rows.append([str(cell.index), *settings, str(run), str(seed), status, *figures])
    return rows


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)


def _csv_value(value: object) -> str:
    """A swept value as a CSV cell: a string as it is (the csv module quotes it), others as
    MDL writes them (`true`, `0.001`, `[0.9, 0.999]`)."""
    return value if isinstance(value, str) else format_value(value)  # type: ignore[arg-type]


def write_results(
    folder: Path, spec: Spec, grid: list[Cell], results: list[CellResult], status: str, wall: float
) -> None:
    """Write `results.csv`, `results.json` and, for a finished sweep, `sweep.png`."""
    assert spec.sweep is not None
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(results_rows(spec, grid, results))
    cells_json = [
        {
            "cell": cell.index,
            "settings": dict(cell.settings),
            "seconds": round(result.seconds, 3),
            "failure": result.failure,
            **{name: _stats(result.figures(name)) for _, name in figure_rows(results)},
            "runs": [None if f is None else f.as_dict() for f in result.finals],
        }
        for cell, result in zip(grid, results, strict=True)
    ]
    write_atomic(folder / "results.csv", text.getvalue().encode())
    write_json(
        folder / "results.json",
        {
            "status": status,
            "runs_per_cell": spec.sweep.runs,
            "samples": spec.sweep.samples,
            "seed": spec.train.seed,
            "wall_time_s": round(wall, 3),
            "versions": versions(),
            "spec_source": _source(spec),
            "cells": cells_json,
        },
    )
    if results and status == "completed":  # after Ctrl-C, finish fast: no plot
        from minidl.cli.plots import plot_search, plot_sweep

        plot = plot_sweep if spec.sweep.samples is None else plot_search
        plot(spec, grid, results, folder / "sweep.png")


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def read_sweep(folder: Path) -> tuple[Spec, str, dict[int, CellResult]]:
    """A sweep folder's spec, status and finished cells (from `results.json`), or a
    `RunFolderError` naming the file that is missing or damaged."""
    spec_path, results_path = folder / "spec.mdl", folder / "results.json"
    try:
        spec = parse(spec_path.read_text(encoding="utf-8"), filename=str(spec_path))
    except FileNotFoundError:
        raise RunFolderError(spec_path, "missing: this is not a sweep that --train wrote") from None
    except (OSError, UnicodeDecodeError, SpecError) as caught:
        raise RunFolderError(spec_path, f"damaged: {str(caught).splitlines()[0]}") from None
    if spec.sweep is None:
        raise RunFolderError(spec_path, "holds no sweep")
    if not results_path.exists():  # killed before its first cell finished
        return _with_source(spec, folder / SOURCE), "interrupted", {}
    data = read_json(results_path)
    spec = _with_source(spec, results_path, data)
    try:
        done = {
            int(cell["cell"]): CellResult(
                int(cell["cell"]),
                [None if run is None else _record(run) for run in cell["runs"]],
                float(cell["seconds"]),
                cell["failure"],
            )
            for cell in data["cells"]
        }
        status = str(data["status"])
    except (KeyError, TypeError, ValueError) as caught:
        raise RunFolderError(results_path, f"damaged: {caught!r}") from None
    return spec, status, done


SOURCE = "source.json"
"""A sweep folder's note of the spec it ran, written with its spec.mdl (results.json, written
once a cell is done, says it too)."""


def _source(spec: Spec) -> str | None:
    """Where CSV paths in spec.mdl start: the spec that was run, as a single run's data.json
    says (they resolved against the sweep's folder, where no data is)."""
    return str(Path(spec.source).resolve()) if spec.source else None


def write_source(folder: Path, spec: Spec) -> None:
    """Write `source.json` (atomically)."""
    write_json(folder / SOURCE, {"spec_source": _source(spec)})


def _with_source(spec: Spec, path: Path, data: dict[str, Any] | None = None) -> Spec:
    """`spec` with its source as `path` (results.json or source.json) records it."""
    if data is None:
        data = read_json(path) if path.exists() else {}
    source = data.get("spec_source")
    return spec.model_copy(update={"source": source}) if isinstance(source, str) else spec


def _record(run: dict[str, Any]) -> EpochRecord:
    """An epoch record from JSON, where NaN was written as null."""
    values = {k: math.nan if v is None else v for k, v in run.items()}
    return EpochRecord(int(values.pop("epoch")), **{k: float(v) for k, v in values.items()})
