"""Activations: Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU (element-wise) and Softmax."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from minidl.nn.linear import Linear
from minidl.nn.module import Module

__all__ = ["GELU", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]

_INV_SQRT2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_THRESHOLD_BACKWARD = torch.ops.aten.threshold_backward.default
"""grad where the output is > 0, else 0; the overload itself, which is called fastest."""


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

    def after_linear(self, linear: Linear, x: Tensor) -> Tensor:
        """`forward(linear.forward(x))` as one fused call (`Linear.forward_relu`): the same
        values, and each module keeps what its backward needs."""
        self.output = linear.forward_relu(x)
        return self.output

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.output is not None, "backward called before forward"
        # The derivative is 1 where the output is positive, else 0: grad * (output > 0), in
        # one pass (torch's own ReLU backward; it gives 0, not -0, where grad < 0).
        masked: Tensor = _THRESHOLD_BACKWARD(grad, self.output, 0)
        return masked


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


class Identity(Module):
    """Passes its input on unchanged (the other branch of a residual join).

    Shape: input `(*)`, output `(*)`, the same tensor.
    """

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        return x

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        return grad


class LeakyReLU(Module):
    """x where x > 0, else slope * x, element-wise (torch.nn.LeakyReLU).

    Args:
        slope: the factor for non-positive inputs (torch's `negative_slope`).

    Shape: input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope
        self.positive: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.positive = x > 0
        return F.leaky_relu(x, self.slope)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.positive is not None, "backward called before forward"
        # The derivative is 1 where x > 0, else slope (at 0 too, as torch).
        return torch.where(self.positive, grad, grad * self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF, in the exact erf form (torch.nn.GELU()).

    Phi(x) = (1 + erf(x / sqrt 2)) / 2; the derivative is Phi(x) + x * phi(x), phi the
    standard normal density exp(-x^2 / 2) / sqrt(2 pi).

    Shape: input `(*)`, output `(*)`, the same shape.
    """

    def __init__(self) -> None:
        self.input: Tensor | None = None
        self.cdf: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.input = x
        self.cdf = torch.erf(x * _INV_SQRT2).add_(1).mul_(0.5)
        return x * self.cdf

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        x, cdf = self.input, self.cdf
        assert x is not None and cdf is not None, "backward called before forward"
        density = torch.exp(x.square().mul_(-0.5)).mul_(_INV_SQRT_2PI)
        return grad * torch.addcmul(cdf, x, density)


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) over the last axis (the features of each sample).

    The backward is the Jacobian-vector product y * (g - sum(g * y)), the sum over the
    same axis.

    Shape: input `(*, D)`, output `(*, D)`, each row summing to 1.
    """

    def __init__(self) -> None:
        self.output: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.output = torch.softmax(x, dim=-1)
        return self.output

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        y = self.output
        assert y is not None, "backward called before forward"
        return y * (grad - (grad * y).sum(dim=-1, keepdim=True))
