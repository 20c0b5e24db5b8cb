"""Stochastic gradient descent over `(value, grad)` pairs."""

from __future__ import annotations

import torch
from torch import Tensor

from minidl.nn.flat import flat_view
from minidl.nn.module import Parameter

__all__ = ["SGD"]


class SGD:
    """p <- p - lr * g, with optional momentum and weight decay, as `torch.optim.SGD` does.

    With weight decay, g is first replaced by g + weight_decay * p; with momentum, by the
    buffer b <- momentum * b + g (b = g on the first step).

    Args:
        params: the `(value, grad)` pairs of `Module.param()`.
        lr: the learning rate (`alpha` is accepted too, as the seed report spells it).
        momentum: the momentum factor, 0 for none.
        weight_decay: the L2 penalty factor, 0 for none.
    """

    def __init__(
        self,
        params: list[Parameter],
        lr: float | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        alpha: float | None = None,
    ) -> None:
        if lr is None:
            lr = alpha
        if lr is None or not lr > 0:
            raise ValueError(f"SGD: lr must be a positive number, got {lr!r}")
        if momentum < 0 or weight_decay < 0:
            raise ValueError("SGD: momentum and weight_decay must not be negative")
        self.params = list(params)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.buffers: list[Tensor] | None = None
        # One flat tensor for all values and one for all gradients (flatten_parameters)
        # turn each update into single torch calls.
        values, grads = flat_view(self._values()), flat_view(self._grads())
        self.flat = None if values is None or grads is None else (values, grads)

    def _values(self) -> list[Tensor]:
        return [value for value, _ in self.params]

    def _grads(self) -> list[Tensor]:
        return [grad for _, grad in self.params]

    def step(self) -> None:
        """Update every parameter from its accumulated gradient."""
        if self.flat is not None:
            value, grad = self.flat
            self._update([value], [grad])
        else:
            self._update(self._values(), self._grads())

    def _update(self, values: list[Tensor], grads: list[Tensor]) -> None:
        if self.weight_decay:
            grads = list(torch._foreach_add(grads, values, alpha=self.weight_decay))
        if self.momentum:
            if self.buffers is None:
                self.buffers = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads)
            grads = self.buffers
        torch._foreach_add_(values, grads, alpha=-self.lr)

    def zero_grad(self) -> None:
        """Clear the gradients of every parameter."""
        if self.flat is not None:
            self.flat[1].zero_()
        else:
            torch._foreach_zero_(self._grads())
