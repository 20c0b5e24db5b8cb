"""Warnings found while loading data (W201 unscaled features, ...), printed to stderr in the
diagnostic format by every command that reads the data's values (contract v3)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from minidl.lang import Diagnostic
from minidl.lang.errors import render

__all__ = ["print_warnings"]


def print_warnings(warnings: Iterable[Diagnostic], shown: set[str] | None = None) -> None:
    """Print each warning, quoting its line of the spec (or data file) it points into;
    those already in `shown` (rendered text) are skipped, and the others are added to it."""
    for warning in warnings:
        text = render(warning, _lines(warning.filename))
        if shown is not None:
            if text in shown:
                continue
            shown.add(text)
        print(text, file=sys.stderr)


def _lines(filename: str) -> list[str]:
    try:
        return Path(filename).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return []
