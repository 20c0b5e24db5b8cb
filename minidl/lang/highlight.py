"""A Pygments lexer for MDL, for `pygmentize -l mdl`, documentation and editors.

It colours what the grammar (`grammar/mdl.lark`) lexes, and a little more: statement words
(read from the registry's table), layer names (capitalised words), option keys (a name before
`=`) and the block a `let` names. A character the grammar rejects is an `Error` token.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, default, words
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from minidl.lang.registry import STATEMENTS

__all__ = ["MdlLexer"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SPACE = r"[ \t\r\n\f]"
_COMMENT = r"#[^\n]*"


class MdlLexer(RegexLexer):
    """MDL source: comments, strings, numbers, shapes, keywords, layers, option keys."""

    name = "MDL"
    aliases: ClassVar[list[str]] = ["mdl"]
    filenames: ClassVar[list[str]] = ["*.mdl"]
    mimetypes: ClassVar[list[str]] = ["text/x-mdl"]

    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (rf"{_SPACE}+", Whitespace),
            (_COMMENT, Comment.Single),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r'"[^\n]*', Error),  # a string left open
            # A shape, `IN->OUT` or `->OUT`: one token to the grammar, here IN, arrow, OUT.
            (rf"-?[0-9]+(?={_SPACE}*->)", Number.Integer),
            (r"->", Operator),
            (r"-?([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", Number.Float),
            (r"-?[0-9]+[eE][+-]?[0-9]+", Number.Float),
            (r"-?[0-9]+", Number.Integer),
            (r"let\b", Keyword.Declaration, "block-name"),
            (words(("true", "false"), suffix=r"\b"), Keyword.Constant),
            # A key before `=`, dotted perhaps (`train.epochs=`): `data disk train=100`.
            (rf"{_NAME}(?={_SPACE}*(\.{_SPACE}*{_NAME}{_SPACE}*)*=)", Name.Attribute),
            (words(tuple(sorted(STATEMENTS)), suffix=r"\b"), Keyword),
            (r"[A-Z][A-Za-z0-9_]*", Name.Class),
            (_NAME, Name),
            (r"[|*+&=]", Operator),
            (r"[()\[\],;.]", Punctuation),
        ],
        "block-name": [
            (rf"{_SPACE}+", Whitespace),
            (_COMMENT, Comment.Single),
            (_NAME, Name.Function, "#pop"),
            default("#pop"),
        ],
    }
