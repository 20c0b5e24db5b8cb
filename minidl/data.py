"""Data sets: the seed report's disk, CSV files, and seeded mini-batch orders."""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from minidl.lang.errors import Diagnostic, SpecError

__all__ = [
    "DISK_RADIUS",
    "DataError",
    "Dataset",
    "batches",
    "disk",
    "load_csv",
    "one_hot_targets",
    "shuffled",
    "stack_datasets",
]

DISK_RADIUS = 1 / math.sqrt(2 * math.pi)
"""The radius whose disk covers half of the unit square, so that the classes are balanced."""


@dataclass(frozen=True)
class Dataset:
    """Inputs `(N, D)` and targets `(N, T)`; stacked data sets add a leading run axis."""

    inputs: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return self.inputs.shape[-2]

    @property
    def features(self) -> int:
        """The width of one input sample."""
        return self.inputs.shape[-1]

    @property
    def outputs(self) -> int:
        """The width of one target."""
        return self.targets.shape[-1]

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Dataset:
        """Return the data set on `device` with floating point `dtype`."""
        return Dataset(self.inputs.to(device, dtype), self.targets.to(device, dtype))


def disk(
    n: int,
    radius: float = DISK_RADIUS,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """Draw `n` points uniform in [0, 1]^2, labelled 1 inside the disk around (0.5, 0.5).

    The points are drawn in float64 from `generator` and then cast, so that every dtype sees
    the same points. Targets have shape `(n, 1)`.
    """
    points = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    inside = (points - 0.5).square().sum(dim=1) < radius**2
    return Dataset(points.to(dtype), inside.to(dtype).unsqueeze(1))


def stack_datasets(datasets: list[Dataset]) -> Dataset:
    """Stack data sets of one size along a leading run axis."""
    return Dataset(
        torch.stack([d.inputs for d in datasets]), torch.stack([d.targets for d in datasets])
    )


def shuffled(n: int, generator: torch.Generator) -> Tensor:
    """A fresh order of the sample indices 0..n-1, drawn from `generator`."""
    return torch.randperm(n, generator=generator)


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Yield the indices of one epoch's mini-batches, freshly shuffled; the last may be smaller."""
    yield from torch.split(shuffled(n, generator), batch_size)


class DataError(Exception):
    """A data file that cannot be used; `diagnostics` name the file, line and column."""

    def __init__(self, error: SpecError) -> None:
        self.error = error
        super().__init__(str(error))


def load_csv(path: Path, target: str) -> Dataset:
    """Read a CSV file with a header: `target` is the target column, the others the features.

    Raises `DataError` naming the file and line of a missing file or column, a non-numeric
    or NaN cell, ragged rows, or a file without data rows.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _data_error(
            path,
            "",
            1,
            "E301",
            f"no such file: {path}",
            "check the path; it is relative to the spec",
        ) from None
    except (OSError, UnicodeDecodeError) as caught:
        raise _data_error(path, "", 1, "E301", f"cannot read {path}: {caught}", None) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _data_error(
            path,
            text,
            1,
            "E305",
            "the file is empty",
            "write a header line, then one sample a line",
        )
    header = [cell.strip() for cell in rows[0]]
    if target not in header:
        near = difflib.get_close_matches(target, header, n=1)
        help = f"did you mean `{near[0]}`?" if near else "columns: " + ", ".join(header)
        raise _data_error(path, text, 1, "E302", f"no column named `{target}`", help)
    if len(header) < 2:
        raise _data_error(
            path,
            text,
            1,
            "E308",
            "the file has no feature columns, only the target",
            "add at least one input column beside the target",
        )
    column = header.index(target)
    values: list[list[float]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise _data_error(
                path,
                text,
                number,
                "E304",
                f"line {number} has {len(row)} cells, but the header has {len(header)}",
                "give every line one cell per column",
            )
        values.append([_cell(path, text, number, cell) for cell in row])
    if not values:
        raise _data_error(
            path,
            text,
            1,
            "E306",
            "the file has a header but no data",
            "add one sample a line below the header",
        )
    table = torch.tensor(values, dtype=torch.float64)
    features = torch.cat([table[:, :column], table[:, column + 1 :]], dim=1)
    return Dataset(features, table[:, column : column + 1])


def one_hot_targets(data: Dataset, classes: int, path: Path) -> Dataset:
    """Turn a column of class indices 0..classes-1 into one-hot targets `(N, classes)`."""
    labels = data.targets.squeeze(1)
    valid = (labels == labels.round()) & (labels >= 0) & (labels < classes)
    if not bool(valid.all()):
        bad = int((~valid).nonzero()[0])
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        data_lines = [n for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
        raise _data_error(
            path,
            text,
            data_lines[bad],
            "E303",
            f"with {classes} outputs the target is a class index 0..{classes - 1}, "
            f"got {float(labels[bad]):g}",
            "end the network with `Linear ->1` for a numeric target",
        )
    return Dataset(
        data.inputs, torch.nn.functional.one_hot(labels.long(), classes).to(data.targets.dtype)
    )


def _cell(path: Path, text: str, line: int, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise _data_error(
            path,
            text,
            line,
            "E303",
            f"`{cell.strip()}` is not a number",
            "every cell must be numeric",
        ) from None
    if not math.isfinite(value):
        raise _data_error(
            path,
            text,
            line,
            "E307",
            f"`{cell.strip()}` is not a finite number",
            "remove or fill in the missing values",
        )
    return value


def _data_error(
    path: Path, text: str, line: int, code: str, message: str, help: str | None
) -> DataError:
    source = text.splitlines()[line - 1] if text and line <= len(text.splitlines()) else ""
    diagnostic = Diagnostic(code, message, line, 1, line, max(2, len(source) + 1), help, str(path))
    return DataError(SpecError([diagnostic], text))
