"""A CSV file as read: features as one tensor, the target column, and a seeded split."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from minidl.data.errors import DataError
from minidl.data.records import Record, TargetKind, find_record

__all__ = ["Column", "Table", "split", "split_rows"]


@dataclass(frozen=True)
class Column:
    """The target column, as distinct values and one code per row.

    `position` is the column's place in the file (0-based); `texts` are the distinct cells
    in order of first appearance, as written (blanks around them removed) or, for numbers,
    in their shortest form (`1` for 1.0); `numbers` are their values when every cell is a
    number, else None; `codes[i]` is the index in `texts` of row i's cell. A million rows
    of a few labels cost a million small integers, and labels are sorted and encoded once
    per distinct value.
    """

    name: str
    position: int
    texts: tuple[str, ...]
    numbers: tuple[float, ...] | None
    codes: Tensor

    @property
    def kind(self) -> TargetKind:
        """`number` when every cell is a number, else `text`."""
        return "text" if self.numbers is None else "number"

    def values(self) -> Tensor:
        """The cells as numbers, float64 `(N,)`; a `ValueError` for a text column."""
        if self.numbers is None:
            raise ValueError(f"column `{self.name}` holds text, not numbers")
        return torch.tensor(self.numbers, dtype=torch.float64)[self.codes]


@dataclass(frozen=True)
class Table:
    """The rows of a CSV file: `inputs` `(N, D)` in the file's column order, the target.

    `rows[i]` is the file's data row (0-based) behind row i when the table is a part of the
    file (see `split`); None when it is the whole file, in order.
    """

    path: str
    features: tuple[str, ...]
    inputs: Tensor
    target: Column
    rows: Tensor | None = None

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def file_row(self, row: int) -> int:
        """The file's data row (0-based) behind this table's row `row`."""
        return row if self.rows is None else int(self.rows[row])

    def record(self, row: int) -> Record:
        """The file's record behind row `row`, read again (for the place of an error)."""
        return find_record(Path(self.path), self.file_row(row))

    def take(self, rows: Tensor) -> Table:
        """The table of the rows `rows` (indices into this table), in that order."""
        file_rows = rows if self.rows is None else self.rows[rows]
        target = replace(self.target, codes=self.target.codes[rows])
        return Table(self.path, self.features, self.inputs[rows], target, file_rows)


def split(table: Table, fraction: float, generator: torch.Generator) -> tuple[Table, Table]:
    """A seeded shuffle of `table`: the first `round(fraction * N)` rows train, the rest test.

    The order is one `torch.randperm` drawn from `generator`; each part keeps the file's
    order. Raises `DataError` (line 0) when `fraction` is outside (0, 1) (E313) or a part
    would be empty (E314).
    """
    train, test = split_rows(table.path, len(table), fraction, generator)
    return table.take(train), table.take(test)


def split_rows(
    path: str, rows: int, fraction: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """The row indices (sorted) of a seeded split of `rows` rows; see `split`."""
    if not 0 < fraction < 1:
        raise DataError(
            path,
            0,
            "E313",
            f"split={fraction:g} is not a fraction between 0 and 1",
            "write the share of rows kept for training, such as `split=0.8`",
        )
    train_rows = round(fraction * rows)
    if train_rows in (0, rows):
        empty = "training" if train_rows == 0 else "testing"
        raise DataError(
            path,
            0,
            "E314",
            f"split={fraction:g} of {rows} rows leaves no row for {empty}",
            "use a fraction nearer 0.5, or give a `test=` file",
        )
    order = torch.randperm(rows, generator=generator)
    train, _ = order[:train_rows].sort()
    test, _ = order[train_rows:].sort()
    return train, test
