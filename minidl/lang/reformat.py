"""Source formatting: a spec's own text in the canonical layout, every comment kept.

`format_spec` prints an IR, which holds no comments and writes every default out;
`format_text` rewrites the text itself, as gofmt and black do: statements in their order, one
to a line, canonical spacing and values, and each comment where it was, relative to the code
around it. A spec with errors is not formatted: it raises the `SpecError` that parsing raises.

How: the syntax nodes are rendered as pieces, one for each token of the source, each knowing
its spacing and the indentation of a line that starts with it. The parse tree's tokens and a scan
of the text for comments say between which two tokens each comment lies. The writer then lays the
pieces out, one statement to a line, breaking lines where comments need it: a network with a
comment inside is written one stage to a line, so that each comment stays with its stage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from lark import Token, Tree

from minidl.lang.check import check
from minidl.lang.format import format_value
from minidl.lang.lower import lower
from minidl.lang.parser import parse_tree
from minidl.lang.syntax import (
    Bare,
    Call,
    Distribution,
    Group,
    JoinStage,
    Let,
    Option,
    RepeatStage,
    Shape,
    Statement,
    SyntaxStage,
    Value,
)

__all__ = ["format_text"]

INDENT = 4
STATEMENT = -1
"""`Piece.breaks` of a statement's first token: it always starts a line."""
# A comment just before one of these tokens is written just after it: `Linear 2->25 |  # c`.
# (The joins' `+` and `&`, when the grammar has them, belong here too.)
_MOVE_PAST = {"SEMI", "BAR", "COMMA", "PLUS", "AMP"}
# In a text that parses, a `#` outside a string starts a comment.
_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def format_text(text: str, filename: str = "<string>") -> str:
    """`text` in the canonical layout, with every comment; `SpecError` if it has errors."""
    tree = parse_tree(text, filename)
    statements = lower(tree)
    check(statements, text, filename)
    renderer = _Renderer(text)
    for statement in statements:
        renderer.statement(statement)
    pieces = renderer.pieces
    blank, comments = _scan(text, tree, pieces)
    at = _attach(comments, pieces)
    # Comments between a pipeline's first piece and the piece after its last (`)`, `;`).
    broken = {
        number
        for number, (first, end) in enumerate(renderer.pipelines)
        if any(first < index <= end for index in at)
    }
    return _write(pieces, blank, at, broken)


@dataclass(slots=True)
class Piece:
    """One token of the output: its text, and how it sits on a line."""

    text: str
    kind: str
    """The grammar's terminal, checked against the source's token at the same place."""
    glue: bool
    """Written right after the piece before it, without a space."""
    indent: int
    """The indentation of a line that starts with this piece."""
    breaks: int | None = None
    """`STATEMENT`, or the pipeline that starts a line here when written one stage a line."""


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment of the source, and how it stood there."""

    text: str
    trailing: bool
    """Code comes before it on its line."""
    blank_before: bool
    """A blank line separates it from what comes before it."""


class _Renderer:
    """Turns syntax nodes into pieces, in source order, one piece per source token."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[Piece] = []
        self.pipelines: list[tuple[int, int]] = []  # (first piece, end) of each pipeline
        self.indent = 0
        self.glue_next = False

    def add(self, text: str, kind: str, glue: bool = False) -> None:
        self.pieces.append(Piece(text, kind, glue or self.glue_next, self.indent))
        self.glue_next = False

    def statement(self, statement: Statement) -> None:
        first = len(self.pieces)
        self.indent = INDENT
        if isinstance(statement, Let):
            self.add("let", "LET")
            self.add(statement.name, "NAME")
            self.add("=", "EQUAL")
            self.pipeline(statement.body.stages)
        else:
            self.pipeline(statement.stages)
        self.add(";", "SEMI", glue=True)
        self.pieces[first].indent = 0
        self.pieces[first].breaks = STATEMENT

    def pipeline(self, stages: Sequence[SyntaxStage]) -> None:
        """`STAGE | STAGE ...`: a line may break before each stage after the first."""
        number = len(self.pipelines)
        first = len(self.pieces)
        self.pipelines.append((first, first))
        for position, stage in enumerate(stages):
            if position:
                self.add("|", "BAR")
            start = len(self.pieces)
            self.stage(stage)
            if position:
                self.pieces[start].breaks = number
        self.pipelines[number] = (first, len(self.pieces))

    def stage(self, stage: SyntaxStage) -> None:
        """One stage as pieces: the one place that knows every kind of stage node.

        A new node gets its case here: a join `A + B + C` adds its branches' pieces with a
        `+` piece (its terminal's name as kind) between them.
        """
        if isinstance(stage, Call):
            self.call(stage)
        elif isinstance(stage, Group):
            self.add("(", "LPAR")
            self.glue_next = True
            self.indent += INDENT
            self.pipeline(stage.stages)
            self.indent -= INDENT
            self.add(")", "RPAR", glue=True)
        elif isinstance(stage, RepeatStage):
            self.stage(stage.stage)
            self.add("*", "STAR")
            self.add(str(stage.count), "INT")
        elif isinstance(stage, JoinStage):
            for position, branch in enumerate(stage.branches):
                if position:
                    op = stage.ops[position - 1].symbol
                    self.add(op, "PLUS" if op == "+" else "AMP")
                self.stage(branch)
        else:
            _no_layout(stage)

    def call(self, call: Call) -> None:
        """`NAME` and its arguments, in their source order: values, shapes, options."""
        self.add(call.name, "NAME")
        for argument in sorted((*call.args, *call.options), key=lambda a: a.start):
            if isinstance(argument, Shape):
                inputs = "" if argument.in_features is None else str(argument.in_features)
                self.add(f"{inputs}->{argument.out_features}", "SHAPE")
            elif isinstance(argument, Option):
                self.option(argument)
            else:
                self.value(argument)

    def option(self, option: Option) -> None:
        """`key=value`, the key perhaps dotted (`train.epochs=[1, 2]`), without spaces."""
        first, *rest = option.key.split(".")
        self.add(first, "NAME")
        for part in rest:
            self.add(".", "DOT", glue=True)
            self.add(part, "NAME", glue=True)
        self.add("=", "EQUAL", glue=True)
        self.glue_next = True
        self.value(option.value)

    def value(self, value: Value) -> None:
        """A value; a list as `[4, 8, 16]`; a distribution as `uniform(0.1, 1.0)`."""
        if isinstance(value.value, Distribution):
            self.add(value.value.name, "NAME")
            self.add("(", "LPAR", glue=True)
            self.glue_next = True
            for position, item in enumerate(value.value.args):
                if position:
                    self.add(",", "COMMA", glue=True)
                self.value(item)
            self.add(")", "RPAR", glue=True)
            return
        if not isinstance(value.value, tuple):
            self.add(*self.scalar(value))
            return
        self.add("[", "LSQB")
        self.glue_next = True
        for position, item in enumerate(value.value):
            if position:
                self.add(",", "COMMA", glue=True)
            self.value(item)
        self.add("]", "RSQB", glue=True)

    def scalar(self, value: Value) -> tuple[str, str]:
        """The text and terminal of a value that is not a list.

        A quoted string stays quoted, even where a bare name would do: the text is the
        author's, and the checker may tell the two apart.
        """
        plain = value.value
        assert not isinstance(plain, tuple | Distribution)
        if isinstance(plain, Bare):
            return str(plain), "NAME"
        if isinstance(plain, bool):
            return format_value(plain), "NAME"
        if isinstance(plain, str):
            written = format_value(plain)
            return (written if written.startswith('"') else f'"{written}"'), "STRING"
        if isinstance(plain, float) and not math.isfinite(plain):
            return self.text[value.start : value.end], "FLOAT"  # `1e999` has no other spelling
        return format_value(plain), "FLOAT" if isinstance(plain, float) else "INT"


def _no_layout(stage: NoReturn) -> NoReturn:
    # mypy reports a call here when `SyntaxStage` gains a node `_Renderer.stage` misses.
    raise TypeError(f"no layout for the stage node {type(stage).__name__}")


def _scan(
    text: str, tree: Tree[Token], pieces: list[Piece]
) -> tuple[list[bool], list[tuple[int, Comment]]]:
    """Whether a blank line comes before each token of the source, and each comment with the
    number of tokens before it. The tokens must be the pieces' own."""
    items = [(t.start_pos or 0, t.end_pos or 0, t.type) for t in tree.scan_values(_is_token)]
    items += [(*m.span(), "#") for m in _COMMENT_OR_STRING.finditer(text) if m[0][0] == "#"]
    kinds: list[str] = []
    blank: list[bool] = []
    comments: list[tuple[int, Comment]] = []
    previous_end = 0
    for start, end, kind in sorted(items):
        blank_before = text.count("\n", previous_end, start) >= 2
        if kind == "#":
            line_start = text.rfind("\n", 0, start) + 1
            trailing = bool(text[line_start:start].strip())
            comment = Comment(text[start:end].rstrip(), trailing, blank_before)
            comments.append((len(kinds), comment))
        else:
            kinds.append(kind)
            blank.append(blank_before)
        previous_end = end
    rendered = [piece.kind for piece in pieces]
    if kinds not in (rendered, rendered[:-1]):  # the source may leave out the last `;`
        raise RuntimeError(f"the formatter's tokens {rendered} are not the source's {kinds}")
    return blank, comments


def _is_token(value: object) -> bool:
    return isinstance(value, Token)


def _attach(comments: list[tuple[int, Comment]], pieces: list[Piece]) -> dict[int, list[Comment]]:
    """The comments before each piece (index `len(pieces)`: at the end of the text)."""
    at: dict[int, list[Comment]] = {}
    for index, comment in comments:
        while index < len(pieces) and pieces[index].kind in _MOVE_PAST:
            index += 1
        at.setdefault(index, []).append(comment)
    return at


def _write(
    pieces: list[Piece], blank: list[bool], at: dict[int, list[Comment]], broken: set[int]
) -> str:
    """Lay the pieces out: a line per statement, one per stage in `broken` pipelines, and a
    line break after each comment. Blank lines are kept between statements, one at most."""
    lines: list[str] = []
    line: str | None = None
    for index in range(len(pieces) + 1):
        piece = pieces[index] if index < len(pieces) else None
        top = piece is None or piece.breaks == STATEMENT
        indent = 0 if piece is None else piece.indent
        for position, comment in enumerate(at.get(index, ())):
            if position == 0 and comment.trailing and line is not None:
                lines.append(f"{line}  {comment.text}")
            else:
                if line is not None:
                    lines.append(line)
                if top and comment.blank_before and lines:
                    lines.append("")
                lines.append(" " * indent + comment.text)
            line = None
        if piece is None:
            break
        if line is not None and (piece.breaks == STATEMENT or piece.breaks in broken):
            lines.append(line)
            line = None
        if line is None:
            if top and index < len(blank) and blank[index] and lines:
                lines.append("")
            line = " " * piece.indent + piece.text
        else:
            line += ("" if piece.glue else " ") + piece.text
    if line is not None:
        lines.append(line)
    return "\n".join(lines) + "\n"
