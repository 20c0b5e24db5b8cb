"""The base class of every minidl module: forward, backward, param, zero_grad."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Module", "Parameter"]

Parameter = tuple[Tensor, Tensor]
"""A parameter as `param()` returns it: the value and its accumulated gradient."""


class Module:
    """A layer with a hand-written backward pass.

    `forward` keeps what `backward` needs; `backward` accumulates the gradients of the
    parameters and returns the gradient with respect to the input.
    """

    def forward(self, *input: Tensor) -> Tensor:
        """Return the module's output for `input`."""
        raise NotImplementedError

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        """Accumulate parameter gradients and return the gradient with respect to the input."""
        raise NotImplementedError

    def param(self) -> list[Parameter]:
        """Return the `(value, grad)` pairs of the module's parameters."""
        return []

    def bind(self, params: list[Parameter]) -> None:
        """Replace the parameters with `params` (same order and shapes as `param()`)."""
        if params:
            raise ValueError(f"{type(self).__name__} has no parameters to bind")

    def zero_grad(self) -> None:
        """Clear the accumulated parameter gradients."""
        for _, grad in self.param():
            grad.zero_()

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Module:
        """Move the parameters (and their gradients) to `device` and `dtype`; return self."""
        return self

    def __call__(self, *input: Tensor) -> Tensor:
        return self.forward(*input)

    def extra_repr(self) -> str:
        """Return the arguments shown between the parentheses of `repr`."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
