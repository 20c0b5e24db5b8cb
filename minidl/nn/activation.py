"""Element-wise activations: ReLU, Tanh, Sigmoid."""

from __future__ import annotations

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """max(0, x), element-wise.

    Shape: input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self) -> None:
        self.mask: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.mask = x > 0
        return x * self.mask

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.mask is not None, "backward called before forward"
        return grad * self.mask


class Tanh(Module):
    """tanh(x), element-wise; its derivative is 1 - tanh(x)^2.

    Shape: input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self) -> None:
        self.output: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.output = torch.tanh(x)
        return self.output

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.output is not None, "backward called before forward"
        return grad * (1 - self.output.square())


class Sigmoid(Module):
    """1 / (1 + exp(-x)), element-wise; its derivative is s(x)(1 - s(x)).

    Shape: input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self) -> None:
        self.output: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.output = torch.sigmoid(x)
        return self.output

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.output is not None, "backward called before forward"
        return grad * self.output * (1 - self.output)
