"""The seed report's data: points in the unit square, labelled by a disk of half its area."""

from __future__ import annotations

import math

import torch

from minidl.data.dataset import Dataset

__all__ = ["DISK_RADIUS", "disk"]

DISK_RADIUS = 1 / math.sqrt(2 * math.pi)
"""The radius whose disk covers half of the unit square, so that the classes are balanced."""


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
