"""Diagnostics: what went wrong, where, and the likely fix, printed as compilers print them."""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from minidl.lang.nodes import Span

__all__ = [
    "SYNONYMS",
    "Diagnostic",
    "LineIndex",
    "Reporter",
    "Severity",
    "SpecError",
    "Suggestion",
    "did_you_mean",
    "render",
    "render_all",
    "sort_diagnostics",
]


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Suggestion:
    """A fix that a tool can apply: write `replacement` over `span` ("did you mean")."""

    span: Span
    replacement: str


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning: a stable code, a message, a 1-based span (end column exclusive),
    a help line, optionally other places it concerns (`related`: a span and a note, such
    as "first defined here") and fixes a tool can apply (`suggestions`)."""

    code: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    help: str | None = None
    filename: str = "<string>"
    severity: Severity = "error"
    related: tuple[tuple[Span, str], ...] = ()
    quote: str | None = None
    """The source line to show, when it is not in the text being rendered (a data file's)."""
    suggestions: tuple[Suggestion, ...] = ()

    @classmethod
    def at(
        cls,
        span: Span | None,
        code: str,
        message: str,
        help: str | None = None,
        filename: str | None = None,
        severity: Severity = "error",
        *,
        related: tuple[tuple[Span, str], ...] = (),
        replacement: str | None = None,
    ) -> Diagnostic:
        """A diagnostic over an IR span (line 1, column 1 when the node has none).

        `replacement`, a likely fix of the text under the span, becomes a `Suggestion`.
        """
        s = span or Span(line=1, column=1, end_line=1, end_column=2)
        fixes = () if replacement is None else (Suggestion(s, replacement),)
        return cls(
            code,
            message,
            s.line,
            s.column,
            s.end_line,
            s.end_column,
            help,
            filename or "<string>",
            severity,
            related,
            suggestions=fixes,
        )

    def as_dict(self) -> dict[str, object]:
        """The diagnostic as JSON-ready data."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.filename,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "help": self.help,
            "severity": self.severity,
        }


class SpecError(Exception):
    """A spec that does not parse or check; `diagnostics` lists every error found."""

    def __init__(self, diagnostics: Iterable[Diagnostic], text: str = "") -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        self.text = text
        super().__init__(self.render())

    def render(self, text: str | None = None) -> str:
        """All diagnostics, each with its source line and carets, as the command line prints.

        `text` is the source to quote, when the error was raised where it was not known.
        """
        return render_all(self.diagnostics, self.text if text is None else text)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics in the order they are shown: by place, then by code."""
    return sorted(diagnostics, key=lambda d: (d.line, d.column, d.code))


def render_all(diagnostics: Iterable[Diagnostic], text: str) -> str:
    """Diagnostics (already in their order), each quoting its line of `text`."""
    lines = text.splitlines()
    return "\n".join(render(d, lines) for d in diagnostics)


class LineIndex:
    """Turns character offsets of a text into 1-based (line, column) pairs."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts.extend(i + 1 for i, char in enumerate(text) if char == "\n")

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of a character offset."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def render(diagnostic: Diagnostic, source_lines: list[str]) -> str:
    """Format one diagnostic: `FILE:LINE:COL: error[CODE]: message`, source, carets, help."""
    d = diagnostic
    out = [f"{d.filename}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}"]
    if d.quote is not None:
        source_lines = [""] * (d.line - 1) + [d.quote]
    if 1 <= d.line <= len(source_lines) or d.line == 1:
        source = source_lines[d.line - 1] if d.line <= len(source_lines) else ""
        gutter = " " * len(str(d.line))
        end = d.end_column if d.end_line == d.line else len(source) + 1
        width = max(1, end - d.column)
        carets = "".join(c if c == "\t" else " " for c in source[: d.column - 1]) + "^" * width
        out.append(f"  {d.line} | {source}".rstrip())
        out.append(f"  {gutter} | {carets}")
    if d.help:
        out.append(f"  help: {d.help}")
    return "\n".join(out)


SYNONYMS = {
    "gpu": "cuda",
    "cross_entropy": "CrossEntropy",
    "nll": "CrossEntropy",
    "mae": "L1",
    "smoothl1": "Huber",
    "batchnorm1d": "BatchNorm",
    "float": "float32",
    "double": "float64",
}
"""Words other tools use for MDL's (lower case): `device=gpu` means `cuda`."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`: a known synonym, a case-insensitive match, then a
    near spelling."""
    options = list(candidates)
    synonym = SYNONYMS.get(word.lower())
    if synonym in options:
        return synonym
    for option in options:
        if option.lower() == word.lower():
            return option
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


class Located(Protocol):
    """Anything with character offsets into a source text."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class Reporter:
    """Collects the diagnostics of one text, with what is needed to place them."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.index = LineIndex(text)
        self.diagnostics: list[Diagnostic] = []

    def error(
        self,
        code: str,
        message: str,
        start: int,
        end: int,
        help: str | None = None,
        *,
        related: tuple[tuple[int, int, str], ...] = (),
        replacement: str | None = None,
    ) -> None:
        """Record an error over the characters `start` to `end` of the text.

        `related` holds other places it concerns, as (start, end, note); `replacement`, the
        text that likely should stand from `start` to `end` ("did you mean").
        """
        diagnostic = self.diagnostic(
            code, message, start, end, help, related=related, replacement=replacement
        )
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)

    def diagnostic(
        self,
        code: str,
        message: str,
        start: int,
        end: int,
        help: str | None = None,
        *,
        related: tuple[tuple[int, int, str], ...] = (),
        replacement: str | None = None,
    ) -> Diagnostic:
        """An error over the characters `start` to `end` of the text, placed by line."""
        return Diagnostic.at(
            self.span(start, max(end, start + 1)),
            code,
            message,
            help,
            self.filename,
            related=tuple((self.span(a, max(b, a + 1)), note) for a, b, note in related),
            replacement=replacement,
        )

    def span(self, start: int, end: int) -> Span:
        line, column = self.index.position(start)
        end_line, end_column = self.index.position(end)
        # Validating four ints costs less than pydantic's `model_construct`, written in Python.
        return Span(line=line, column=column, end_line=end_line, end_column=end_column)

    def source(self, node: Located) -> str:
        return self.text[node.start : node.end]
