"""The summary the command line prints without `--train`: each stage, its width, its size."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from minidl.lang import ir
from minidl.lang.format import format_stage, format_statement, format_sweep
from minidl.lang.shapes import Layer, resolve

__all__ = ["csv_features", "summarize"]


def summarize(spec: ir.Spec, name: str) -> str:
    """A table of the expanded network (stage, output width, parameters) and the settings."""
    resolution = resolve(spec, csv_features(spec))
    layers = resolution.layers
    rows = [
        (str(i), _describe(layer), _count(layer.out_features), _count(layer.parameters))
        for i, layer in enumerate(layers, start=1)
    ]
    total = _count(resolution.parameters)
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(HEADER)]
    widths[3] = max(widths[3], len(total))
    lines = [f"{name}: {len(layers):,} stages, {total} parameters"]
    lines.append(_row(HEADER, widths))
    lines.extend(_row(row, widths) for row in rows)
    lines.append(_row(("", "total", "", total), widths))
    lines.append("")
    lines.extend(_settings(spec))
    return "\n".join(line.rstrip() for line in lines)


HEADER = ("#", "stage", "output", "parameters")


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    number, stage, output, parameters = cells
    return (
        f"  {number:>{widths[0]}}  {stage:<{widths[1]}}  {output:>{widths[2]}}"
        f"  {parameters:>{widths[3]}}"
    )


def _describe(layer: Layer) -> str:
    word = layer.word
    if isinstance(word, ir.ShapedWord) and layer.in_features is not None:
        word = word.model_copy(update={"in_features": layer.in_features})
    text = format_stage(word)
    return text.replace(" ->", " ?->", 1) if isinstance(word, ir.ShapedWord) else text


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _settings(spec: ir.Spec) -> list[str]:
    nodes = [spec.loss, spec.optimizer, spec.schedule, spec.train, spec.data]
    lines = [format_statement(n) for n in nodes if n is not spec.schedule or n != ir.Schedule()]
    if spec.sweep is not None:
        cells = math.prod(len(axis.values) for axis in spec.sweep.axes)
        runs = cells * spec.sweep.runs
        lines.append(f"{format_sweep(spec.sweep)}: {cells} cells, {runs} runs")
    return lines


def csv_features(spec: ir.Spec) -> int | None:
    """For CSV data, the feature count its train file's header gives (None if unreadable).

    Parsing never reads data files; the summary and `--emit python` do, for exact widths.
    """
    data = spec.data
    if not isinstance(data, ir.CsvData):
        return None
    base = Path(spec.source).parent if spec.source else Path.cwd()
    try:
        with (base / data.train).open(encoding="utf-8", newline="") as file:
            header = [cell.strip() for cell in next(csv.reader(file), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return len(header) - 1 if data.target in header and len(header) > 1 else None
