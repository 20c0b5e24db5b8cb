"""Class labels: the train file's distinct targets in sorted order, and each row's class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from minidl.data.table import Table

__all__ = ["Description", "Label", "Labels", "describe_table", "encode_labels"]

Label = int | float | str
"""A class as the data writes it: a number (an int when whole) or a text label."""


@dataclass(frozen=True)
class Labels:
    """The classes in sorted order and the class index of every train (and test) row.

    With one output the compiler needs exactly two classes: then index 1, the second in
    sorted order, is the class that a prediction of 1 means.
    """

    classes: tuple[Label, ...]
    train: Tensor
    test: Tensor | None = None

    def one_hot(self, indices: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
        """Class indices `(N,)` as one-hot rows `(N, classes)`."""
        return torch.nn.functional.one_hot(indices, len(self.classes)).to(dtype)


def encode_labels(train: Table, test: Table | None = None) -> Labels:
    """The classes of `train`'s target (numbers by value, text by string order), and both
    tables' targets as class indices `(N,)` int64.

    Numbers compare by value (`1` and `1.0` are one class) when both targets are numeric,
    else the labels compare as written. A test label that `train` lacks is a `DataError`
    (E312) at its line and column in the test file.
    """
    by_value = train.target.numbers is not None and (
        test is None or test.target.numbers is not None
    )
    keys = _keys(train, by_value)
    present = torch.bincount(train.target.codes, minlength=len(keys)).tolist()
    used = {key for key, count in zip(keys, present, strict=True) if count}
    classes = sorted(used, key=_order)  # all numbers or all text
    index: dict[float | str, int] = {key: position for position, key in enumerate(classes)}
    encoded_test = None
    if test is not None:
        test_keys = _keys(test, by_value)
        _check_known(train, test, test_keys, index)
        encoded_test = _encode(test, test_keys, index)
    return Labels(tuple(_label(c) for c in classes), _encode(train, keys, index), encoded_test)


@dataclass(frozen=True)
class Description:
    """What a CSV file holds: rows, feature names, target name, and each class's row count."""

    path: str
    rows: int
    features: tuple[str, ...]
    target: str
    classes: tuple[tuple[Label, int], ...]


def describe_table(table: Table) -> Description:
    """Rows, features and classes with their counts, for the summary."""
    labels = encode_labels(table)
    counts = torch.bincount(labels.train, minlength=len(labels.classes)).tolist()
    classes = tuple(zip(labels.classes, counts, strict=True))
    return Description(table.path, len(table), table.features, table.target.name, classes)


def _keys(table: Table, by_value: bool) -> Sequence[float | str]:
    numbers = table.target.numbers
    return numbers if by_value and numbers is not None else table.target.texts


def _check_known(
    train: Table, test: Table, keys: Sequence[float | str], index: dict[float | str, int]
) -> None:
    unknown = [code for code, key in enumerate(keys) if key not in index]
    rows = torch.isin(test.target.codes, torch.tensor(unknown, dtype=torch.int64)).nonzero()
    if len(rows) == 0:
        return
    row = int(rows[0])
    label = test.target.texts[int(test.target.codes[row])]
    shown = [f"`{_label(key)}`" for key in list(index)[:10]]
    known = ", ".join(shown) + (f" and {len(index) - 10} more" if len(index) > 10 else "")
    message = f"the label `{label}` is not among the train file's labels"
    help = f"the labels of {train.path} are {known}"
    if train.path == test.path:  # a seeded split of one file: its rows, not two files
        message = f"the label `{label}` of this test row is in no train row of the split"
        help = (
            f"the split's train rows have the labels {known}: add rows of label `{label}`, "
            "or give a larger `split`"
        )
    raise test.record(row).error(test.target.position, "E312", message, help, test.path)


def _encode(table: Table, keys: Sequence[float | str], index: dict[float | str, int]) -> Tensor:
    lookup = torch.tensor([index.get(key, -1) for key in keys], dtype=torch.int64)
    return lookup[table.target.codes]


def _order(key: float | str) -> tuple[float, str]:
    return (key, "") if isinstance(key, float) else (0.0, key)


def _label(key: float | str) -> Label:
    return int(key) if isinstance(key, float) and key.is_integer() else key
