"""One validated model per file of a run folder: what minidl writes, and nothing it cannot use.

Every file is read in two steps: its bytes within bounds (size, and JSON nested no deeper than
minidl writes, checked BEFORE decoding, so that no file can drive the decoder into Python's
recursion limit), then a pydantic model (types, ranges, lengths). Whatever fails is one
`RunFolderError` naming the file and the first thing wrong, which the command line prints
as one line, exit 2. How the files agree with each other and with `spec.mdl` is checked in
`minidl.runs.folder_checks`.

Extending a file: add one optional field with a default to its model (`val_loss: float |
None = None`); older folders, which lack it, still read. Keys that a model does not name are
kept as they are and ignored (`extra="allow"`): a newer minidl of the same `format_version`
may add optional keys, and this one reads its folders. A change that older readers would
misread takes a new `format_version`, which older readers refuse ("upgrade minidl").
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from minidl.runs.run_folder import (
    FORMAT_VERSION,
    HISTORY_FIELDS,
    MAX_JSON_BYTES,
    RunFolderError,
    bounded_json,
    check_version,
)
from minidl.train import EpochRecord

__all__ = [
    "DataFile",
    "Figures",
    "MetricsFile",
    "read_history",
    "read_model",
    "validated",
]


Model = TypeVar("Model", bound=BaseModel)


def read_model(path: Path, model: type[Model]) -> Model:
    """Read the JSON file `path` as `model`: a `RunFolderError` naming it when it is
    missing, not JSON, of a newer format, or not what the model says."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise RunFolderError(path, f"damaged: {size:,} bytes, more than minidl writes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as caught:
        raise RunFolderError(path, f"cannot be read ({caught})") from None
    return validated(path, bounded_json(text, path), model)


def validated(path: Path, value: Any, model: type[Model]) -> Model:
    """`value` (decoded JSON) as `model`, its format version checked first."""
    if not isinstance(value, dict):
        raise RunFolderError(path, "damaged: not a JSON object")
    check_version(path, value)
    try:
        return model.model_validate(value)
    except ValidationError as caught:
        raise RunFolderError(path, f"damaged: {_first(caught)}") from None


def _first(caught: ValidationError) -> str:
    error = caught.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).replace("Value error, ", "")
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        message = "should be a JSON object"
    return f"`{where}`: {message}" if where else message


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="allow")

    format_version: int = Field(FORMAT_VERSION, ge=1)


Percent = Annotated[float, Field(ge=0, le=100)]


class Figures(BaseModel):
    """One epoch's figures, as `metrics.json`'s `final`, a checkpoint's history, a line of
    `history.csv`. A figure without a value (no test set, NaN) is null."""

    model_config = ConfigDict(frozen=True, strict=True, extra="allow")

    epoch: int = Field(ge=1)
    loss: float | None
    train_loss: float | None
    test_loss: float | None
    train_error: Percent | None = None
    test_error: Percent | None = None
    train_rmse: Annotated[float, Field(ge=0)] | None = None
    test_rmse: Annotated[float, Field(ge=0)] | None = None
    train_r2: float | None = None
    test_r2: float | None = None
    val_loss: float | None = None
    val_error: Percent | None = None
    val_rmse: Annotated[float, Field(ge=0)] | None = None
    val_r2: float | None = None

    def record(self) -> EpochRecord:
        """The figures as the training loop's record (null as NaN where the record has
        the figure, as `EpochRecord.as_dict` wrote it)."""
        given = self.model_fields_set
        values = {
            name: (math.nan if value is None and name in given else value)
            for name in FIGURE_NAMES
            for value in [getattr(self, name)]
        }
        if values["train_error"] is None:
            values["train_error"] = values["test_error"] = math.nan
        return EpochRecord(**values)  # type: ignore[arg-type]


FIGURE_NAMES = (
    "epoch",
    "loss",
    "train_loss",
    "test_loss",
    "train_error",
    "test_error",
    "train_rmse",
    "test_rmse",
    "train_r2",
    "test_r2",
    "val_loss",
    "val_error",
    "val_rmse",
    "val_r2",
)


class MetricsFile(_File):
    """`metrics.json`: the run's status and its last epoch's figures."""

    status: Literal["completed", "interrupted", "diverged"]
    epochs_completed: int = Field(ge=0)
    final: Figures | None
    seed: int | None = Field(None, ge=0)
    backend: str | None = None
    device: str | None = None
    dtype: str | None = None
    wall_time_s: float | None = Field(None, ge=0)
    versions: dict[str, str] | None = None
    best_epoch: int | None = Field(None, ge=1)
    """With early stopping: the epoch whose weights and figures the run kept."""
    stopped_epoch: int | None = Field(None, ge=1)
    """With early stopping: the last epoch trained."""

    @model_validator(mode="after")
    def _final_is_the_kept_epoch(self) -> MetricsFile:
        last = 0 if self.final is None else self.final.epoch
        kept = self.epochs_completed if self.best_epoch is None else self.best_epoch
        if last != kept:
            which = "`epochs_completed`" if self.best_epoch is None else "`best_epoch`"
            raise ValueError(f"`final` is epoch {last}, but {which} is {kept}")
        if self.best_epoch is not None and self.best_epoch > self.epochs_completed:
            raise ValueError(
                f"`best_epoch` {self.best_epoch} is after the last epoch, {self.epochs_completed}"
            )
        return self


Label = Annotated[str, Field(min_length=1)] | int | float
Name = Annotated[str, Field(min_length=1)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="allow")


class Normalization(_Part):
    """`normalize` (the inputs') and `target_normalize` (values to predict): a kind and, but
    for `none`, a shift and a non-zero scale per column."""

    kind: Literal["none", "standard", "minmax"]
    shift: list[Finite] | None = None
    scale: list[Finite] | None = None

    @model_validator(mode="after")
    def _fitted(self) -> Normalization:
        if self.kind == "none":
            return self
        if self.shift is None or self.scale is None or len(self.shift) != len(self.scale):
            raise ValueError(f"`{self.kind}` needs a `shift` and a `scale` of one length")
        if 0 in self.scale:
            raise ValueError("`scale` holds 0: a damaged statistic")
        return self

    def width(self) -> int | None:
        return None if self.shift is None else len(self.shift)


class NumericColumn(_Part):
    """A column of numbers in `encoding`: its train mean fills its gaps."""

    name: Name
    kind: Literal["numeric"]
    mean: Finite


class CategoricalColumn(_Part):
    """A column of categories in `encoding`: one input each (and one for gaps)."""

    name: Name
    kind: Literal["categorical"]
    categories: list[Label]
    by_value: bool = False
    missing: bool = False


Column = Annotated[NumericColumn | CategoricalColumn, Field(discriminator="kind")]


class DataFile(_File):
    """`data.json`: what predicting needs without the training data."""

    features: list[Annotated[str, Field(min_length=1)]]
    """The feature columns; empty only for a run trained on image folders (`image`)."""
    image: list[Annotated[int, Field(ge=1, le=1_000_000)]] | None = Field(
        None, min_length=3, max_length=3
    )
    """`[C, H, W]` when each sample is an image."""
    target: str
    """The target column; empty only for image folders, whose classes are subfolders."""
    outputs: int = Field(ge=1, le=1_000_000)
    classes: list[Label] | None = Field(None, min_length=2)
    normalize: Normalization = Field(default_factory=lambda: Normalization(kind="none"))
    spec_source: str | None = Field(None, min_length=1)
    targets: list[Name] | None = Field(None, min_length=1)
    """A table's target columns (v3; `target` is the first)."""
    task: Literal["classify", "regress"] | None = None
    encoding: list[Column] | None = None
    """How a table's columns become inputs (v3); None for the disk and v2 files."""
    target_normalize: Normalization | None = None

    @model_validator(mode="after")
    def _lengths_agree(self) -> DataFile:
        if self.image is None and not self.features:
            raise ValueError("`features` is empty")
        if self.image is None and not self.target:
            raise ValueError("`target` is empty")
        if len(set(self.features)) != len(self.features):
            raise ValueError("`features` names a column twice")
        classes = self.classes
        if classes is not None:
            if len({_key(c) for c in classes}) != len(classes):
                raise ValueError("`classes` names a class twice")
            if self.outputs == 1 and len(classes) != 2:
                raise ValueError(f"{len(classes)} classes for a network with one output")
            if self.outputs > 1 and len(classes) > self.outputs:
                raise ValueError(f"{len(classes)} classes for a network of {self.outputs} outputs")
        if self.encoding is not None:
            if [column.name for column in self.encoding] != self.features:
                raise ValueError("`encoding` does not list the `features`")
            if self.targets is not None and self.targets[0] != self.target:
                raise ValueError("`targets` does not start with the `target`")
        inputs = len(self.features) if self.encoding is None else _width(self.encoding)
        if self.normalize.width() not in (None, inputs):
            raise ValueError(f"`normalize` is not {inputs} numbers, one per input")
        values = self.target_normalize.width() if self.target_normalize is not None else None
        if values not in (None, len(self.targets or [self.target])):
            raise ValueError("`target_normalize` is not one number per target")
        return self


def _width(encoding: list[NumericColumn | CategoricalColumn]) -> int:
    """The inputs an encoding makes: one a number, one a category (and one for gaps)."""
    return sum(
        1 if isinstance(c, NumericColumn) else len(c.categories) + int(c.missing) for c in encoding
    )


def _key(label: str | int | float) -> tuple[str, object]:
    return ("text", label) if isinstance(label, str) else ("number", float(label))


def read_history(path: Path) -> list[EpochRecord]:
    """`history.csv`: its header, then one line per epoch 1, 2, ..., every figure a number
    (NaN where there is no test set)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as caught:
        raise RunFolderError(path, f"cannot be read ({caught})") from None
    if len(text) > MAX_JSON_BYTES:
        raise RunFolderError(path, f"damaged: {len(text):,} characters, more than minidl writes")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as caught:
        raise RunFolderError(path, f"damaged: {caught}") from None
    header = rows[0] if rows else []
    if header[:4] != HISTORY_FIELDS[:4] or not set(header) <= set(FIGURE_NAMES):
        raise RunFolderError(path, "damaged: the header is not " + ",".join(HISTORY_FIELDS))
    records = []
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise RunFolderError(path, f"damaged: line {number + 1} has {len(row)} cells")
        try:
            epoch = int(row[0]) if len(row[0]) < 10 else -1
            figures = {name: float(cell) for name, cell in zip(header[1:], row[1:], strict=True)}
        except ValueError:
            raise RunFolderError(
                path, f"damaged: line {number + 1} holds a cell that is not a number"
            ) from None
        if epoch != number:
            raise RunFolderError(path, f"damaged: line {number + 1} is not epoch {number}")
        records.append(EpochRecord(epoch, **figures))
    return records
