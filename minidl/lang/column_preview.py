"""How a CSV file's columns become the network's inputs, told without torch or pandas:
each feature column's kind (a number, or so many categories), its missing cells, the
input width, and the task. For the summary and editors.

A file up to `PREVIEW_BYTES` is read whole with the `csv` module; of a larger one only
that much is read, and where a column holds categories the width is left unknown (the
categories are counted when training).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from minidl.data.missing import is_missing_text
from minidl.data.records import is_number
from minidl.data.task import LossKind, regresses
from minidl.lang import ir

__all__ = ["ColumnPreview", "TablePreview", "preview_table", "task_line"]


@dataclass(frozen=True)
class ColumnPreview:
    """One feature column: numeric, or its distinct values; and its missing cells."""

    name: str
    numeric: bool
    categories: int
    missing: int

    @property
    def width(self) -> int:
        return 1 if self.numeric else self.categories + int(self.missing > 0)

    def describe(self) -> str:
        gaps = f" ({self.missing} missing)" if self.missing else ""
        if self.numeric:
            return f"{self.name}: number{gaps}"
        extra = " + missing" if self.missing else ""
        noun = "category" if self.categories == 1 else "categories"
        return f"{self.name}: {self.categories} {noun}{extra}{gaps}"


@dataclass(frozen=True)
class TablePreview:
    """The feature columns, rows read, whether the whole file was read, target facts."""

    columns: tuple[ColumnPreview, ...]
    rows: int
    whole: bool
    targets: tuple[tuple[bool, int], ...]
    """Per target column: (all numbers?, distinct values)."""

    @property
    def width(self) -> int | None:
        """The input width, when known."""
        if not self.whole and any(not c.numeric for c in self.columns):
            return None
        return sum(column.width for column in self.columns)

    @property
    def plain(self) -> bool:
        """Numbers only and no gaps: a v2 table."""
        return all(c.numeric and not c.missing for c in self.columns)


def preview_table(path: Path, names: tuple[str, ...], data: ir.CsvData, limit: int) -> TablePreview:
    """Read up to `limit` bytes of the file at `path` (header `names`) for its columns."""
    targets = data.targets
    features = [i for i, n in enumerate(names) if n not in targets and n not in data.ignore]
    numeric = {i: names[i] not in data.categorical for i in range(len(names))}
    values: dict[int, set[str]] = {i: set() for i in range(len(names))}
    missing = dict.fromkeys(range(len(names)), 0)
    rows, read, whole = 0, 0, True
    needed = [i for i, n in enumerate(names) if n in targets]
    if data.missing == "drop":
        needed += features
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        reader = csv.reader(file)
        next(reader, None)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if any(i >= len(row) or is_missing_text(row[i]) for i in needed):
                continue  # left out of training: its categories are not the file's
            read += sum(len(cell) + 1 for cell in row)
            if read > limit:
                whole = False
                break
            rows += 1
            for index, cell in enumerate(row[: len(names)]):
                if is_missing_text(cell):
                    missing[index] += 1
                    continue
                text = cell.strip()
                if numeric[index] and not is_number(text):
                    numeric[index] = False
                if len(values[index]) <= 10_000:
                    values[index].add(_key(text))
    columns = tuple(
        ColumnPreview(names[i], numeric[i], len(values[i]), missing[i]) for i in features
    )
    facts = tuple(
        (numeric[names.index(t)] if t in names else False, len(values[names.index(t)]))
        if t in names
        else (False, 0)
        for t in targets
    )
    return TablePreview(columns, rows, whole, facts)


def task_line(preview: TablePreview, data: ir.CsvData, loss: LossKind, outputs: int) -> str:
    """`task: classify` or `task: regress`, and why."""
    regress = regresses(data.task, loss, list(preview.targets), outputs)
    names = ", ".join(f"`{name}`" for name in data.targets)
    if regress:
        return f"  task: regress {names} (rmse and r2)"
    return f"  task: classify {names} (error rate)"


def _key(text: str) -> str:
    """Numbers by value (`1` and `1.0` one category), text as written."""
    if is_number(text):
        try:
            return repr(float(text))
        except ValueError:
            return text
    return text
