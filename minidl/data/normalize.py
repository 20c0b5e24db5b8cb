"""Feature normalisation from the train rows' statistics, and the warning about scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

__all__ = ["NORMALIZATIONS", "NormalizeKind", "Normalizer", "scale_warning"]

NormalizeKind = Literal["none", "standard", "minmax"]
NORMALIZATIONS: tuple[NormalizeKind, ...] = get_args(NormalizeKind)


class Normalizer:
    """`(x - shift) / scale` per feature, with float64 statistics of the train inputs.

    `standard`: shift the mean, scale the population standard deviation (dividing by N);
    `minmax`: shift the minimum, scale the range, so the train range maps to [0, 1];
    `none`: the inputs as they are. A constant feature gets scale 1: under `standard` it is
    left centred (all 0), under `minmax` it maps to 0; nothing is divided by zero.
    """

    def __init__(
        self, kind: NormalizeKind = "none", shift: Tensor | None = None, scale: Tensor | None = None
    ) -> None:
        if kind not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, not {kind!r}")
        if (shift is None) != (scale is None):
            raise ValueError("give both shift and scale, or neither")
        self.kind = kind
        self.shift = None if shift is None else shift.to(torch.float64)
        self.scale = None if scale is None else scale.to(torch.float64)

    def fit(self, inputs: Tensor) -> Normalizer:
        """Take the statistics of the train inputs `(N, D)`; return self."""
        if self.kind == "none":
            return self
        x = inputs.detach().to("cpu", torch.float64)
        low, high = x.aminmax(dim=0)
        # Constancy is decided exactly (min == max): the std of a constant column of 0.1s
        # comes out near 1e-17, not 0, and dividing by it would blow its rows up.
        constant = low == high
        if self.kind == "standard":
            shift = torch.where(constant, low, x.mean(dim=0))
            spread = x.std(dim=0, correction=0)
        else:
            shift, spread = low, high - low
        self.shift = shift
        self.scale = torch.where(constant | ~(spread > 0), torch.ones_like(spread), spread)
        return self

    def apply(self, inputs: Tensor) -> Tensor:
        """The inputs `(N, D)` normalised, computed in float64, in their own dtype."""
        if self.kind == "none":
            return inputs
        if self.shift is None or self.scale is None:
            raise RuntimeError(f"the {self.kind} normaliser has no statistics yet: fit it first")
        shift, scale = self.shift.to(inputs.device), self.scale.to(inputs.device)
        return ((inputs.to(torch.float64) - shift) / scale).to(inputs.dtype)

    def invert(self, values: Tensor) -> Tensor:
        """`apply` undone: normalised values `(N, D)` back on their own scale, float64."""
        values = values.to(torch.float64)
        if self.kind == "none" or self.shift is None or self.scale is None:
            return values
        return values * self.scale.to(values.device) + self.shift.to(values.device)

    def to_dict(self) -> dict[str, object]:
        """The kind and statistics as JSON-ready data (floats print exactly in JSON)."""
        data: dict[str, object] = {"kind": self.kind}
        if self.shift is not None and self.scale is not None:
            data["shift"] = self.shift.tolist()
            data["scale"] = self.scale.tolist()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Normalizer:
        """The normaliser that `to_dict` wrote; a `ValueError` if the data is damaged."""
        kinds = [kind for kind in NORMALIZATIONS if kind == data.get("kind")]
        if not kinds:
            raise ValueError(f"unknown normalisation {data.get('kind')!r}")
        if kinds[0] == "none":
            return cls("none")
        shift, scale = _numbers(data.get("shift")), _numbers(data.get("scale"))
        if shift is None or scale is None or len(shift) != len(scale):
            raise ValueError(f"the {kinds[0]} normalisation needs two lists of numbers, alike")
        f64 = torch.float64
        return cls(kinds[0], torch.tensor(shift, dtype=f64), torch.tensor(scale, dtype=f64))

    def __repr__(self) -> str:
        fitted = "" if self.shift is None else f", features={len(self.shift)}"
        return f"Normalizer({self.kind!r}{fitted})"


def scale_warning(
    inputs: Tensor, names: Sequence[str], limit: float = 100.0
) -> tuple[str, str, float] | None:
    """(widest column, narrowest column, ratio of their ranges) when it exceeds `limit`.

    The range is max - min over the rows; constant columns are left out (no normalisation
    would widen them). None when the ranges are within `limit` of each other.
    """
    low, high = inputs.detach().to("cpu", torch.float64).aminmax(dim=0)
    ranges = high - low
    varying = (ranges > 0).nonzero().flatten().tolist()
    if len(varying) < 2:
        return None
    widest = max(varying, key=lambda column: float(ranges[column]))
    narrowest = min(varying, key=lambda column: float(ranges[column]))
    ratio = float(ranges[widest] / ranges[narrowest])
    return (names[widest], names[narrowest], ratio) if ratio > limit else None


def _numbers(value: object) -> list[float] | None:
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in value):
        return None
    return [float(item) for item in value]
