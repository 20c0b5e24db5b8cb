"""Reading a CSV file at the speed of a compiled reader, with exact places for its faults.

`minidl.data.parse` parses the cells with pandas' C parser (a measured choice: see
benchmarks/data.py). When it finds the file unsound, `minidl.data.records` reads it again
from the failing chunk's first row, slowly, to name the line and column; a sound file is
read once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from minidl.data.errors import DataError
from minidl.data.header import Header, read_header
from minidl.data.parse import ChunkFault, parse
from minidl.data.records import TargetKind, decode_error, first_fault, is_number, long_first_row
from minidl.data.table import Column, Table

__all__ = ["read_csv"]

_DTYPES: dict[torch.dtype, np.dtype[np.floating]] = {
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}


def read_csv(path: Path | str, target: str, *, dtype: torch.dtype = torch.float64) -> Table:
    """Read a CSV file with a header: column `target` is the target, the others features.

    Features must be finite numbers; they come back as `inputs` `(N, D)` of `dtype`
    (float32 or float64). The target may hold numbers or text. Cells may be quoted; a
    UTF-8 BOM, Windows line ends and blank lines are fine. Raises `DataError` with the file,
    line and column of the first fault (codes E301 to E311).
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, not {dtype}")
    path = Path(path)
    header = read_header(path)
    target_index = header.target_index(target)
    columns = len(header.names)
    long_row = long_first_row(path, header.names)
    if long_row is not None:
        raise long_row
    try:
        parsed = parse(path, columns, target_index, _data_offset(path, header), _DTYPES[dtype])
    except UnicodeDecodeError:
        raise decode_error(path) from None
    except ChunkFault as caught:
        raise _fault_from(path, header, target_index, "text", caught.row, str(caught)) from None
    if len(parsed.inputs) == 0:
        raise DataError(
            str(path),
            header.line,
            "E306",
            "the file has a header but no data",
            "add one sample a line below the header",
            source_line=header.source_line,
        )
    cells = _joined(parsed.labels)
    if cells is None:  # numbers in some chunks, text in others: read the labels as written
        cells = _read_texts(path, target_index)
    column = target_column(path, header, target_index, cells)
    return Table(str(path), header.features(target), torch.from_numpy(parsed.inputs), column)


def _data_offset(path: Path, header: Header) -> int:
    """The byte where the data rows begin: after the header's last line."""
    with path.open("rb") as file:
        for _ in range(header.end_line):
            file.readline()
        return file.tell()


def _joined(labels: list[npt.NDArray[Any]]) -> npt.NDArray[Any] | None:
    """The chunks' target cells as one array: float64 if every chunk parsed them as
    numbers, objects if none did; None for a mixture."""
    kinds = {cells.dtype.kind for cells in labels}
    if kinds <= {"i", "u", "f"}:
        return np.concatenate([cells.astype(np.float64) for cells in labels])
    return np.concatenate(labels) if kinds == {"O"} else None


def _read_texts(path: Path, target: int) -> npt.NDArray[np.object_]:
    """The target column alone, every cell as text (the file is known sound by now)."""
    import pandas as pd

    frame = pd.read_csv(
        path, usecols=[target], dtype=object, keep_default_na=False, na_values=[], encoding="utf-8"
    )
    cells: npt.NDArray[np.object_] = frame.iloc[:, 0].to_numpy(dtype=object)
    return cells


def target_column(path: Path, header: Header, target: int, cells: npt.NDArray[Any]) -> Column:
    """The target as distinct values and codes: numbers when every cell is one, else text."""
    import pandas as pd

    codes, uniques = pd.factorize(cells)
    name = header.names[target]
    if cells.dtype.kind == "f":
        values = tuple(float(value) for value in uniques)
        _check_finite(path, header, target, codes, values)
        texts = tuple(_number_text(value) for value in values)
        return Column(name, target, texts, values, torch.from_numpy(codes))
    # Blanks around a label do not make another label: merge what stripping makes equal.
    merged: dict[str, int] = {}
    remap = [merged.setdefault(_strip(cell), len(merged)) for cell in uniques]
    codes = np.asarray(remap, dtype=np.int64)[codes]
    texts = tuple(merged)
    if "" in merged:
        _raise_at(path, header, target, "text", _first_row(codes, [merged[""]]))
    numbers = None
    if all(is_number(text) for text in texts):  # e.g. "nan" among numbers: not a label
        numbers = tuple(float(text) for text in texts)
        _check_finite(path, header, target, codes, numbers)
    return Column(name, target, texts, numbers, torch.from_numpy(codes))


def _check_finite(
    path: Path,
    header: Header,
    target: int,
    codes: npt.NDArray[np.int64],
    numbers: tuple[float, ...],
) -> None:
    bad = [index for index, value in enumerate(numbers) if not math.isfinite(value)]
    if bad:
        _raise_at(path, header, target, "number", _first_row(codes, bad))


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _strip(cell: object) -> str:
    return cell.strip() if isinstance(cell, str) else ""  # a missing cell of a short row


def _first_row(codes: npt.NDArray[np.int64], values: list[int]) -> int:
    return int(np.flatnonzero(np.isin(codes, values))[0])


def _raise_at(path: Path, header: Header, target: int, kind: TargetKind, row: int) -> None:
    raise _fault_from(path, header, target, kind, row, "a target cell is not usable")


def _fault_from(
    path: Path, header: Header, target: int, kind: TargetKind, row: int, reason: str
) -> DataError:
    """The first fault from data row `row` on, read slowly (from the top if none is found
    there); failing that, the fast reader's own words."""
    fault = first_fault(path, header.names, target, kind, first_row=row) or first_fault(
        path, header.names, target, kind
    )
    if fault is not None:
        return fault
    return DataError(
        str(path),
        0,
        "E303",
        f"the file cannot be read as CSV: {reason}",
        "check the quotes and that every feature cell is a number",
    )
