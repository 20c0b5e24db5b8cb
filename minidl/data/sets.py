"""What reading CSV files gives: the sets, their encoding, labels or value statistics,
and the notes of what was filled or left out; the pieces both readers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from minidl.data.dataset import Dataset, held_out
from minidl.data.encoding import Encoding
from minidl.data.errors import DataError
from minidl.data.labels import Labels
from minidl.data.normalize import NormalizeKind, Normalizer
from minidl.data.table import Table
from minidl.data.task import class_count_fault

__all__ = [
    "CsvSets",
    "DataNotes",
    "Held",
    "MissingKind",
    "check_classes",
    "class_sets",
    "class_targets",
    "fit_inputs",
    "held_rows",
    "hold_out",
    "value_sets",
]

MissingKind = Literal["impute", "drop", "error"]

Held = tuple[Tensor, Tensor]
"""The training rows kept for training and those `validation=` holds out (row indices)."""


@dataclass
class DataNotes:
    """What reading filled in or left out: cells filled per column (train and test), rows
    left out (`missing=drop`, or a missing target), test cells of an unseen category."""

    filled: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    no_target: int = 0
    unseen: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CsvSets:
    """The sets, and what prediction needs of them: the feature encoding, the class labels
    (None for values), the normaliser of the inputs and, for values, of the targets."""

    train: Dataset
    test: Dataset | None
    encoding: Encoding
    labels: Labels | None
    normalizer: Normalizer
    targets: tuple[str, ...]
    target_normalizer: Normalizer = field(default_factory=Normalizer)
    notes: DataNotes = field(default_factory=DataNotes)
    raw_inputs: Tensor | None = None
    """The train rows' encoded inputs before normalisation."""
    validation: Dataset | None = None
    """The rows `validation=` held out of the training rows (never trained on)."""

    @property
    def regress(self) -> bool:
        """Whether the targets are values to predict (regression)."""
        return self.labels is None

    @property
    def target_scale(self) -> Tensor | None:
        """For values: one normalised unit per target column on its own scale (`fit`'s
        `target_scale`); None for classes."""
        if not self.regress:
            return None
        scale = self.target_normalizer.scale
        return torch.ones(len(self.targets), dtype=torch.float64) if scale is None else scale


def value_sets(
    inputs: Tensor,
    values: Tensor,
    test_inputs: Tensor | None,
    test_values: Tensor | None,
    encoding: Encoding,
    targets: tuple[str, ...],
    normalize: NormalizeKind,
    notes: DataNotes | None = None,
    held: Held | None = None,
) -> CsvSets:
    """Regression sets: inputs and targets normalised with the train rows' statistics
    (one-hot inputs are left as they are); with `held`, the rows held out for validation
    are taken out of the training rows first, and normalised alike."""
    inputs, values, val = hold_out(inputs, values, held)
    normalizer = fit_inputs(normalize, inputs, encoding)
    target_normalizer = Normalizer(normalize).fit(values)
    train = Dataset(normalizer.apply(inputs), target_normalizer.apply(values))
    test = None
    if test_inputs is not None and test_values is not None:
        test = Dataset(normalizer.apply(test_inputs), target_normalizer.apply(test_values))
    validation = None
    if val is not None:
        validation = Dataset(normalizer.apply(val[0]), target_normalizer.apply(val[1]))
    return CsvSets(
        train,
        test,
        encoding,
        None,
        normalizer,
        targets,
        target_normalizer,
        notes or DataNotes(),
        inputs,
        validation,
    )


def held_rows(
    rows: int, fraction: float | None, generator: torch.Generator, path: str
) -> Held | None:
    """The seeded hold-out of `validation=` (None without one), drawn after the split; a
    fraction that leaves a part empty is E262."""
    if fraction is None:
        return None
    try:
        return held_out(rows, fraction, generator)
    except ValueError as caught:
        raise DataError(path, 0, "E262", str(caught), "use a fraction nearer 0.2") from None


def hold_out(
    inputs: Tensor, targets: Tensor, held: Held | None
) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]:
    """The rows trained on, and (with `held`) the inputs and targets held out."""
    if held is None:
        return inputs, targets, None
    kept, out = held
    return inputs[kept], targets[kept], (inputs[out], targets[out])


def class_sets(
    inputs: Tensor,
    targets: Tensor,
    test: tuple[Tensor, Tensor] | None,
    normalizer: Callable[[Tensor], Normalizer],
    held: Held | None,
) -> tuple[Dataset, Dataset | None, Dataset | None, Normalizer, Tensor]:
    """Classification sets: the train, test and validation sets, normalised with the
    statistics (`normalizer`) of the rows trained on, the normaliser and those raw rows."""
    inputs, targets, val = hold_out(inputs, targets, held)
    fitted = normalizer(inputs)
    train = Dataset(fitted.apply(inputs), targets)
    test_set = None if test is None else Dataset(fitted.apply(test[0]), test[1])
    validation = None if val is None else Dataset(fitted.apply(val[0]), val[1])
    return train, test_set, validation, fitted, inputs


def fit_inputs(normalize: NormalizeKind, inputs: Tensor, encoding: Encoding) -> Normalizer:
    """The inputs' normaliser from the train rows; one-hot inputs keep shift 0, scale 1."""
    normalizer = Normalizer(normalize).fit(inputs)
    if normalizer.shift is not None and normalizer.scale is not None and encoding.categorical:
        mask = torch.from_numpy(encoding.one_hot_mask())
        normalizer.shift[mask] = 0.0
        normalizer.scale[mask] = 1.0
    return normalizer


def check_classes(labels: Labels, outputs: int, table: Table) -> None:
    """E315 / E316: classes that one output, or the network's outputs, cannot give."""
    fault = class_count_fault(table.target.name, len(labels.classes), outputs)
    if fault is not None:
        raise DataError(table.path, 0, *fault)


def class_targets(indices: Tensor, outputs: int) -> Tensor:
    """Class indices as targets: 0/1 values for one output, one-hot rows for several."""
    if outputs == 1:
        return indices.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(indices, outputs).to(torch.float64)
