"""The `data csv` options of v3 checked against the file's header and the loss, without
reading the data (so the summary finds them too), and the data's counting warnings.

E332: a column named in `target=[...]`, `categorical` or `ignore` that the file lacks
(E330, a column named twice, and E331, values to predict with a loss over classes, are
the checker's: they need no file). W210 counts the cells
filled and rows left out, W211 the cells of categories training never saw.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from minidl.data.header import Header
from minidl.lang import ir
from minidl.lang.errors import Diagnostic
from minidl.lang.nodes import Span
from minidl.lang.option_spans import option_span

__all__ = ["column_diagnostics", "note_warnings"]


def column_diagnostics(spec: ir.Spec, header: Header) -> list[Diagnostic]:
    """E332 for the spec's CSV data, whose train file has `header`."""
    data = spec.data
    if not isinstance(data, ir.CsvData):
        return []
    found: list[Diagnostic] = []
    options = [("categorical", data.categorical), ("ignore", data.ignore)]
    if not isinstance(data.target, str):
        options.insert(0, ("target", data.target))
    for option, names in options:
        for name in names:
            if name in header.names:
                continue
            near = difflib.get_close_matches(name, header.names, n=1)
            help = f"did you mean `{near[0]}`?" if near else "columns: " + ", ".join(header.names)
            found.append(
                Diagnostic.at(
                    _name_span(spec, option, name),
                    "E332",
                    f"no column named `{name}` in {Path(data.train).name}",
                    help,
                    spec.source,
                )
            )
    return found


def note_warnings(
    spec: ir.Spec,
    filled: Mapping[str, int] | None = None,
    dropped: int = 0,
    no_target: int = 0,
    unseen: Mapping[str, int] | None = None,
) -> list[Diagnostic]:
    """W210 (cells filled, rows left out) and W211 (unseen categories), at the data."""
    parts = []
    if filled:
        total = sum(filled.values())
        parts.append(f"filled {total} missing cell{'s' * (total != 1)} ({_counts(filled)})")
    if dropped:
        parts.append(f"left out {dropped} row{'s' * (dropped != 1)} with a missing cell")
    if no_target:
        parts.append(f"left out {no_target} row{'s' * (no_target != 1)} without a target")
    found = []
    if parts:
        found.append(
            Diagnostic.at(
                spec.data.span,
                "W210",
                "; ".join(parts),
                "`missing=drop` leaves rows with gaps out, `missing=error` stops at the first",
                spec.source,
                "warning",
            )
        )
    if unseen:
        total = sum(unseen.values())
        found.append(
            Diagnostic.at(
                spec.data.span,
                "W211",
                f"{total} cell{'s' * (total != 1)} of categories that the train file lacks "
                f"encoded as no category ({_counts(unseen)})",
                "add rows of these categories to the train file",
                spec.source,
                "warning",
            )
        )
    return found


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def _name_span(spec: ir.Spec, option: str, name: str) -> Span | None:
    """Where `name` is written in the value of the data statement's `option=`."""
    span = option_span(spec, option)
    if span is None or not spec.source or span.line != span.end_line:
        return span
    try:
        line = Path(spec.source).read_text(encoding="utf-8").splitlines()[span.line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return span
    end = line.find("]", span.column - 1)
    start = line.find(name, span.column - 1, len(line) if end < 0 else end)
    if start < 0:
        return span
    return Span(
        line=span.line, column=start + 1, end_line=span.line, end_column=start + 1 + len(name)
    )
