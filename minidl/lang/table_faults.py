"""The faults that training stops at in a CSV file, found without torch or pandas, so that
the summary (and an editor) says what `--train` would say instead of a summary of a file
training refuses: a ragged line (E304), a line the `csv` module cannot split (E304), a file
with a header and no rows (E306), a number that is not finite in a column of numbers (E307),
and a feature too large for the network's dtype (`1e39` in float32, E321).

The messages are the readers' own (`minidl.data.records`, `minidl.data.frame`,
`minidl.data.limits`). Up to `limit` bytes of the file are read; faults past them are left
to training.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from minidl.data.errors import DataError
from minidl.data.missing import is_missing_text
from minidl.data.records import Record, is_number, open_text, ragged_error, records

__all__ = ["FLOAT32_MAX", "Scan", "table_fault"]

FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32 (`torch.finfo(torch.float32).max`)."""

_FILL = "remove the line or fill in the missing value"


@dataclass
class _Cell:
    record: Record
    cell: int


@dataclass(frozen=True)
class Scan:
    """What reading a file found: the first fault training stops at (or None), and the
    columns that hold text (a test file's cells of the others must be numbers)."""

    fault: DataError | None
    text: frozenset[str]
    whole: bool
    """Whether every line was read (a file over the limit is read in part)."""


def table_fault(
    path: Path,
    names: tuple[str, ...],
    limit: int,
    features: Collection[str] = (),
    largest: float | None = None,
    numbers: Collection[str] = (),
    dtype: str = "float32",
) -> Scan:
    """Read the CSV file at `path` (header `names`) for the first fault that training would
    stop at. Cells of `features` that are numbers must be within `largest` (None: any finite
    number); cells of `numbers` (a test file's columns that hold numbers in the train file)
    must be numbers or gaps. A `DataError` of an unreadable line is returned, not raised."""
    first_bad: dict[int, _Cell] = {}
    first_large: dict[int, _Cell] = {}
    text_columns: set[int] = set()
    sized = {names.index(name) for name in features if name in names}
    read, rows = 0, 0
    header: Record | None = None

    def found(fault: DataError | None, whole: bool = True) -> Scan:
        text = frozenset(names[i] for i in text_columns if i < len(names))
        return Scan(fault, text, whole and read <= limit)

    try:
        with open_text(path) as file:
            for record in records(file, path):
                if record.row < 0:
                    header = record
                    continue
                read += sum(len(line) for line in record.lines)
                if read > limit:
                    break
                rows += 1
                if len(record.cells) != len(names):
                    return found(_ragged(record, len(names), str(path)))
                for index, cell in enumerate(record.cells):
                    if index in text_columns:
                        continue
                    value = _number(cell)
                    if value is None:
                        if is_missing_text(cell):
                            continue
                        if names[index] in numbers:
                            return found(_text_in_numbers(record, index, names[index], path))
                        text_columns.add(index)
                        continue
                    if value != value:  # NaN is a missing cell
                        continue
                    if not math.isfinite(value):
                        first_bad.setdefault(index, _Cell(record, index))
                    elif largest is not None and index in sized and abs(value) > largest:
                        first_large.setdefault(index, _Cell(record, index))
    except DataError as caught:
        return found(caught)
    except (OSError, UnicodeDecodeError):
        return found(None, whole=False)  # the readers name these with their own messages
    if rows == 0 and header is not None and read <= limit:
        return found(
            header.error(
                None,
                "E306",
                "the file has a header but no data",
                "add one sample a line below the header",
                str(path),
            )
        )
    bad = _first(first_bad, text_columns)
    if bad is not None:
        text = bad.record.cells[bad.cell].strip()
        message = f"`{text}` is not a finite number (column `{names[bad.cell]}`)"
        return found(bad.record.error(bad.cell, "E307", message, _FILL, str(path)))
    large = _first(first_large, text_columns)
    if large is not None:
        text, name = large.record.cells[large.cell].strip(), names[large.cell]
        return found(
            large.record.error(
                large.cell,
                "E321",
                f"`{text}` is too large for {dtype} (column `{name}`), the network's dtype",
                "scale the column down (write it in other units), or use `train dtype=float64`",
                str(path),
            )
        )
    return found(None)


def _text_in_numbers(record: Record, cell: int, name: str, path: Path) -> DataError:
    return record.error(
        cell,
        "E334",
        f"`{record.cells[cell].strip()}` is text, but column `{name}` holds numbers in the "
        "train file",
        f"write `categorical=[{name}]` to encode its values as categories, or fix the cell",
        str(path),
    )


def _number(cell: str) -> float | None:
    """The cell's value when it is written as a number (`float` first: it is fast)."""
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if "_" not in cell or is_number(cell) else None


def _first(cells: dict[int, _Cell], text_columns: set[int]) -> _Cell | None:
    """The earliest cell (by row, then column) of a column that holds numbers only."""
    found = [cell for index, cell in cells.items() if index not in text_columns]
    return min(found, key=lambda c: (c.record.row, c.cell), default=None)


def _ragged(record: Record, width: int, path: str) -> DataError:
    trailing = len(record.cells) > width and not any(c.strip() for c in record.cells[width:])
    return ragged_error(record, width, path, " (no trailing comma)" if trailing else "")
