"""The words of a document as tokens and statements, read without the parser.

An editor asks about text that is often mid-edit and does not parse; this reading never fails.
Statements end at `;` (as in the grammar); within one, a *head* is the word that starts a stage
(`Linear`, a block name) or the statement (`adam`, `loss`), and an *option key* is a name
followed by `=`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from minidl.lang.registry import STATEMENTS

__all__ = ["Statement", "Token", "outline", "tokens"]

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"([^"\\\n]|\\.)*")
  | (?P<shape>(-?[0-9]+[ \t\r\n\f]*)?->[ \t\r\n\f]*-?[0-9]+)
  | (?P<number>-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<space>[ \t\r\n\f]+)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_STAGE_OPENERS = {"|", "("}


@dataclass(frozen=True)
class Token:
    """One word, number, string, shape, comment or punctuation mark, by character offsets."""

    kind: str
    text: str
    start: int
    end: int


@dataclass
class Statement:
    """The tokens of one statement (comments left out) and where it starts and ends."""

    tokens: list[Token] = field(default_factory=list)
    start: int = 0
    end: int = 0

    @property
    def word(self) -> str:
        """The first word: `let`, a statement word, or the network's first stage."""
        return self.tokens[0].text if self.tokens else ""

    @property
    def kind(self) -> str:
        """`let`, `statement` (a statement word) or `network`."""
        if self.word == "let":
            return "let"
        return "statement" if self.word in STATEMENTS else "network"

    def is_head(self, index: int) -> bool:
        """Whether token `index` is where a stage (or the statement's word) is written."""
        if index == 0:
            return self.kind != "let"
        before = self.tokens[index - 1].text
        if self.kind == "statement":
            return False
        if self.kind == "let" and index == 3:
            return before == "="
        return before in _STAGE_OPENERS

    def head_before(self, index: int) -> Token | None:
        """The head of the stage (or statement) that the position of token `index` is in."""
        if self.kind == "statement":
            return self.tokens[0] if self.tokens and index > 0 else None
        for i in range(index - 1, -1, -1):
            if self.is_head(i) and self.tokens[i].kind == "name":
                return self.tokens[i]
            if self.tokens[i].text in _STAGE_OPENERS or (self.kind == "let" and i == 2):
                return None
        return None

    def is_key(self, index: int) -> bool:
        """Whether token `index` is an option's name (`lr` in `lr=0.1`)."""
        nxt = index + 1
        return (
            self.tokens[index].kind == "name"
            and nxt < len(self.tokens)
            and self.tokens[nxt].text == "="
            and not (self.kind == "let" and nxt == 2)
        )

    def block_name(self) -> Token | None:
        """The name a `let` statement defines."""
        if self.kind == "let" and len(self.tokens) > 1 and self.tokens[1].kind == "name":
            return self.tokens[1]
        return None


def tokens(text: str) -> list[Token]:
    """Every token of `text` but whitespace, comments included."""
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind != "space":
            out.append(Token(kind, match.group(), match.start(), match.end()))
    return out


def outline(text: str) -> list[Statement]:
    """The statements of `text`, each ending at its `;` (the last one maybe without)."""
    statements = [Statement()]
    for token in tokens(text):
        current = statements[-1]
        if token.kind == "comment":
            continue
        if not current.tokens:
            current.start = token.start
        if token.text == ";":
            current.end = token.end
            statements.append(Statement())
            continue
        current.tokens.append(token)
        current.end = token.end
    return [s for s in statements if s.tokens]
