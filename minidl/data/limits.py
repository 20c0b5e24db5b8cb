"""Numbers that are finite in the file but too large for the network's dtype: `1e39` is
infinite in float32, and training then "diverged" (or `--predict` wrote no probabilities)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from minidl.data.errors import DataError
from minidl.data.records import find_record

__all__ = ["check_fits", "too_large"]


def check_fits(
    path: str, names: tuple[str, ...], features: tuple[str, ...], inputs: npt.NDArray[np.float64],
    largest: float, dtype: str, rows: npt.NDArray[np.int64] | None = None,
) -> None:  # fmt: skip
    """Raise E321 at the first cell of `inputs` (features in `features` order, file columns
    `names`) whose magnitude is over `largest`; `rows` maps rows to the file's data rows."""
    over = np.abs(inputs) > largest
    if not over.any():
        return
    row, column = (int(i) for i in np.argwhere(over)[0])
    file_row = row if rows is None else int(rows[row])
    raise too_large(path, file_row, names.index(features[column]), features[column], dtype)


def too_large(path: str, row: int, cell: int, name: str, dtype: str) -> DataError:
    """E321 at data row `row` (0-based), cell `cell` of the file."""
    record = find_record(Path(path), row)
    text = record.cells[cell].strip()
    return record.error(
        cell,
        "E321",
        f"`{text}` is too large for {dtype} (column `{name}`), the network's dtype",
        "scale the column down (write it in other units), or use `train dtype=float64`",
        path,
    )
