"""Where an option of the data statement is written in the spec's file, for diagnostics
about a setting rather than a file's cell."""

from __future__ import annotations

import re
from pathlib import Path

from minidl.lang import ir
from minidl.lang.nodes import Span

__all__ = ["option_span"]


def option_span(spec: ir.Spec, option: str) -> Span | None:
    """Where the value of the data statement's `option=` is written, found in the spec's
    file; the whole statement when the file cannot be read or the option is not there."""
    span = spec.data.span
    if span is None or not spec.source:
        return span
    try:
        lines = Path(spec.source).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return span
    pattern = re.compile(rf"\b{option}\s*=\s*(\"(?:[^\"\\\n]|\\.)*\"|[^\s;]+)")
    for number in range(span.line, min(span.end_line, len(lines)) + 1):
        found = pattern.search(lines[number - 1])
        if found:
            start, end = found.span(1)
            return Span(line=number, column=start + 1, end_line=number, end_column=end + 1)
    return span
