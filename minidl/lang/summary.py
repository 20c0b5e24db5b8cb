"""The summary the command line prints without `--train`: each stage, its width, its size."""

from __future__ import annotations

import math
from collections.abc import Iterator

from minidl.lang import ir
from minidl.lang.carried import Carried, channels, describe_shape
from minidl.lang.data_preview import csv_preview
from minidl.lang.errors import SpecError
from minidl.lang.format import format_stage, format_statement, format_sweep
from minidl.lang.shapes import Layer, Resolved, resolve

__all__ = ["csv_features", "summarize"]


def summarize(spec: ir.Spec, name: str, features_known: int | None = None) -> str:
    """A table of the expanded network (stage, output width, parameters) and the settings.

    With `features_known` (a run folder's `data.json`), the data files are not read."""
    if features_known is None:
        features, data_lines, problems = csv_preview(spec)
    else:
        features, data_lines, problems = features_known, [], []
    if problems:
        raise SpecError(problems)
    resolution = resolve(spec, features)
    if features is not None and resolution.diagnostics:  # widths that the header decides
        raise SpecError(resolution.diagnostics)
    layers = resolution.layers
    rows = _rows(resolution.network, 0, iter(range(1, len(layers) + 1)))
    total = _count(resolution.parameters)
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(HEADER)]
    widths[3] = max(widths[3], len(total))
    lines = [f"{name}: {len(layers):,} stages, {total} parameters"]
    lines.append(_row(HEADER, widths))
    lines.extend(_row(row, widths) for row in rows)
    lines.append(_row(("", "total", "", total), widths))
    lines.append("")
    lines.extend(_settings(spec))
    lines.extend(data_lines)
    return "\n".join(line.rstrip() for line in lines)


HEADER = ("#", "stage", "output", "parameters")


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    number, stage, output, parameters = cells
    return (
        f"  {number:>{widths[0]}}  {stage:<{widths[1]}}  {output:>{widths[2]}}"
        f"  {parameters:>{widths[3]}}"
    )


def _rows(stages: list[Resolved], depth: int, numbers: Iterator[int]) -> list[tuple[str, ...]]:
    """A row per layer, numbered; a join is a row of its own, its branches indented below it,
    separated by a row with its operator."""
    indent = "  " * depth
    rows: list[tuple[str, ...]] = []
    for stage in stages:
        if isinstance(stage, Layer):
            cells = (_describe_layer(stage), _count(stage.out_features), _count(stage.parameters))
            rows.append((str(next(numbers)), indent + cells[0], *cells[1:]))
            continue
        symbol = "+" if stage.op == "sum" else "&"
        title = f"{stage.op} of {len(stage.branches)} branches ({symbol})"
        rows.append(("", indent + title, _count(stage.out_features), ""))
        for position, branch in enumerate(stage.branches):
            if position:
                rows.append(("", indent + "  " + symbol, "", ""))
            rows.extend(_rows(list(branch), depth + 1, numbers))
    return rows


def _describe_layer(layer: Layer) -> str:
    word = layer.word
    if isinstance(word, ir.ShapedWord) and layer.in_features is not None:
        word = word.model_copy(update={"in_features": channels(layer.in_features)})
    text = format_stage(word)
    return text.replace(" ->", " ?->", 1) if isinstance(word, ir.ShapedWord) else text


def _count(value: Carried | None) -> str:
    return "?" if value is None else describe_shape(value)


def _settings(spec: ir.Spec) -> list[str]:
    nodes = [spec.loss, spec.optimizer, spec.schedule, spec.train, spec.data]
    lines = [format_statement(n) for n in nodes if n is not spec.schedule or n != ir.Schedule()]
    if spec.sweep is not None:
        sweep = spec.sweep
        cells = sweep.samples or math.prod(len(axis.values) for axis in sweep.axes)
        what = "configurations drawn" if sweep.samples is not None else "cells"
        lines.append(f"{format_sweep(sweep)}: {cells} {what}, {cells * sweep.runs} runs")
    return lines


def csv_features(spec: ir.Spec) -> Carried | None:
    """For CSV data, the feature count its train file's header gives (None if unreadable).

    Parsing never reads data files; the summary, editors and `--emit python` do.
    """
    return csv_preview(spec)[0]
