"""The statements of a spec as written, before any meaning is given to their words.

`lower` builds these from the lark tree; `check` turns them into the IR. Positions are
character offsets into the source (`start`, `end`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Bare",
    "Call",
    "Distribution",
    "Group",
    "JoinOp",
    "JoinStage",
    "Let",
    "Option",
    "Pipeline",
    "RepeatStage",
    "Shape",
    "Statement",
    "SyntaxStage",
    "Value",
]


class Bare(str):
    """A bare name used as a value (`sum`, `disk`), as opposed to a quoted string."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Distribution:
    """`NAME(V, ...)` as a value: what a search draws from, as in `uniform(1e-4, 0.1)`."""

    name: str
    args: tuple[Value, ...]
    name_end: int


@dataclass(frozen=True, slots=True)
class Value:
    """An integer, float, boolean, string, bare name, list of values or distribution."""

    value: int | float | bool | str | tuple[Value, ...] | Distribution
    start: int
    end: int

    def plain(self) -> object:
        """The Python value, lists as tuples of plain values (a distribution stays itself,
        so that an option that takes a number rejects it)."""
        if isinstance(self.value, tuple):
            return tuple(v.plain() for v in self.value)
        return str(self.value) if isinstance(self.value, Bare) else self.value


@dataclass(frozen=True, slots=True)
class Shape:
    """`IN->OUT`, or `->OUT` with `in_features` None."""

    in_features: int | None
    out_features: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Option:
    """`key=value`; the key may be dotted (`sgd.lr`)."""

    key: str
    value: Value
    start: int
    end: int
    key_end: int


@dataclass(frozen=True, slots=True)
class Call:
    """A word with its arguments: a stage (`Linear 2->25`) or a statement (`sgd lr=0.1`)."""

    name: str
    args: tuple[Value | Shape, ...]
    options: tuple[Option, ...]
    start: int
    end: int
    name_end: int


@dataclass(frozen=True, slots=True)
class Group:
    """`( STAGE | ... )`."""

    stages: tuple[SyntaxStage, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RepeatStage:
    """`STAGE * N`."""

    stage: Call | Group
    count: int
    start: int
    end: int
    count_start: int


@dataclass(frozen=True, slots=True)
class JoinOp:
    """One `+` or `&` between two branches of a join."""

    symbol: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class JoinStage:
    """`A + B + ...` or `A & B & ...`: branches that take the same input, then joined.

    The syntax keeps every operator as written (a mix of `+` and `&` is the checker's to
    report), and an operand `()` as an empty `Group`.
    """

    branches: tuple[Call | Group | RepeatStage, ...]
    ops: tuple[JoinOp, ...]
    start: int
    end: int


SyntaxStage = Call | Group | RepeatStage | JoinStage


@dataclass(frozen=True, slots=True)
class Pipeline:
    """`STAGE | STAGE ...`: a network, or a lone statement word such as `loss MSE`."""

    stages: tuple[SyntaxStage, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Let:
    """`let NAME = PIPELINE`."""

    name: str
    body: Pipeline
    start: int
    end: int
    name_start: int
    name_end: int


Statement = Pipeline | Let
