"""Quick fixes: each diagnostic's suggestions ("did you mean") as LSP code actions.

The checker gives a suggestion as data, a span and the text to write there; this module only
turns it into the editor's terms: a `quickfix` action whose workspace edit writes it.
"""

from __future__ import annotations

from lsprotocol import types

from minidl.lsp.analysis import Analysis

__all__ = ["quick_fixes"]


def quick_fixes(analysis: Analysis, wanted: types.Range) -> list[types.CodeAction]:
    """A `quickfix` for each suggestion of each diagnostic whose range meets `wanted`."""
    actions = []
    for diagnostic, published in zip(analysis.diagnostics, analysis.lsp_diagnostics, strict=True):
        if not diagnostic.suggestions or not _meets(published.range, wanted):
            continue
        for suggestion in diagnostic.suggestions:
            s = suggestion.span
            edit = types.TextEdit(
                range=analysis.lines.range(s.line, s.column, s.end_line, s.end_column),
                new_text=suggestion.replacement,
            )
            actions.append(
                types.CodeAction(
                    title=f"Change to `{suggestion.replacement}`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[published],
                    is_preferred=len(diagnostic.suggestions) == 1,
                    edit=types.WorkspaceEdit(changes={analysis.uri: [edit]}),
                )
            )
    return actions


def _meets(a: types.Range, b: types.Range) -> bool:
    """Whether two ranges overlap or touch (a cursor at either end of a word is on it)."""

    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
