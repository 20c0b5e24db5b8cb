"""The statement words of MDL, one entry each: losses, optimisers, the schedule, training,
data sources. Each option's type, range and default is its field; its meaning, the field's
description; the word's meaning, the class docstring's first line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from minidl.lang.lookup import WordTable
from minidl.lang.nodes import MAX_WIDTH, Node

__all__ = [
    "BCE",
    "DATA_SOURCES",
    "DEFAULT_RADIUS",
    "L1",
    "LOSSES",
    "MSE",
    "OPTIMIZERS",
    "Adam",
    "AdamW",
    "CrossEntropy",
    "CsvData",
    "DiskData",
    "Huber",
    "ImagesData",
    "Problem",
    "Schedule",
    "SeededData",
    "Sgd",
    "Train",
    "validation_field",
]

DEFAULT_RADIUS = 0.3989422804014327
"""1/sqrt(2*pi): the disk that covers half of the unit square (classes balanced)."""

Problem = tuple[str, str, str | None]

Side = Annotated[int, Field(ge=1, le=100_000)]
ImageShape = tuple[Side, Side, Side]
"""An image's channels, height and width."""
"""A mistake across options: the option to point at, the message, and a help line."""

Reduction = Literal["sum", "mean"]
Targets = Literal["values", "classes", "binary"]
"""What a loss compares the outputs with: values (regression), K classes (one output each),
or two classes with one output (the contract: MSE and BCE need two labels)."""
_REDUCTION = "`sum` adds the per-sample losses of a batch, `mean` averages them"


# -- losses (`loss NAME [options]`) ------------------------------------------------------

LOSSES: WordTable[Node] = WordTable("loss", "name")
"""Every loss by name; a loss joins with `@LOSSES.register`."""


@LOSSES.register
class MSE(Node):
    """Mean squared error over the output features, per sample."""

    targets: ClassVar[Targets] = "binary"
    name: Literal["MSE"] = "MSE"
    applies: ClassVar[str | None] = None
    reduction: Reduction = Field("sum", description=_REDUCTION)


@LOSSES.register
class L1(Node):
    """Mean absolute error over the output features, per sample."""

    targets: ClassVar[Targets] = "values"
    name: Literal["L1"] = "L1"
    applies: ClassVar[str | None] = None
    reduction: Reduction = Field("sum", description=_REDUCTION)


@LOSSES.register
class Huber(Node):
    """Huber loss (quadratic within delta, linear beyond), mean over the output features."""

    targets: ClassVar[Targets] = "values"
    name: Literal["Huber"] = "Huber"
    applies: ClassVar[str | None] = None
    reduction: Reduction = Field("sum", description=_REDUCTION)
    delta: float = Field(1.0, gt=0, allow_inf_nan=False, description="where it turns linear")


@LOSSES.register
class CrossEntropy(Node):
    """Softmax cross-entropy of K >= 2 logits against a class; predicts the arg-max."""

    targets: ClassVar[Targets] = "classes"
    applies: ClassVar[str | None] = "Softmax"
    """The stage the loss applies to the logits itself (a warning when the network ends so)."""
    name: Literal["CrossEntropy"] = "CrossEntropy"
    reduction: Reduction = Field("sum", description=_REDUCTION)


@LOSSES.register
class BCE(Node):
    """Binary cross-entropy of one logit against 0 or 1; predicts 1 when the logit > 0."""

    targets: ClassVar[Targets] = "binary"
    name: Literal["BCE"] = "BCE"
    applies: ClassVar[str | None] = "Sigmoid"
    reduction: Reduction = Field("sum", description=_REDUCTION)


# -- optimisers (`sgd ...`, `adam ...`, `adamw ...`) ---------------------------------------

OPTIMIZERS: WordTable[Node] = WordTable("optimiser", "kind")
"""Every optimiser by its statement word; one joins with `@OPTIMIZERS.register`."""

_LR = "the learning rate"
_BATCH = "samples per mini-batch"
Beta = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]


@OPTIMIZERS.register
class Sgd(Node):
    """Mini-batch SGD, as torch.optim.SGD: `p <- p - lr * g`."""

    kind: Literal["sgd"] = "sgd"
    lr: float = Field(0.001, gt=0, allow_inf_nan=False, description=_LR)
    batch: int = Field(16, ge=1, le=MAX_WIDTH, description=_BATCH)
    momentum: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False, description="momentum factor")
    nesterov: bool = Field(False, description="Nesterov momentum (needs momentum > 0)")
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False, description="L2 penalty")

    def problems(self) -> list[Problem]:
        """Mistakes that involve two options."""
        if self.nesterov and self.momentum == 0:
            return [("nesterov", "nesterov=true needs momentum", "add `momentum=0.9`")]
        return []


@OPTIMIZERS.register
class Adam(Node):
    """Adam, as torch.optim.Adam."""

    kind: Literal["adam"] = "adam"
    lr: float = Field(0.001, gt=0, allow_inf_nan=False, description=_LR)
    batch: int = Field(16, ge=1, le=MAX_WIDTH, description=_BATCH)
    betas: tuple[Beta, Beta] = Field((0.9, 0.999), description="decay of the moment averages")
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False, description="added to the denominator")
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False, description="L2 penalty")


@OPTIMIZERS.register
class AdamW(Node):
    """AdamW (decoupled weight decay), as torch.optim.AdamW."""

    kind: Literal["adamw"] = "adamw"
    lr: float = Field(0.001, gt=0, allow_inf_nan=False, description=_LR)
    batch: int = Field(16, ge=1, le=MAX_WIDTH, description=_BATCH)
    betas: tuple[Beta, Beta] = Field((0.9, 0.999), description="decay of the moment averages")
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False, description="added to the denominator")
    weight_decay: float = Field(0.01, ge=0, allow_inf_nan=False, description="decoupled decay")


# -- the schedule, training, data ------------------------------------------------------------


class Schedule(Node):
    """The learning rate of each epoch: constant, cosine annealing, or steps; warm-up first."""

    kind: Literal["constant", "cosine", "step"] = "constant"
    every: int = Field(30, ge=1, le=1_000_000, description="epochs between steps (`step`)")
    gamma: float = Field(0.1, gt=0, allow_inf_nan=False, description="factor at each step")
    warmup: int = Field(0, ge=0, le=1_000_000, description="epochs of linear warm-up")


class Train(Node):
    """How to train: epochs, seed, backend, device, dtype, early stopping."""

    epochs: int = Field(100, ge=1, le=1_000_000, description="passes over the training data")
    seed: int = Field(0, ge=0, lt=2**63, description="seeds weights, data and shuffling")
    backend: Literal["minidl", "torch"] = Field(
        "minidl", description="`torch`: the same run with torch autograd"
    )
    device: Literal["cpu", "cuda"] = Field("cpu", description="where tensors live")
    dtype: Literal["float32", "float64"] = Field("float32", description="floating point type")
    patience: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="stop after this many epochs without a better validation loss; "
        "keep the best epoch's weights (needs `validation=` in `data`)",
    )
    min_delta: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="how much the validation loss must fall to count as better (`patience`; "
        "default 0)",
    )


def validation_field() -> Any:
    """`validation=F`, an option of every data source: the share of the training rows held
    out (a seeded shuffle, after `split`), never trained on, scored each epoch."""
    return Field(
        None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="share of the training rows held out for validation (never trained on)",
    )


DATA_SOURCES: WordTable[Node] = WordTable("data source", "kind")
"""Every data source by its word (`data csv`); one joins with `@DATA_SOURCES.register`."""


class SeededData(Node):
    """Base of a data source drawn from the run's seed, without files: `train` and `test`
    points (each source declares the two fields) with the named `features`, two classes.

    What the checker, the summary and run folders need is here; the compiler's record of the
    source (`minidl.compiler.data.DATA_SOURCES`) draws the points.
    """

    features: ClassVar[tuple[str, ...]]
    """The input columns' names, as `--predict` files and exports name them."""
    target: ClassVar[str] = "label"

    if TYPE_CHECKING:  # each source declares them as fields, with its own limits and meaning
        train: int
        test: int

    def image(self) -> tuple[int, int, int] | None:
        """Seeded points are never images."""
        return None


@DATA_SOURCES.register
class DiskData(SeededData):
    """The seed report's disk: points in [0,1]^2, label 1 inside the centred disk."""

    features: ClassVar[tuple[str, ...]] = ("x1", "x2")
    kind: Literal["disk"] = "disk"
    train: int = Field(1000, ge=1, le=10_000_000, description="training points")
    test: int = Field(1000, ge=1, le=10_000_000, description="test points")
    radius: float = Field(DEFAULT_RADIUS, gt=0, allow_inf_nan=False, description="disk radius")
    validation: float | None = validation_field()


@DATA_SOURCES.register
class CsvData(Node):
    """CSV files with a header; paths relative to the spec file."""

    QUIET_DEFAULTS: ClassVar[tuple[str, ...]] = ("task", "categorical", "ignore", "missing")
    """Options of v3 that the canonical text leaves out at their defaults, so that a v2
    spec prints as it did."""

    kind: Literal["csv"] = "csv"
    train: str = Field(min_length=1, description="the training file")
    test: str | None = Field(None, min_length=1, description="the test file")
    split: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False, description="train fraction of a seeded split"
    )
    target: str | tuple[str, ...] = Field(
        min_length=1, description="the target column, or a list of columns to regress"
    )
    normalize: Literal["none", "standard", "minmax"] = Field(
        "none", description="feature (and regression target) scaling with the train statistics"
    )
    validation: float | None = validation_field()
    task: Literal["auto", "classify", "regress"] = Field(
        "auto", description="`regress`: numbers to predict; `auto`: decided from loss and target"
    )
    categorical: tuple[str, ...] = Field(
        default_factory=tuple, description="columns one-hot encoded even when numeric"
    )
    ignore: tuple[str, ...] = Field(default_factory=tuple, description="columns left out (an id)")
    missing: Literal["impute", "drop", "error"] = Field(
        "impute", description="missing cells: mean or extra category, drop the row, or an error"
    )
    shape: ImageShape | None = Field(
        None, description="each row's features, in file order, as an image [C, H, W]"
    )

    @property
    def targets(self) -> tuple[str, ...]:
        """The target columns, one or several."""
        return (self.target,) if isinstance(self.target, str) else tuple(self.target)

    def problems(self) -> list[Problem]:
        """Mistakes that involve two options."""
        if self.test is not None and self.split is not None:
            return [("split", "give `test` or `split`, not both", "remove one of the two")]
        return []

    def image(self) -> tuple[int, int, int] | None:
        """The image each row is, when `shape` says so."""
        return self.shape


@DATA_SOURCES.register
class ImagesData(Node):
    """Image files (PNG, JPEG) in one subfolder per class; paths relative to the spec file."""

    kind: Literal["images"] = "images"
    train: str = Field(min_length=1, description="the training folder")
    test: str | None = Field(None, min_length=1, description="the test folder")
    split: float | None = Field(
        None, gt=0, lt=1, allow_inf_nan=False, description="train fraction of a seeded split"
    )
    size: Annotated[tuple[Side, Side], Field()] | None = Field(
        None, description="resize every image to [H, W] (default: all must share one size)"
    )
    channels: Literal[1, 3] | None = Field(
        None, description="1: grayscale, 3: RGB (default: as the files are)"
    )
    validation: float | None = validation_field()

    def problems(self) -> list[Problem]:
        """Mistakes that involve two options."""
        if self.test is not None and self.split is not None:
            return [("split", "give `test` or `split`, not both", "remove one of the two")]
        return []

    def image(self) -> tuple[int, int, int] | None:
        """The image each sample is, when `size` and `channels` say it without the files."""
        if self.size is None or self.channels is None:
            return None
        return (self.channels, *self.size)
