"""The MDL intermediate representation: frozen, validated pydantic models, data only.

A `Spec` is what a `.mdl` file means: its blocks and network as written (blocks and
repetition are kept, so that the spec can be printed back), and every other statement with
its defaults filled in. Every node carries the span of its source text; equality and hashing
ignore spans, so that two spellings of the same spec compare equal. The words themselves
(layers, losses, optimisers, ...) are described in `layer_words` and `statement_words`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from minidl.lang.layer_words import LAYERS, LayerWord, Linear, ShapedWord
from minidl.lang.lookup import WordSchema, WordTable
from minidl.lang.nodes import MAX_PARAMETERS, MAX_REPEAT, MAX_WIDTH, Node, Scalar, Span
from minidl.lang.statement_words import (
    BCE,
    DATA_SOURCES,
    DEFAULT_RADIUS,
    L1,
    LOSSES,
    MSE,
    OPTIMIZERS,
    Adam,
    AdamW,
    CrossEntropy,
    CsvData,
    DiskData,
    Huber,
    ImagesData,
    Schedule,
    SeededData,
    Sgd,
    Train,
)

__all__ = [
    "BCE",
    "DEFAULT_RADIUS",
    "DISTRIBUTIONS",
    "L1",
    "MAX_PARAMETERS",
    "MAX_REPEAT",
    "MAX_WIDTH",
    "MSE",
    "STAGES",
    "Adam",
    "AdamW",
    "Block",
    "BlockRef",
    "CrossEntropy",
    "CsvData",
    "Data",
    "DiskData",
    "Group",
    "Huber",
    "ImagesData",
    "Join",
    "LayerWord",
    "Linear",
    "Loss",
    "Node",
    "Optimizer",
    "Repeat",
    "Scalar",
    "Schedule",
    "SeededData",
    "Sgd",
    "ShapedWord",
    "Span",
    "Spec",
    "Stage",
    "Sweep",
    "SweepAxis",
    "Train",
    "add_layer_word",
    "spec_schema",
]


STAGES: WordTable[Node] = WordTable("stage", "kind", LAYERS)
"""The structural stages (a block's use, a group, a repeat, a join); a stage field also takes
every word of `LAYERS`, looked up when validated."""

if not TYPE_CHECKING:  # each field looks its word up when validated (see `lookup`)
    Stage = STAGES.field()
    Loss = LOSSES.field()
    Optimizer = OPTIMIZERS.field()
    Data = DATA_SOURCES.field()


@STAGES.register
class BlockRef(Node):
    """A use of a block defined earlier with `let`."""

    kind: Literal["block"] = "block"
    name: str


@STAGES.register
class Group(Node):
    """`( STAGE | ... )`."""

    kind: Literal["group"] = "group"
    stages: tuple[Stage, ...] = Field(min_length=1)


@STAGES.register
class Repeat(Node):
    """`STAGE * N`: N copies in a row."""

    kind: Literal["repeat"] = "repeat"
    stage: Stage
    count: Annotated[int, Field(ge=1, le=MAX_REPEAT)]


@STAGES.register
class Join(Node):
    """`A + B + ...` (`op="sum"`) or `A & B & ...` (`op="concat"`): branches that all take
    the stage's input; their outputs are added (equal widths) or concatenated."""

    kind: Literal["join"] = "join"
    op: Literal["sum", "concat"]
    branches: tuple[Annotated[tuple[Stage, ...], Field(min_length=1)], ...] = Field(min_length=2)


if TYPE_CHECKING:
    Stage = LayerWord | BlockRef | Group | Repeat | Join
    Loss = MSE | L1 | Huber | CrossEntropy | BCE
    Optimizer = Sgd | Adam | AdamW
    Data = DiskData | CsvData | ImagesData


class Block(Node):
    """`let NAME = STAGE | ...`."""

    name: str
    stages: tuple[Stage, ...] = Field(min_length=1)


DISTRIBUTIONS = ("uniform", "loguniform", "randint")
"""What a search draws a key from besides a list: `uniform(A, B)` and `loguniform(A, B)`
from [A, B), `randint(A, B)` from A to B, both included."""


class SweepAxis(Node):
    """One `KEY=[V, ...]` or `KEY=uniform(A, B)` of a sweep; `key` is the full dotted path
    (`sgd.batch`). A list has `values`; a distribution has `distribution`, `low` and `high`."""

    key: str
    values: tuple[Scalar, ...] = ()
    distribution: Literal["uniform", "loguniform", "randint"] | None = None
    low: int | float | None = None
    high: int | float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SweepAxis:
        if (self.distribution is None) == (not self.values):
            raise ValueError("a sweep axis has either values or a distribution")
        if self.distribution is not None and (self.low is None or self.high is None):
            raise ValueError("a distribution needs its bounds")
        return self


class Sweep(Node):
    """`sweep KEY=[V, ...] ... [samples=N] [runs=N]`: without `samples` the grid is the
    product of the axes; with it, N configurations drawn at random."""

    axes: tuple[SweepAxis, ...] = ()
    samples: Annotated[int, Field(ge=1, le=100_000)] | None = None
    runs: Annotated[int, Field(ge=1, le=10_000)] = 1


class Spec(Node):
    """A whole `.mdl` file: data only (its source text stays with whoever read it)."""

    blocks: tuple[Block, ...] = ()
    network: tuple[Stage, ...] = Field(min_length=1)
    loss: Loss = MSE()
    optimizer: Optimizer = Sgd()
    schedule: Schedule = Schedule()
    train: Train = Train()
    data: Data = DiskData()
    sweep: Sweep | None = None
    source: str | None = Field(default=None, exclude=True, repr=False)
    """The file the spec was read from: relative data paths are resolved against it."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        return _content(self) == _content(other)

    def __hash__(self) -> int:
        return hash(tuple(_content(self).values()))


def _content(spec: Spec) -> dict[str, Any]:
    """Every field that says what the spec means: all but its span and its file name."""
    return {n: getattr(spec, n) for n in type(spec).model_fields if n not in ("span", "source")}


def add_layer_word(word: type[LayerWord]) -> None:
    """Make a new layer word known to the language: the same as `@LAYERS.register` on its
    class (kept for plug-ins written before the decorator). Its compiler record is
    `minidl.compiler.words.LAYERS[kind] = LayerEntry(...)`."""
    LAYERS.register(word)


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a `Spec`, every registered word in it (`--emit schema`)."""
    return Spec.model_json_schema(schema_generator=WordSchema)
