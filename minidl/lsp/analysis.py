"""One analysis of one version of a document: its diagnostics, its spec, its outline.

`analyze` is what runs after each change (off the request path), with the document's
`Diagnoser`, which parses only the statements that changed; hover, completion and the rest
read the cached result, and work out the expanded network only when first asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lsprotocol import types

from minidl.lang import Diagnoser, Diagnostic, Resolution, Spec, diagnose, resolve
from minidl.lang.summary import csv_features
from minidl.lsp.outline import Statement, Token, outline, tokens
from minidl.lsp.positions import TextLines

__all__ = ["Analysis", "analyze", "to_lsp"]

_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


@dataclass
class Analysis:
    """A document's text at one version, what `diagnose` said of it, and derived views."""

    uri: str
    version: int | None
    text: str
    filename: str
    spec: Spec | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @cached_property
    def lines(self) -> TextLines:
        """The text by lines, for position conversion."""
        return TextLines(self.text)

    @cached_property
    def tokens(self) -> list[Token]:
        """Every token of the text, comments included (read even when it does not parse)."""
        return tokens(self.text)

    @cached_property
    def statements(self) -> list[Statement]:
        """The statements as tokens (read even when the text does not parse)."""
        return outline(self.text)

    @cached_property
    def resolution(self) -> Resolution | None:
        """The expanded network with its widths, or None when the spec has errors."""
        if self.spec is None:
            return None
        return resolve(self.spec, csv_features(self.spec))

    @cached_property
    def lsp_diagnostics(self) -> list[types.Diagnostic]:
        """The diagnostics as the LSP publishes them."""
        return [to_lsp(d, self.lines, self.uri) for d in self.diagnostics]


def analyze(
    uri: str, version: int | None, text: str, filename: str, diagnoser: Diagnoser | None = None
) -> Analysis:
    """Parse and check `text` as the file `filename` (CSV headers are read relative to it).

    `diagnoser`, the document's own, remembers the statements of its earlier versions; the
    result is the same without it.
    """
    if diagnoser is None:
        spec, diagnostics = diagnose(text, filename)
    else:
        spec, diagnostics = diagnoser.diagnose(text)
    analysis = Analysis(uri, version, text, filename, spec, diagnostics)
    analysis.lsp_diagnostics  # noqa: B018  (converted here, off the request path)
    return analysis


def to_lsp(d: Diagnostic, lines: TextLines, uri: str) -> types.Diagnostic:
    """A minidl diagnostic as an LSP one: code, source, severity, range, message and help."""
    message = d.message if d.help is None else f"{d.message}\nhelp: {d.help}"
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=uri, range=lines.range(s.line, s.column, s.end_line, s.end_column)
            ),
            message=note,
        )
        for s, note in d.related
    ]
    return types.Diagnostic(
        range=lines.range(d.line, d.column, d.end_line, d.end_column),
        message=message,
        severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.code,
        source="minidl",
        related_information=related or None,
    )
