"""The slow, exact reading of a CSV file: each record with its lines, for places in errors.

The fast reader (`minidl.data.reader`) knows that a file is bad and roughly where; this
module finds the record, line and column, with Python's `csv` module. It never imports
torch, so the summary can read a header with it.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from minidl.data.errors import DataError

__all__ = [
    "Record",
    "TargetKind",
    "cell_fault",
    "decode_error",
    "find_record",
    "first_fault",
    "is_number",
    "open_text",
    "ragged_error",
    "records",
]

TargetKind = Literal["number", "text"]

# What a numeric cell may look like: as the fast reader parses it, blanks around allowed.
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_NOT_FINITE = re.compile(r"\s*[+-]?(?:nan|inf|infinity)\s*", re.IGNORECASE)


def is_number(cell: str) -> bool:
    """Whether a cell is written as a number (NaN and infinities count: they are numbers)."""
    return bool(_NUMBER.fullmatch(cell) or _NOT_FINITE.fullmatch(cell))


@dataclass(frozen=True)
class Record:
    """One CSV record: its cells, its 0-based data row (-1 for the header) and its lines.

    `lines` are the physical lines it spans (usually one), each with its line ending.
    """

    row: int
    line: int
    lines: tuple[str, ...]
    cells: list[str]

    def source_line(self, offset: int = 0) -> str:
        """The text of the record's line `offset` (0: its first), without the line ending."""
        return self.lines[offset].rstrip("\r\n")

    def error(
        self, cell: int | None, code: str, message: str, help: str | None, path: str
    ) -> DataError:
        """A `DataError` at cell `cell` of this record (None: the whole first line)."""
        if cell is None or cell >= len(self.cells):
            return DataError(path, self.line, code, message, help, source_line=self.source_line())
        offset, start, end = self._span(cell)
        return DataError(
            path,
            self.line + offset,
            code,
            message,
            help,
            column=start + 1,
            end_column=max(end, start + 1) + 1,
            source_line=self.source_line(offset),
        )

    def _span(self, cell: int) -> tuple[int, int, int]:
        """The line offset, start and end (0-based, end exclusive) of cell `cell`'s text."""
        text = "".join(self.lines)
        starts, quoted = [0], False
        for position, char in enumerate(text):
            if char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                starts.append(position + 1)
        start = starts[cell]
        end = starts[cell + 1] - 1 if cell + 1 < len(starts) else len(text.rstrip("\r\n"))
        cell_text = text[start:end]
        if cell_text.strip():  # mark the cell's text; a blank cell, where it begins
            start += len(cell_text) - len(cell_text.lstrip())
        end = start + len(cell_text.strip())
        offset = 0
        while offset + 1 < len(self.lines) and start >= len(self.lines[offset]):
            start -= len(self.lines[offset])
            end -= len(self.lines[offset])
            offset += 1
        return offset, start, min(end, len(self.source_line(offset)))


class _Lines:
    """The lines of a text file, keeping those read since the last `take()`."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.pending: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.file)
        self.pending.append(line)
        return line

    def take(self) -> tuple[str, ...]:
        lines = tuple(self.pending)
        self.pending.clear()
        return lines


def open_text(path: Path) -> IO[str]:
    """Open a data file as UTF-8 text (a BOM is dropped), line endings kept for `csv`."""
    return path.open(encoding="utf-8-sig", newline="")


def records(file: IO[str], path: Path) -> Iterator[Record]:
    """Every non-blank record of an open file: the header (row -1), then the data rows.

    A line of blanks only is skipped, as the fast reader skips it. A line that is not UTF-8
    is a `DataError` (E309) at its place.
    """
    lines = _Lines(file)
    reader = csv.reader(lines)
    line, row = 1, -1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise decode_error(path) from None
        except csv.Error as caught:
            raise DataError(
                str(path),
                reader.line_num,
                "E304",
                f"line {reader.line_num} cannot be split into cells: {caught}",
                "check the quotes on this line",
            ) from None
        spanned = lines.take()
        if "".join(spanned).strip():
            yield Record(row, line, spanned, cells)
            row += 1
        line = reader.line_num + 1


def decode_error(path: Path) -> DataError:
    """E309 at the first byte of `path` that is not UTF-8."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as caught:
        start = caught.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        raw_line = data[line_start : line_end if line_end >= 0 else len(data)]
        column = len(data[line_start:start].decode("utf-8-sig")) + 1
        return DataError(
            str(path),
            data.count(b"\n", 0, start) + 1,
            "E309",
            f"the file is not UTF-8 text: byte 0x{data[start]:02x} cannot be read",
            "save the file as UTF-8",
            column=column,
            end_column=column + 1,
            source_line=raw_line.decode("utf-8", errors="replace").rstrip("\r"),
        )
    return DataError(str(path), 0, "E309", "the file is not UTF-8 text", "save it as UTF-8")


def cell_fault(record: Record, cell: int, name: str, path: str) -> DataError | None:
    """E303 or E307 if the numeric cell `cell` of `record` is not a finite number."""
    text = record.cells[cell]
    if not text.strip():
        return record.error(
            cell, "E303", f"an empty cell is not a number (column `{name}`)", _FILL, path
        )
    if _NOT_FINITE.fullmatch(text) or (_NUMBER.fullmatch(text) and not math.isfinite(float(text))):
        return record.error(
            cell, "E307", f"`{text.strip()}` is not a finite number (column `{name}`)", _FILL, path
        )
    if not _NUMBER.fullmatch(text):
        return record.error(
            cell,
            "E303",
            f"`{text.strip()}` is not a number (column `{name}`)",
            "every feature cell must be numeric",
            path,
        )
    return None


_FILL = "remove the line or fill in the missing value"


def first_fault(
    path: Path,
    names: tuple[str, ...],
    target: int,
    kind: TargetKind,
    first_row: int = 0,
    unused: Collection[int] = (),
) -> DataError | None:
    """The first fault at or after data row `first_row`: a ragged line, a cell that is not a
    finite number, an empty label. None if the rows from there on are all sound. The cells
    of the columns `unused` (an id beside the features) may hold anything."""
    with open_text(path) as file:
        for record in records(file, path):
            if record.row < first_row:
                continue
            if len(record.cells) != len(names):
                return ragged_error(record, len(names), str(path))
            for cell, name in enumerate(names):
                if cell in unused:
                    continue
                if cell == target and kind == "text":
                    if not record.cells[cell].strip():
                        return record.error(
                            cell, "E311", f"the label (column `{name}`) is empty", _FILL, str(path)
                        )
                    continue
                fault = cell_fault(record, cell, name, str(path))
                if fault is not None:
                    return fault
    return None


def long_first_row(path: Path, names: tuple[str, ...]) -> DataError | None:
    """E304 if the first data row has more cells than the header: pandas would take the
    extra one for a trailing comma and drop it without a word (later rows it refuses)."""
    with open_text(path) as file:
        for record in records(file, path):
            if record.row < 0:
                continue
            if len(record.cells) <= len(names):
                return None
            return ragged_error(record, len(names), str(path), " (no trailing comma)")
    return None


def ragged_error(record: Record, width: int, path: str, hint: str = "") -> DataError:
    """E304 at `record`, whose cells are more or fewer than the header's `width`: at the
    first extra cell, or at the line when cells are missing. `hint` ends the help."""
    return record.error(
        width if len(record.cells) > width else None,
        "E304",
        f"line {record.line} has {len(record.cells)} cells, but the header has {width}",
        "give every line one cell per column" + hint,
        path,
    )


def find_record(path: Path, row: int) -> Record:
    """The record of data row `row` (0-based), read again from the file."""
    with open_text(path) as file:
        for record in records(file, path):
            if record.row == row:
                return record
    raise ValueError(f"{path} has no data row {row}")
