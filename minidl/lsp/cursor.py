"""What is at the cursor: the token and its statement, the statement word's model, and
the `let` blocks the document defines."""

from __future__ import annotations

from minidl.lsp.analysis import Analysis
from minidl.lsp.outline import Statement, Token
from minidl.lsp.words import word_model

__all__ = ["defined_blocks", "model_of", "token_at"]


def token_at(analysis: Analysis, offset: int) -> tuple[Statement, int] | None:
    """The statement and token index under `offset` (a cursor just after a word counts)."""
    for statement in analysis.statements:
        if statement.start <= offset <= statement.end:
            for index, token in enumerate(statement.tokens):
                if token.start <= offset <= token.end:
                    return statement, index
    return None


def model_of(statement: Statement, head: Token) -> type | None:
    """The model of `head`'s word: a statement's variant (`loss MSE`), or a layer's."""
    variant = statement.tokens[1].text if len(statement.tokens) > 1 else None
    return word_model(head.text, variant if statement.kind == "statement" else None)


def defined_blocks(analysis: Analysis) -> dict[str, Token]:
    """Each `let` block's name token, by name (the first definition wins)."""
    found: dict[str, Token] = {}
    for statement in analysis.statements:
        name = statement.block_name()
        if name is not None:
            found.setdefault(name.text, name)
    return found
