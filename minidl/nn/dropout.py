"""Dropout, with masks drawn on the CPU from the run's own generator."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """While training, zero each value with probability p and scale the rest by 1/(1-p).

    While evaluating it is the identity. The keep-mask is `torch.rand(shape, generator=g,
    dtype=float32) >= p`, drawn on the CPU and then moved to the input's device and dtype,
    so that a run is bit-reproducible whatever the device. `p=0` and `p=1` draw nothing (the
    mask is known): a `Dropout(0)` is exactly the identity and leaves the stream alone.

    Args:
        p: the probability of zeroing a value, in [0, 1].
        generator: the random stream for the masks (the global CPU one if None), or one per
            run for a stacked module (see `minidl.nn.stack`).

    Shape:
        input `(*)`, output `(*)`, the same shape. With R generators the input is stacked
        runs `(R, N, D)`, and run r's mask `(N, D)` comes from generator r, in the order that
        run alone would draw it.
    """

    def __init__(
        self, p: float = 0.5, generator: torch.Generator | Sequence[torch.Generator] | None = None
    ) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = p
        if generator is None:
            self.generators: list[torch.Generator] = []
        elif isinstance(generator, torch.Generator):
            self.generators = [generator]
        else:
            self.generators = list(generator)
        self.mask: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        if not self.training or self.p == 0:
            self.mask = None
            return x
        if self.p == 1:
            self.mask = torch.zeros_like(x)
        else:
            keep = self._draw_keep(x.shape)
            # As torch: the kept values' factor 1/(1-p) is folded into the mask.
            self.mask = keep.to(device=x.device, dtype=x.dtype).div_(1 - self.p)
        return x * self.mask

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        return grad if self.mask is None else grad * self.mask

    def _draw_keep(self, shape: torch.Size) -> Tensor:
        """The boolean keep-mask for an input of `shape`, drawn on the CPU."""
        if len(self.generators) <= 1:
            generator = self.generators[0] if self.generators else None
            return torch.rand(shape, generator=generator, dtype=torch.float32) >= self.p
        if len(shape) < 3 or shape[0] != len(self.generators):
            raise ValueError(
                f"Dropout: holds {len(self.generators)} generators, one per run, so it takes "
                f"stacked runs ({len(self.generators)}, N, D), got shape {tuple(shape)}"
            )
        draws = [torch.rand(shape[1:], generator=g, dtype=torch.float32) for g in self.generators]
        return torch.stack(draws) >= self.p

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Dropout:
        """One Dropout over a leading run axis that draws run r's masks from run r's generator.

        Either every run has its own generator or none has (then the stacked module draws
        from the global one, and the runs no longer match their solo selves).
        """
        runs = cls._alike(modules)
        if all(not run.generators for run in runs):
            generators: list[torch.Generator] = []
        elif all(len(run.generators) == 1 for run in runs):
            generators = [run.generators[0] for run in runs]
        else:
            raise ValueError("stack: each run's Dropout needs exactly one generator, or none")
        module = cls(runs[0].p, generators)
        module.training = runs[0].training
        return module

    def extra_repr(self) -> str:
        return f"p={self.p}"
