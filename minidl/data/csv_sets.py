"""Train and test sets from CSV files: read, split, labelled, normalised.

The one place that turns files into the tensors a run trains on; the compiler calls it for
a spec, and the script of `--emit python` calls it too, so both see the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from minidl.data.dataset import Dataset, held_out
from minidl.data.errors import DataError
from minidl.data.labels import Labels, encode_labels
from minidl.data.normalize import NormalizeKind, Normalizer
from minidl.data.reader import read_csv
from minidl.data.table import Table, split

__all__ = ["CsvSets", "csv_datasets"]


@dataclass(frozen=True)
class CsvSets:
    """The sets, and what prediction needs of them: the train table as read (its feature
    names, its raw inputs), the class labels (None for values), the normaliser."""

    train: Dataset
    test: Dataset | None
    table: Table
    labels: Labels | None
    normalizer: Normalizer
    validation: Dataset | None = None
    """The rows `validation=` held out of the training rows (never trained on)."""


def csv_datasets(
    train_path: Path | str,
    target: str,
    *,
    outputs: int,
    classes: bool,
    generator: torch.Generator,
    test_path: Path | str | None = None,
    split_fraction: float | None = None,
    normalize: NormalizeKind = "none",
    validation: float | None = None,
) -> CsvSets:
    """Read `train_path` (and `test_path`, or a seeded `split_fraction` of the train file),
    for a network of `outputs` outputs.

    The targets are classes when `classes` (a loss over classes), when there are several
    outputs, or when the target column holds text: the train file's labels in sorted order,
    one-hot for several outputs, 0/1 for one (which needs exactly two labels, E315).
    Otherwise they are the column's values. Features are normalised with the train rows'
    statistics. With `validation`, that share of the training rows (after the split) is held
    out by a seeded shuffle, after the labels are read and before the normaliser learns its
    statistics from the rows left for training. Faults are `DataError`s.
    """
    table = read_csv(train_path, target)
    test_table = read_csv(test_path, target) if test_path is not None else None
    if split_fraction is not None:
        table, test_table = split(table, split_fraction, generator)
    labels: Labels | None = None
    if classes or outputs > 1 or table.target.numbers is None:
        labels = encode_labels(table, test_table)
        _check_classes(labels, outputs, table)
        train_targets = _targets(labels.train, outputs)
        test_targets = None if labels.test is None else _targets(labels.test, outputs)
    else:
        train_targets = table.target.values().unsqueeze(1)
        test_targets = None if test_table is None else test_table.target.values().unsqueeze(1)
    inputs, held = table.inputs, None
    if validation is not None:
        try:
            kept, out = held_out(len(table), validation, generator)
        except ValueError as caught:
            raise DataError(
                table.path, 0, "E262", str(caught), "use a fraction nearer 0.2"
            ) from None
        held = (inputs[out], train_targets[out])
        inputs, train_targets = inputs[kept], train_targets[kept]
    normalizer = Normalizer(normalize).fit(inputs)
    train = Dataset(normalizer.apply(inputs), train_targets)
    test = None
    if test_table is not None and test_targets is not None:
        test = Dataset(normalizer.apply(test_table.inputs), test_targets)
    val = None if held is None else Dataset(normalizer.apply(held[0]), held[1])
    return CsvSets(train, test, table, labels, normalizer, val)


def _check_classes(labels: Labels, outputs: int, table: Table) -> None:
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


def _targets(indices: torch.Tensor, outputs: int) -> torch.Tensor:
    """Class indices as targets: 0/1 values for one output, one-hot rows for several."""
    if outputs == 1:
        return indices.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(indices, outputs).to(torch.float64)
