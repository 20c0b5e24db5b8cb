"""Parsing a sound CSV file fast: pandas' C parser, chunk by chunk, into one array.

A large file is cut at line ends into byte ranges, one per core, that threads parse at
once (the parser releases the GIL), each into its own slot of one preallocated array. The
serial parse is the reference: when any range fails, for whatever reason (a bad cell, or a
cut inside a quoted line break, which leaves the range before it ending in an open quote),
the file is parsed again serially, and that parse alone decides what is a fault.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHUNK_ROWS", "PARALLEL_BYTES", "ChunkFault", "Parsed", "parse"]

CHUNK_ROWS = 65_536
"""Rows parsed at a time: the parser's own buffers stay small beside the result."""

PARALLEL_BYTES = 8 << 20
"""Files smaller than this are parsed by one thread: starting more would cost more."""

Floats = npt.NDArray[np.floating]


@dataclass(frozen=True)
class Parsed:
    """The features `(N, D)` in the file's column order, and the target's cells by chunk."""

    inputs: Floats
    labels: list[npt.NDArray[Any]]


class ChunkFault(Exception):
    """The serial parse failed in the chunk that starts at data row `row` (0-based)."""

    def __init__(self, row: int, cause: str) -> None:
        self.row = row
        super().__init__(cause)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.row, str(self)), self.__dict__)


def parse(
    path: Path,
    columns: int,
    target: int,
    data_offset: int,
    dtype: np.dtype[np.floating],
    workers: int | None = None,
) -> Parsed:
    """Parse the data rows, which begin at byte `data_offset`, with `workers` threads (by
    default one per core for a large file, else one); raises `ChunkFault` or
    `UnicodeDecodeError` if the file is not sound."""
    import pandas as pd  # here, so that runs on the disk never pay for importing it

    with warnings.catch_warnings():
        # A first data row longer than the header would otherwise be cut, with a warning.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        # A target of numbers here and text there is expected: the reader reads it again.
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        ranges = _byte_ranges(path, data_offset, workers or _workers(path))
        parsed = _parse_ranges(path, columns, target, ranges, dtype) if len(ranges) > 2 else None
        return parsed or _parse_serial(path, columns, target, dtype)


# "NA" and "nan" are kept as written (a label, and no number), with no index column.
_OPTIONS: dict[str, Any] = {
    "index_col": False,
    "keep_default_na": False,
    "na_values": [],
    "encoding": "utf-8",
}


def _options() -> dict[str, Any]:
    """`_OPTIONS`, and for pandas 2 its exact float parser (pandas 3's default is exact)."""
    import pandas as pd

    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    return {**_OPTIONS, **exact}


def _parse_serial(path: Path, columns: int, target: int, dtype: np.dtype[np.floating]) -> Parsed:
    rows = _Rows(_estimate_rows(path, path.stat().st_size), columns - 1, dtype)
    labels: list[npt.NDArray[Any]] = []
    try:
        _read_chunks(path, {"header": 0}, columns, target, rows, labels)
    except UnicodeDecodeError:
        raise
    except (ValueError, _BadChunk, Warning) as caught:
        raise ChunkFault(rows.size, str(caught).strip() or type(caught).__name__) from None
    return Parsed(rows.finish(), labels)


def _parse_ranges(
    path: Path, columns: int, target: int, ranges: list[int], dtype: np.dtype[np.floating]
) -> Parsed | None:
    """The rows of each byte range parsed by a thread of its own; None if any fails."""
    total = _estimate_rows(path, ranges[-1] - ranges[0])
    capacities = [
        int(total * (end - start) / (ranges[-1] - ranges[0])) + 1024
        for start, end in itertools.pairwise(ranges)
    ]
    slots = _Slots(capacities, columns - 1, dtype)

    def work(part: int) -> list[npt.NDArray[Any]]:
        start, end = ranges[part], ranges[part + 1]
        if len(_first_cells(path, start)) != columns:
            raise _BadChunk  # pandas would cut a long first row, not refuse it
        labels: list[npt.NDArray[Any]] = []
        names = {"header": None, "names": list(range(columns))}
        with io.BufferedReader(_ByteRange(path, start, end), 1 << 20) as source:
            _read_chunks(source, names, columns, target, slots.parts[part], labels)
        return labels

    try:
        with ThreadPoolExecutor(len(capacities)) as pool:
            labels = [cells for part in pool.map(work, range(len(capacities))) for cells in part]
    except Exception:  # whatever it is, the serial parse decides
        return None
    return Parsed(slots.gather(), labels)


def _read_chunks(
    source: Path | io.BufferedReader[_ByteRange],
    header: dict[str, Any],
    columns: int,
    target: int,
    rows: _Rows,
    labels: list[npt.NDArray[Any]],
) -> None:
    import pandas as pd

    features = [index for index in range(columns) if index != target]
    types = dict.fromkeys(features, rows.array.dtype.type)  # the target's type is inferred
    with pd.read_csv(source, dtype=types, chunksize=CHUNK_ROWS, **header, **_options()) as chunks:
        for chunk in chunks:
            block = chunk.iloc[:, features].to_numpy()
            if chunk.shape[1] != columns or not np.isfinite(block).all():
                raise _BadChunk
            rows.append(block)
            labels.append(_cells(chunk.iloc[:, target]))


def _cells(series: pd.Series[Any]) -> npt.NDArray[Any]:
    """A chunk's target cells: numbers as they parsed, anything else as the text written."""
    import pandas as pd

    kind = series.dtype.kind
    if kind in "iuf" and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy()
    # Within a chunk the parser may also mix numbers and text, for the same reason.
    if pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series.to_numpy(dtype=object)
    return np.empty(0, dtype=np.bool_)  # a mixture, or true/false: neither numbers nor text


class _BadChunk(Exception):
    """A chunk that parsed, but with a ragged row or a cell that is not a finite number."""


class _Rows:
    """Rows appended chunk by chunk into one C-ordered array (or a slot of one).

    The array is allocated for an estimate of the rows, a little over: pages of `np.empty`
    that are never written cost no memory, and `finish` shrinks the array in place
    (`realloc`). Were the estimate short, the rows move to an array of their own, twice
    as large.
    """

    def __init__(self, rows: int | Floats, width: int, dtype: np.dtype[np.floating]) -> None:
        self.array = rows if isinstance(rows, np.ndarray) else np.empty((rows, width), dtype)
        self.size = 0
        self.moved = False

    def append(self, block: Floats) -> None:
        end = self.size + len(block)
        if end > len(self.array):
            grown = np.empty((max(end, 2 * len(self.array)), self.array.shape[1]), self.array.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array, self.moved = grown, True
        self.array[self.size : end] = block
        self.size = end

    def finish(self) -> Floats:
        self.array.resize((self.size, self.array.shape[1]), refcheck=False)
        return self.array


class _Slots:
    """One array cut into consecutive slots, one `_Rows` for each range of the file."""

    def __init__(self, capacities: list[int], width: int, dtype: np.dtype[np.floating]) -> None:
        self.array: Floats = np.empty((sum(capacities), width), dtype)
        self.starts = np.cumsum([0, *capacities[:-1]]).tolist()
        self.parts = [
            _Rows(self.array[start : start + size], width, dtype)
            for start, size in zip(self.starts, capacities, strict=True)
        ]

    def gather(self) -> Floats:
        """The parts' rows side by side: moved to close the gaps, then the array trimmed."""
        if any(part.moved for part in self.parts):
            return np.concatenate([part.array[: part.size] for part in self.parts])
        end = 0
        for start, part in zip(self.starts, self.parts, strict=True):
            # Forward, a chunk at a time: each copy overlaps only the rows it reads.
            for offset in range(0, part.size, CHUNK_ROWS):
                size = min(CHUNK_ROWS, part.size - offset)
                self.array[end + offset : end + offset + size] = self.array[
                    start + offset : start + offset + size
                ]
            end += part.size
        self.parts.clear()  # their views would keep the array from shrinking in place
        self.array.resize((end, self.array.shape[1]), refcheck=False)
        return self.array


class _ByteRange(io.RawIOBase):
    """The bytes `start` to `end` of a file, as a file of their own."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self.file = path.open("rb")
        self.file.seek(start)
        self.left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self.left)
        if size <= 0:
            return 0
        read = self.file.readinto(memoryview(buffer)[:size])
        self.left -= read
        return read

    def close(self) -> None:
        self.file.close()
        super().close()


def _workers(path: Path) -> int:
    size = path.stat().st_size
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if size < PARALLEL_BYTES else max(1, min(cores or 1, 8, size // (PARALLEL_BYTES // 2)))


def _byte_ranges(path: Path, start: int, parts: int) -> list[int]:
    """Offsets that cut the bytes from `start` on into about `parts` ranges at line ends;
    just [start, size] when the file's lines end in a bare carriage return."""
    size = path.stat().st_size
    cuts = [start]
    with path.open("rb") as file:
        if b"\r" in file.read(1 << 16).replace(b"\r\n", b""):
            return [start, size]
        for part in range(1, parts):
            file.seek(max(cuts[-1], start + (size - start) * part // parts))
            file.readline()
            if file.tell() < size:
                cuts.append(file.tell())
    return [*cuts, size]


def _first_cells(path: Path, start: int) -> list[str]:
    with path.open("rb") as file:
        file.seek(start)
        line = file.readline(1 << 20).decode("utf-8", errors="replace")
    return next(csv.reader([line]), [])


def _estimate_rows(path: Path, size: int, sample_bytes: int = 1 << 20) -> int:
    """About 10 % more rows than `size` bytes of the file hold, judged from its first MiB."""
    with path.open("rb") as file:
        sample = file.read(sample_bytes)
    lines = sample.count(b"\n") + sample.count(b"\r") - sample.count(b"\r\n") + 1
    if len(sample) >= size:
        return lines
    return int(size / len(sample) * lines * 1.1) + 1024
