"""Stochastic gradient descent over `(value, grad)` pairs."""

from __future__ import annotations

import torch
from torch import Tensor

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

    def step(self) -> None:
        """Update every parameter from its accumulated gradient."""
        values = [value for value, _ in self.params]
        grads = [grad for _, grad in self.params]
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
        torch._foreach_zero_([grad for _, grad in self.params])
