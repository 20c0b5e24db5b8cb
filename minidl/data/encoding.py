"""Feature columns as network inputs: numbers (missing cells take the train mean) and
categories (one-hot over the train file's sorted values, an unseen value all zeros).

An `Encoding` is fitted once on the train rows and kept in the run folder (`to_dict`), so
that prediction, `Program.predict(DataFrame)` and the ONNX export encode as training did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MISSING_NAME",
    "ColumnCode",
    "Encoded",
    "Encoding",
    "Factorized",
    "column_keys",
    "fit_column",
]

Label = int | float | str
ColumnKind = Literal["numeric", "categorical"]
MISSING_NAME = "<missing>"
"""How the extra category of missing cells is named in the expanded input names."""


@dataclass(frozen=True)
class ColumnCode:
    """How one feature column becomes inputs.

    `numeric`: one input, the cell's value; a missing cell takes `mean` (the train rows').
    `categorical`: one input per category of the train rows, in sorted order (numbers by
    value when `by_value`, else text as written), then one for missing cells when the train
    rows had any (`missing`); a value training never saw is all zeros.
    """

    name: str
    kind: ColumnKind
    mean: float = 0.0
    categories: tuple[Label, ...] = ()
    by_value: bool = False
    missing: bool = False

    @property
    def width(self) -> int:
        """The inputs this column expands to."""
        return 1 if self.kind == "numeric" else len(self.categories) + int(self.missing)

    def input_names(self) -> list[str]:
        """The expanded inputs' names: the column, or `column=category` for each category."""
        if self.kind == "numeric":
            return [self.name]
        names = [f"{self.name}={category}" for category in self.categories]
        return names + ([f"{self.name}={MISSING_NAME}"] if self.missing else [])

    def to_dict(self) -> dict[str, Any]:
        """The column's encoder as JSON-ready data."""
        if self.kind == "numeric":
            return {"name": self.name, "kind": "numeric", "mean": self.mean}
        return {
            "name": self.name,
            "kind": "categorical",
            "categories": list(self.categories),
            "by_value": self.by_value,
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnCode:
        """The encoder that `to_dict` wrote; a `ValueError` if it is damaged."""
        name, kind = data.get("name"), data.get("kind")
        if not isinstance(name, str) or kind not in ("numeric", "categorical"):
            raise ValueError("a column encoder needs a `name` and a `kind`")
        if kind == "numeric":
            mean = data.get("mean")
            if not isinstance(mean, int | float) or isinstance(mean, bool):
                raise ValueError(f"column `{name}`: `mean` is not a number")
            return cls(name, "numeric", mean=float(mean))
        categories = data.get("categories")
        if not isinstance(categories, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in categories
        ):
            raise ValueError(f"column `{name}`: `categories` is not a list of values")
        return cls(
            name,
            "categorical",
            categories=tuple(categories),
            by_value=bool(data.get("by_value", False)),
            missing=bool(data.get("missing", False)),
        )


@dataclass
class Encoded:
    """Encoded rows `(N, W)` float64, and what was filled or unseen on the way."""

    inputs: npt.NDArray[np.float64]
    filled: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Encoding:
    """Every feature column's encoder, in the file's order (targets and ignored columns
    left out)."""

    columns: tuple[ColumnCode, ...]

    @property
    def width(self) -> int:
        """The network's input width."""
        return sum(column.width for column in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        """The feature columns' names."""
        return tuple(column.name for column in self.columns)

    @property
    def categorical(self) -> bool:
        """Whether any feature is categorical."""
        return any(column.kind == "categorical" for column in self.columns)

    def input_names(self) -> tuple[str, ...]:
        """The names of the `width` inputs."""
        return tuple(name for column in self.columns for name in column.input_names())

    def one_hot_mask(self) -> npt.NDArray[np.bool_]:
        """Which inputs are one-hot (normalisation leaves them as they are)."""
        return np.array(
            [column.kind == "categorical" for column in self.columns for _ in range(column.width)],
            dtype=np.bool_,
        )

    def encode(
        self, frame: pd.DataFrame, factorized: Mapping[str, Factorized] | None = None
    ) -> Encoded:
        """The rows of `frame` (columns by name, missing cells NaN or None) as inputs.

        The array is column-major (each column written in one sweep, not strided across
        rows). It is torch's memory: numpy asks the kernel for huge pages for large arrays,
        which on a machine that compacts memory to find them made the first write of a
        360 MB array 5x slower (benchmarks/data.py --tables).
        """
        import torch

        memory = torch.empty((self.width, len(frame)), dtype=torch.float64).numpy()
        result = Encoded(memory.T)
        start = 0
        for column in self.columns:
            block = result.inputs[:, start : start + column.width]
            found = (factorized or {}).get(column.name)
            filled, unseen = encode_column(column, frame[column.name], block, found)
            start += column.width
            if filled:
                result.filled[column.name] = filled
            if unseen:
                result.unseen[column.name] = unseen
        return result

    def to_dict(self) -> list[dict[str, Any]]:
        """Every column's encoder as JSON-ready data."""
        return [column.to_dict() for column in self.columns]

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]]) -> Encoding:
        """The encoding that `to_dict` wrote; a `ValueError` if it is damaged."""
        if not isinstance(data, list | tuple):
            raise ValueError("the encoding is not a list of columns")
        return cls(tuple(ColumnCode.from_dict(column) for column in data))

    @classmethod
    def numeric(cls, names: Sequence[str], means: Sequence[float]) -> Encoding:
        """Numeric columns only (the v2 tables)."""
        pairs = zip(names, means, strict=True)
        return cls(tuple(ColumnCode(name, "numeric", mean=mean) for name, mean in pairs))


def column_keys(series: pd.Series[Any], by_value: bool) -> tuple[npt.NDArray[Any], Any]:
    """(codes, distinct keys) of a column's cells: -1 for a missing cell; keys are floats
    when `by_value` (a cell that is no number is a key of its own, text), else the text
    as written, blanks around it removed (a number as its shortest text)."""
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = [_key(value, by_value) for value in uniques]
    merged: dict[object, int] = {}
    remap = np.asarray([merged.setdefault(key, len(merged)) for key in keys] + [-1], np.int64)
    return remap[codes], list(merged)


Factorized = tuple[npt.NDArray[np.int64], list[Any]]
"""A column's cells as (codes, distinct keys), as `column_keys` gives them."""


def fit_column(
    name: str, series: pd.Series[Any], categorical: bool, factorized: Factorized | None = None
) -> ColumnCode | None:
    """The encoder of a train column; None when every cell is missing. `factorized`: the
    column's `column_keys`, when they are at hand."""
    numeric = series.dtype.kind in "iuf"
    if numeric and not categorical:
        values = series.to_numpy(dtype=np.float64)
        count = int(np.count_nonzero(~np.isnan(values)))
        if count == 0:
            return None
        return ColumnCode(name, "numeric", mean=float(np.nansum(values) / count))
    if not bool(series.notna().any()):
        return None
    codes, keys = factorized or column_keys(series, numeric)
    categories = sorted(keys, key=_order)
    return ColumnCode(
        name,
        "categorical",
        categories=tuple(_label(key) for key in categories),
        by_value=numeric,
        missing=bool((codes < 0).any()),
    )


def encode_column(
    column: ColumnCode,
    series: pd.Series[Any],
    out: npt.NDArray[np.float64],
    factorized: Factorized | None = None,
) -> tuple[int, int]:
    """Write one column's inputs into `out` `(N, width)`; return (cells filled, cells of
    unseen categories)."""
    if column.kind == "numeric":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(values)
        out[:, 0] = values
        filled = int(missing.sum())
        if filled:
            out[missing, 0] = column.mean
        return filled, 0
    codes, keys = factorized or column_keys(series, column.by_value)
    index = {_key(category, column.by_value): i for i, category in enumerate(column.categories)}
    lookup = np.asarray([index.get(key, -2) for key in keys] + [-1], dtype=np.int64)
    positions = lookup[codes]
    missing = positions == -1
    filled = int(missing.sum())
    if column.missing:
        positions = np.where(missing, len(column.categories), positions)
    out[:] = 0.0
    known = positions >= 0
    out[np.flatnonzero(known), positions[known]] = 1.0
    return filled, int((positions == -2).sum())


def _key(value: object, by_value: bool) -> float | str:
    if by_value:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value).strip()
        if math.isfinite(number):
            return number
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.strip() if isinstance(value, str) else str(value)


def _order(key: float | str) -> tuple[int, float, str]:
    return (0, key, "") if isinstance(key, float) else (1, 0.0, key)


def _label(key: float | str) -> Label:
    return int(key) if isinstance(key, float) and key.is_integer() else key
