"""Train and test sets from CSV files: read, split, encoded, labelled or valued, normalised.

The one place that turns files into the tensors a run trains on; the compiler calls it for
a spec, and the script of `--emit python` calls it too, so both see the same data.

A table of one target, numbers only (v2's tables), is read by the fast numeric reader;
a table with text categories, gaps, ignored columns or several targets by
`minidl.data.tables` with pandas. Both give the same sets for a table both can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from minidl.data.dataset import Dataset
from minidl.data.encoding import Encoding
from minidl.data.errors import DataError
from minidl.data.labels import Labels, encode_labels
from minidl.data.normalize import NormalizeKind, Normalizer
from minidl.data.reader import read_csv
from minidl.data.table import Column, Table, split
from minidl.data.task import LossKind, TaskKind, regresses

__all__ = [
    "CsvSets",
    "DataNotes",
    "LossKind",
    "MissingKind",
    "TaskKind",
    "check_classes",
    "class_targets",
    "csv_datasets",
    "regresses",
]

MissingKind = Literal["impute", "drop", "error"]
Outputs = int | Callable[[int], int]
"""The network's output width, or how it follows from the input width."""


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


def csv_datasets(
    train_path: Path | str,
    target: str | tuple[str, ...],
    *,
    outputs: Outputs,
    loss: LossKind = "mse",
    generator: torch.Generator,
    test_path: Path | str | None = None,
    split_fraction: float | None = None,
    normalize: NormalizeKind = "none",
    task: TaskKind = "auto",
    categorical: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    missing: MissingKind = "impute",
) -> CsvSets:
    """Read `train_path` (and `test_path`, or a seeded `split_fraction` of the train file)
    for a network of `outputs` outputs.

    The targets are values (regression) when `task` says so or, with `auto`, when the
    loss compares values and every target column holds numbers (more than two distinct
    values for MSE) for as many outputs as targets; several targets are values. Otherwise
    they are classes: the train file's labels in sorted order, one-hot for several
    outputs, 0/1 for one (which needs exactly two labels, E315). Faults are `DataError`s.
    """
    targets = (target,) if isinstance(target, str) else tuple(target)
    width_to_outputs = outputs if callable(outputs) else (lambda _: outputs)
    if len(targets) == 1 and not categorical and not ignore:
        try:
            table = read_csv(train_path, targets[0])
            test_table = read_csv(test_path, targets[0]) if test_path is not None else None
        except DataError as caught:
            if caught.code not in ("E303", "E307", "E311"):  # not about a cell's text
                raise
        else:
            return _numeric_sets(
                table, test_table, width_to_outputs, loss, generator, split_fraction, normalize, task
            )
    from minidl.data.tables import table_sets

    return table_sets(
        Path(train_path),
        targets,
        outputs=width_to_outputs,
        loss=loss,
        generator=generator,
        test_path=None if test_path is None else Path(test_path),
        split_fraction=split_fraction,
        normalize=normalize,
        task=task,
        categorical=categorical,
        ignore=ignore,
        missing=missing,
    )


def _numeric_sets(
    table: Table,
    test_table: Table | None,
    outputs: Callable[[int], int],
    loss: LossKind,
    generator: torch.Generator,
    split_fraction: float | None,
    normalize: NormalizeKind,
    task: TaskKind,
) -> CsvSets:
    """v2's tables: numbers only, one target, read by the fast reader."""
    if split_fraction is not None:
        table, test_table = split(table, split_fraction, generator)
    width = outputs(len(table.features))
    column = table.target
    if regresses(task, loss, [_distinct(column)], width):
        _check_values(table, test_table)
        values = table.target.values().unsqueeze(1)
        test_values = None if test_table is None else test_table.target.values().unsqueeze(1)
        return value_sets(
            table.inputs,
            values,
            None if test_table is None else test_table.inputs,
            test_values,
            Encoding.numeric(table.features, table.inputs.mean(dim=0).tolist()),
            (column.name,),
            normalize,
        )
    labels = encode_labels(table, test_table)
    check_classes(labels, width, table)
    train_targets = class_targets(labels.train, width)
    test_targets = None if labels.test is None else class_targets(labels.test, width)
    normalizer = Normalizer(normalize).fit(table.inputs)
    train = Dataset(normalizer.apply(table.inputs), train_targets)
    test = None
    if test_table is not None and test_targets is not None:
        test = Dataset(normalizer.apply(test_table.inputs), test_targets)
    encoding = Encoding.numeric(table.features, table.inputs.mean(dim=0).tolist())
    return CsvSets(
        train, test, encoding, labels, normalizer, (column.name,), raw_inputs=table.inputs
    )


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


def _distinct(column: Column) -> tuple[bool, int]:
    if column.numbers is None:
        return False, len(column.texts)
    used = torch.unique(column.codes).tolist()
    return True, len({column.numbers[code] for code in used})


def _check_values(table: Table, test_table: Table | None) -> None:
    for part in (table, test_table):
        if part is not None and part.target.numbers is None:
            from minidl.data.records import is_number

            texts = part.target.texts
            bad = [i for i, text in enumerate(texts) if not is_number(text)]
            row = int(torch.isin(part.target.codes, torch.tensor(bad)).nonzero()[0])
            raise part.record(row).error(
                part.target.position,
                "E335",
                f"`{texts[int(part.target.codes[row])]}` is not a number to predict "
                f"(column `{part.target.name}`)",
                "write `task=classify` for classes, or fix the cell",
                part.path,
            )


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
