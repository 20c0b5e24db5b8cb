"""The MDL intermediate representation: frozen, validated pydantic models.

A `Spec` is what a `.mdl` file means: its blocks and network as written (blocks and
repetition are kept, so that the spec can be printed back), and every other statement with
its defaults filled in. Every node carries the span of its source text; equality and hashing
ignore spans, so that two spellings of the same spec compare equal.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = [
    "DEFAULT_RADIUS",
    "MAX_PARAMETERS",
    "MAX_REPEAT",
    "MAX_WIDTH",
    "Activation",
    "Block",
    "BlockRef",
    "CsvData",
    "Data",
    "DiskData",
    "Group",
    "Linear",
    "Loss",
    "Node",
    "Repeat",
    "Scalar",
    "Sgd",
    "Span",
    "Spec",
    "Stage",
    "Sweep",
    "SweepAxis",
    "Train",
]

DEFAULT_RADIUS = 1 / math.sqrt(2 * math.pi)
MAX_WIDTH = 1_000_000
MAX_REPEAT = 10_000
MAX_PARAMETERS = 100_000_000

Scalar = bool | int | float | str
"""A value a sweep or `--set` may assign."""


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


Width = Annotated[int, Field(ge=1)]
Real = Annotated[float, Field(allow_inf_nan=False)]


class Linear(Node):
    """`Linear IN->OUT` (IN None for `Linear ->OUT`, inferred from the stage before)."""

    kind: Literal["Linear"] = "Linear"
    in_features: Width | None = None
    out_features: Width
    bias: bool = True


class Activation(Node):
    """`ReLU`, `Tanh` or `Sigmoid`: element-wise, the width is kept."""

    kind: Literal["ReLU", "Tanh", "Sigmoid"]


class BlockRef(Node):
    """A use of a block defined earlier with `let`."""

    kind: Literal["block"] = "block"
    name: str


class Group(Node):
    """`( STAGE | ... )`."""

    kind: Literal["group"] = "group"
    stages: tuple[Stage, ...] = Field(min_length=1)


class Repeat(Node):
    """`STAGE * N`: N copies in a row."""

    kind: Literal["repeat"] = "repeat"
    stage: Stage
    count: Annotated[int, Field(ge=1, le=MAX_REPEAT)]


Stage = Annotated[Linear | Activation | BlockRef | Group | Repeat, Field(discriminator="kind")]


class Block(Node):
    """`let NAME = STAGE | ...`."""

    name: str
    stages: tuple[Stage, ...] = Field(min_length=1)


class Loss(Node):
    """`loss MSE [reduction=sum|mean]`."""

    name: Literal["MSE"] = "MSE"
    reduction: Literal["sum", "mean"] = "sum"


class Sgd(Node):
    """`sgd lr=F batch=N [momentum=F] [weight_decay=F]`."""

    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.001
    batch: Annotated[int, Field(ge=1, le=MAX_WIDTH)] = 16
    momentum: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    weight_decay: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class Train(Node):
    """`train [epochs=N] [seed=N] [backend=minidl|torch] [device=cpu|cuda] [dtype=...]`."""

    epochs: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    backend: Literal["minidl", "torch"] = "minidl"
    device: Literal["cpu", "cuda"] = "cpu"
    dtype: Literal["float32", "float64"] = "float32"


class DiskData(Node):
    """`data disk [train=N] [test=N] [radius=F]`."""

    kind: Literal["disk"] = "disk"
    train: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    test: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    radius: Annotated[float, Field(gt=0, allow_inf_nan=False)] = DEFAULT_RADIUS


class CsvData(Node):
    """`data csv train="PATH" [test="PATH"] target=COLUMN`; paths relative to the spec."""

    kind: Literal["csv"] = "csv"
    train: Annotated[str, Field(min_length=1)]
    test: Annotated[str, Field(min_length=1)] | None = None
    target: Annotated[str, Field(min_length=1)]


Data = Annotated[DiskData | CsvData, Field(discriminator="kind")]


class SweepAxis(Node):
    """One `KEY=[V, ...]` of a sweep; `key` is the full dotted path (`sgd.batch`)."""

    key: str
    values: tuple[Scalar, ...] = Field(min_length=1)


class Sweep(Node):
    """`sweep KEY=[V, ...] ... [runs=N]`: the grid is the product of the axes."""

    axes: tuple[SweepAxis, ...] = ()
    runs: Annotated[int, Field(ge=1, le=10_000)] = 1


class Spec(Node):
    """A whole `.mdl` file."""

    blocks: tuple[Block, ...] = ()
    network: tuple[Stage, ...] = Field(min_length=1)
    loss: Loss = Loss()
    sgd: Sgd = Sgd()
    train: Train = Train()
    data: Data = DiskData()
    sweep: Sweep | None = None
    source: str | None = Field(default=None, exclude=True, repr=False)
    """The file the spec was read from: relative data paths are resolved against it."""
    _text: str | None = PrivateAttr(default=None)

    def attach_text(self, text: str) -> None:
        """Keep the source text, so that later diagnostics (shapes of CSV data) can quote it."""
        self._text = text

    @property
    def text(self) -> str:
        """The source text the spec was parsed from, or its canonical text when it has none."""
        if self._text is None:
            from minidl.lang.format import format_spec

            self._text = format_spec(self)
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        mine = {n: getattr(self, n) for n in type(self).model_fields if n not in ("span", "source")}
        return mine == {n: getattr(other, n) for n in mine}

    def __hash__(self) -> int:
        return hash((self.blocks, self.network, self.loss, self.sgd, self.train, self.data))
