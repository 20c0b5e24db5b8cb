"""A table read whole with pandas' C parser, missing cells as NaN: the reader of tables
with text categories and gaps (`minidl.data.reader` reads numbers only, faster).

Missing cells are empty cells and `NA`, `N/A`, `NaN`, `null`, `None` in any case. Faults
keep their file, line and column: a ragged line, a cell that is not UTF-8, an infinite
number.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl.data.errors import DataError
from minidl.data.header import Header
from minidl.data.missing import NA_WORDS, is_missing_text, na_spellings
from minidl.data.records import (
    Record,
    decode_error,
    find_record,
    long_first_row,
    open_text,
    ragged_error,
    records,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NA_WORDS",
    "cell_error",
    "first_missing",
    "first_text",
    "header_error",
    "is_missing_text",
    "na_spellings",
    "ragged_line",
    "read_frame",
]


def read_frame(path: Path | str, header: Header) -> pd.DataFrame:
    """Every data row of the file at `path` (whose header is `header`), columns named as
    the header names them; numeric columns are float64 or int64, others text (objects),
    missing cells NaN. Raises `DataError` at the first ragged line, short or long (E304),
    byte that is not UTF-8 (E309) or infinite number (E307), and E306 for a file without
    data rows."""
    import pandas as pd

    path = Path(path)
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    long_row = long_first_row(path, header.names)
    if long_row is not None:
        raise long_row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame: pd.DataFrame = pd.read_csv(  # type: ignore[call-overload]
                path,
                header=0,
                names=list(header.names),
                index_col=False,
                keep_default_na=False,
                na_values=na_spellings(),
                encoding="utf-8",
                skipinitialspace=False,
                **exact,
            )
    except UnicodeDecodeError:
        raise decode_error(path) from None
    except (ValueError, pd.errors.ParserWarning) as caught:  # ParserError is a ValueError
        raise ragged_line(path, header.names) or DataError(
            str(path), 0, "E304", f"the file cannot be read as CSV: {caught}"
        ) from None
    if len(frame) and frame.iloc[:, -1].isna().any():  # pandas fills a short line with gaps
        short = ragged_line(path, header.names)
        if short is not None:
            raise short
    if len(frame) == 0:
        raise DataError(
            str(path),
            header.line,
            "E306",
            "the file has a header but no data",
            "add one sample a line below the header",
            source_line=header.source_line,
        )
    _check_finite(path, frame)
    return frame


def cell_error(
    path: Path | str, row: int, column: int, code: str, message: str, help: str
) -> DataError:
    """A `DataError` at data row `row`'s cell `column` (both 0-based) of the file."""
    record = find_record(Path(path), row)
    return record.error(column, code, message, help, str(path))


def header_error(path: Path | str, column: int, code: str, message: str, help: str) -> DataError:
    """A `DataError` at the header's cell `column` (0-based) of the file."""
    with open_text(Path(path)) as file:
        record: Record | None = next(records(file, Path(path)), None)
    if record is None:
        return DataError(str(path), 0, code, message, help)
    return record.error(column, code, message, help, str(path))


def _check_finite(path: Path, frame: pd.DataFrame) -> None:
    for position, name in enumerate(frame.columns):
        series = frame[name]
        if series.dtype.kind != "f":
            continue
        infinite = np.isinf(series.to_numpy())
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise cell_error(
                path,
                row,
                position,
                "E307",
                f"`{find_record(path, row).cells[position].strip()}` is not a finite number "
                f"(column `{name}`)",
                "remove the line or fill in the missing value",
            )


def ragged_line(
    path: Path, names: tuple[str, ...], first_row: int = 0, end_row: int | None = None
) -> DataError | None:
    """E304 at the first data row from `first_row` (up to `end_row`, excluded) whose cells
    are more or fewer than the header's `names`: pandas would read a short line's absent
    cells as gaps."""
    with open_text(path) as file:
        for record in records(file, path):
            if end_row is not None and record.row >= end_row:
                return None
            if record.row >= first_row and len(record.cells) != len(names):
                return ragged_error(record, len(names), str(path))
    return None


def first_missing(frame: pd.DataFrame, columns: list[str]) -> tuple[int, int] | None:
    """(row, column position) of the first missing cell among `columns`, row by row."""
    mask = frame[columns].isna().to_numpy()
    hits = np.argwhere(mask)
    if len(hits) == 0:
        return None
    row, offset = (int(v) for v in hits[0])
    return row, list(frame.columns).index(columns[offset])


def first_text(series: pd.Series[Any]) -> int | None:
    """The first row whose cell is present but not a number, if any."""
    import pandas as pd

    if series.dtype.kind in "iuf":
        return None
    numbers = pd.to_numeric(series, errors="coerce")
    bad = (numbers.isna() & series.notna()).to_numpy()
    return int(np.flatnonzero(bad)[0]) if bad.any() else None
