"""v1's entry points, `load_csv` and `one_hot_targets`, over the new reader.

They keep the compiler and `--emit python` scripts working until these move to
`read_csv` and `encode_labels`; then this module goes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from minidl.data.dataset import Dataset
from minidl.data.reader import read_csv
from minidl.data.records import find_record, is_number

__all__ = ["load_csv", "one_hot_targets"]


def load_csv(path: Path, target: str) -> Dataset:
    """A CSV file's features and numeric target `(N, 1)`, float64; `DataError` if unusable."""
    table = read_csv(path, target)
    column = table.target
    if column.numbers is None:
        text = next(t for t in column.texts if not is_number(t))
        row = int((column.codes == column.texts.index(text)).nonzero()[0])
        raise table.record(row).error(
            column.position,
            "E303",
            f"`{text}` is not a number",
            "this target needs numbers",
            table.path,
        )
    return Dataset(table.inputs, column.values().unsqueeze(1))


def one_hot_targets(data: Dataset, classes: int, path: Path) -> Dataset:
    """Turn a column of class indices 0..classes-1 into one-hot targets `(N, classes)`."""
    labels = data.targets.squeeze(1)
    valid = (labels == labels.round()) & (labels >= 0) & (labels < classes)
    if not bool(valid.all()):
        bad = int((~valid).nonzero()[0])
        raise find_record(path, bad).error(
            None,
            "E303",
            f"with {classes} outputs the target is a class index 0..{classes - 1}, "
            f"got {float(labels[bad]):g}",
            "end the network with `Linear ->1` for a numeric target",
            str(path),
        )
    return Dataset(
        data.inputs, torch.nn.functional.one_hot(labels.long(), classes).to(data.targets.dtype)
    )
