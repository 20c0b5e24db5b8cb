"""What reading CSV files gives: the sets, their encoding, labels or value statistics,
and the notes of what was filled or left out; the pieces both readers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from minidl.data.dataset import Dataset
from minidl.data.encoding import Encoding
from minidl.data.errors import DataError
from minidl.data.labels import Labels
from minidl.data.normalize import NormalizeKind, Normalizer
from minidl.data.table import Table

__all__ = [
    "CsvSets",
    "DataNotes",
    "MissingKind",
    "check_classes",
    "class_targets",
    "fit_inputs",
    "value_sets",
]

MissingKind = Literal["impute", "drop", "error"]


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
) -> CsvSets:
    """Regression sets: inputs and targets normalised with the train rows' statistics
    (one-hot inputs are left as they are)."""
    normalizer = fit_inputs(normalize, inputs, encoding)
    target_normalizer = Normalizer(normalize).fit(values)
    train = Dataset(normalizer.apply(inputs), target_normalizer.apply(values))
    test = None
    if test_inputs is not None and test_values is not None:
        test = Dataset(normalizer.apply(test_inputs), target_normalizer.apply(test_values))
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
    )


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
    count = len(labels.classes)
    if outputs == 1 and count != 2:
        raise DataError(
            table.path,
            0,
            "E315",
            f"one output needs two classes, but `{table.target.name}` has {count}",
            f"end the network with `Linear ->{count}` and use `loss CrossEntropy`, or, for "
            "values to regress, `loss L1` or `loss Huber`",
        )
    if outputs > 1 and count > outputs:
        raise DataError(
            table.path,
            0,
            "E316",
            f"the network gives {outputs} outputs, but `{table.target.name}` has {count} classes",
            f"end the network with `Linear ->{count}`",
        )


def class_targets(indices: Tensor, outputs: int) -> Tensor:
    """Class indices as targets: 0/1 values for one output, one-hot rows for several."""
    if outputs == 1:
        return indices.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(indices, outputs).to(torch.float64)
