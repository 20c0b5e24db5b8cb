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
        self.output: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.output = torch.relu(x)
        return self.output

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.output is not None, "backward called before forward"
        # The derivative is 1 where the output is positive, else 0: the output's sign.
        return grad * self.output.sign()


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
        # grad * (1 - y^2) as grad - grad * y^2: one fused call fewer, same value.
        return torch.addcmul(grad, grad, self.output.square(), value=-1)


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
