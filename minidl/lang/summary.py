"""The summary the command line prints without `--train`: each stage, its width, its size."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from minidl.lang import ir
from minidl.lang.format import format_value
from minidl.lang.registry import option_names
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
    if layer.kind != "Linear":
        return layer.kind
    n_in = "?" if layer.in_features is None else str(layer.in_features)
    return f"Linear {n_in}->{layer.out_features}" + ("" if layer.bias else " bias=false")


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _settings(spec: ir.Spec) -> list[str]:
    def options(node: ir.Node) -> str:
        return " ".join(
            f"{k}={format_value(getattr(node, k))}"
            for k in option_names(type(node))
            if getattr(node, k) is not None
        )

    lines = [
        f"loss {spec.loss.name} {options(spec.loss)}",
        f"sgd {options(spec.sgd)}",
        f"train {options(spec.train)}",
        f"data {spec.data.kind} {options(spec.data)}",
    ]
    if spec.sweep is not None:
        cells = math.prod(len(axis.values) for axis in spec.sweep.axes)
        axes = " ".join(
            f"{a.key}=[{', '.join(map(format_value, a.values))}]" for a in spec.sweep.axes
        )
        lines.append(
            f"sweep {axes} runs={spec.sweep.runs}: {cells} cells, {cells * spec.sweep.runs} runs"
        )
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
