"""The base of every IR node, source spans, and the limits that field types enforce."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_PARAMETERS",
    "MAX_REPEAT",
    "MAX_WIDTH",
    "Node",
    "Real",
    "Scalar",
    "Span",
    "Width",
    "option_names",
]

MAX_WIDTH = 1_000_000
MAX_REPEAT = 10_000
MAX_PARAMETERS = 100_000_000

Scalar = bool | int | float | str | tuple[float, ...]
"""A value a sweep or `--set` may assign (a pair of floats for `betas`)."""

Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]
Real = Annotated[float, Field(allow_inf_nan=False)]

TAGS = ("span", "kind", "name")
"""Fields of a node that are not options: its span, and the tag that names its variant."""


class Span(BaseModel):
    """A region of the source: 1-based lines and columns, the end column exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    column: int
    end_line: int
    end_column: int


class Node(BaseModel):
    """Base of every IR node: frozen, strict, no unknown fields, a span outside equality."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    span: Span | None = Field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(
            getattr(self, name) == getattr(other, name)
            for name in type(self).model_fields
            if name != "span"
        )

    def __hash__(self) -> int:
        fields = type(self).model_fields
        return hash(tuple(getattr(self, n) for n in fields if n != "span"))

    def options(self) -> dict[str, Scalar]:
        """The node's options by name, as written in MDL (its fields but span and tag)."""
        return {name: getattr(self, name) for name in option_names(type(self))}


def option_names(model: type[BaseModel]) -> list[str]:
    """The options a word's model takes: its fields but the span, the tag and the widths."""
    skip = {*TAGS, "in_features", "out_features"}
    return [name for name in model.model_fields if name not in skip]
