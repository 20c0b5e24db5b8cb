"""`--predict` for a run that keeps its feature encoding (v3): a chunk of cells as written
encoded as training encoded its columns, regression's columns, and the counting warning.

Missing cells (empty, `NA`, `N/A`, `NaN`, `null`, `None` in any case) are filled as in
training; a category training never saw is all zeros and counted, never an error. A text
cell in a numeric column is an error at its place (E334).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from minidl.compiler.predictions import values_of
from minidl.compiler.program import Program
from minidl.data import DataError, Header
from minidl.data.encoding import Encoding
from minidl.data.frame import cell_error, na_spellings
from minidl.data.limits import too_large
from minidl.data.records import open_text, records

__all__ = ["Counts", "encode_chunk", "regression_columns", "value_columns", "warn"]

_MISSING = frozenset(na_spellings())


@dataclasses.dataclass
class Counts:
    """Cells filled and cells of unseen categories, per column, over every chunk."""

    filled: dict[str, int] = dataclasses.field(default_factory=dict)
    unseen: dict[str, int] = dataclasses.field(default_factory=dict)


def encode_chunk(
    encoding: Encoding,
    chunk: Any,
    header: Header,
    data: Path,
    first_row: int,
    counts: Counts,
    dtype: str = "float64",
) -> npt.NDArray[np.float64]:
    """The network's raw inputs for a chunk of cells read as text (no NA conversion);
    `first_row` is the chunk's first data row in the file. A number that the network's
    `dtype` cannot hold (`1e39` in float32) is E321 at its cell."""
    import pandas as pd

    if chunk.shape[1] != len(header.names) or chunk.isna().to_numpy().any():
        raise _ragged(data, header, first_row)
    frame: dict[str, Any] = {}
    for column in encoding.columns:
        cells = chunk[column.name]
        missing = cells.str.strip().isin(_MISSING)
        if column.kind == "numeric":
            numbers = pd.to_numeric(cells.where(~missing), errors="coerce")
            bad = (numbers.isna() & ~missing).to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise cell_error(
                    data,
                    first_row + row,
                    header.names.index(column.name),
                    "E334",
                    f"`{cells.iloc[row].strip()}` is text, but column `{column.name}` held "
                    "numbers in the train file",
                    "write a number, or leave the cell empty to fill it with the train mean",
                )
            over = (np.abs(numbers.to_numpy(np.float64)) > np.finfo(dtype).max).nonzero()[0]
            if len(over):
                cell = header.names.index(column.name)
                raise too_large(str(data), first_row + int(over[0]), cell, column.name, dtype)
            frame[column.name] = numbers
        else:
            frame[column.name] = cells.where(~missing, None)
    encoded = encoding.encode(pd.DataFrame(frame))
    for found, total in ((encoded.filled, counts.filled), (encoded.unseen, counts.unseen)):
        for name, count in found.items():
            total[name] = total.get(name, 0) + count
    return encoded.inputs


def regression_columns(program: Program) -> list[str]:
    """`prediction` for one target, else `prediction_TARGET` per target column."""
    if len(program.targets) == 1:
        return ["prediction"]
    return [f"prediction_{target}" for target in program.targets]


def value_columns(program: Program, outputs: Any) -> npt.NDArray[np.float64]:
    """The predicted values `(N, T)` on the targets' own scale."""
    values: npt.NDArray[np.float64] = values_of(program, outputs).numpy()
    return values


def warn(counts: Counts, header: Header) -> None:
    """W210 / W211 on standard error, at the predicted file's header, when cells were
    filled or of unseen categories."""
    from minidl.lang.data_preview import in_file_diagnostic
    from minidl.lang.errors import render

    notes: list[tuple[str, str, str | None]] = []
    if counts.filled:
        total = sum(counts.filled.values())
        notes.append(("W210", f"filled {total} missing cell{'s' * (total != 1)} "
                      f"({_counts(counts.filled)}) as in training", None))  # fmt: skip
    if counts.unseen:
        total = sum(counts.unseen.values())
        notes.append(("W211", f"{total} cell{'s' * (total != 1)} of categories that training "
                      f"never saw encoded as no category ({_counts(counts.unseen)})",
                      "such rows are predicted from their other columns"))  # fmt: skip
    for code, message, help in notes:
        found = DataError(
            header.path, header.line, code, message, help, source_line=header.source_line
        )
        diagnostic = dataclasses.replace(in_file_diagnostic(found), severity="warning")
        print(render(diagnostic, []), file=sys.stderr)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def _ragged(path: Path, header: Header, first_row: int) -> DataError:
    names = header.names
    with open_text(path) as file:
        for record in records(file, path):
            if record.row >= first_row and len(record.cells) != len(names):
                return record.error(
                    len(names) if len(record.cells) > len(names) else None,
                    "E304",
                    f"line {record.line} has {len(record.cells)} cells, "
                    f"but the header has {len(names)}",
                    "give every line one cell per column",
                    str(path),
                )
    return DataError(str(path), 0, "E304", "the file cannot be read as CSV: a ragged line")
