"""`Dataset`: inputs and targets as tensors, stacking, and seeded mini-batch orders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Dataset", "batches", "held_out", "shuffled", "stack_datasets"]


@dataclass(frozen=True)
class Dataset:
    """Inputs `(N, D)` (or images `(N, C, H, W)`) and targets `(N, T)`; stacked data sets
    add a leading run axis."""

    inputs: Tensor
    targets: Tensor

    def __len__(self) -> int:
        return self.targets.shape[-2]

    @property
    def stacked(self) -> bool:
        """Whether the data set holds several runs' data along a leading axis."""
        return self.targets.dim() == 3

    @property
    def features(self) -> int:
        """The width of one input sample (the last axis of an image's)."""
        return self.inputs.shape[-1]

    @property
    def shape(self) -> int | tuple[int, int, int]:
        """One input sample's shape: its width, or an image's (C, H, W)."""
        sample = tuple(self.inputs.shape[self.targets.dim() - 1 :])
        if len(sample) == 3:
            return (sample[0], sample[1], sample[2])
        return sample[0]

    def narrow(self, start: int, size: int) -> Dataset:
        """Samples `start` to `start + size` (of every run): views, no copy."""
        axis = self.targets.dim() - 2
        return Dataset(
            self.inputs.narrow(axis, start, size), self.targets.narrow(axis, start, size)
        )

    @property
    def outputs(self) -> int:
        """The width of one target."""
        return self.targets.shape[-1]

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Dataset:
        """Return the data set on `device` with floating point `dtype`."""
        return Dataset(self.inputs.to(device, dtype), self.targets.to(device, dtype))


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


def held_out(rows: int, fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A seeded hold-out of `round(fraction * rows)` of `rows` rows (`validation=`): the
    indices kept for training and those held out, each in the original order, from one
    `torch.randperm` drawn from `generator`. Raises `ValueError` when a part would be empty."""
    held = round(fraction * rows)
    if held < 1 or held >= rows:
        part = "validation" if held < 1 else "training"
        raise ValueError(
            f"validation={fraction:g} of {rows} training rows leaves no row for {part}"
        )
    order = torch.randperm(rows, generator=generator)
    kept, _ = order[held:].sort()
    out, _ = order[:held].sort()
    return kept, out
