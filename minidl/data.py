"""Data sets: the seed report's disk, CSV files, and seeded mini-batch orders."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["DISK_RADIUS", "Dataset", "batches", "disk", "shuffled", "stack_datasets"]

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
        return self.inputs.shape[-1]

    @property
    def outputs(self) -> int:
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
