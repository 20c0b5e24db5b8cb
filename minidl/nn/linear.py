"""The affine layer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from minidl.nn.module import Module
from minidl.nn.weighted import WeightAndBias

__all__ = ["Linear"]


class Linear(WeightAndBias):
    """y = x W^T + b, with PyTorch's default initialisation U(-1/sqrt(in), 1/sqrt(in)).

    Args:
        in_features: width of each input sample.
        out_features: width of each output sample.
        bias: whether to add a learnt bias.
        generator: the random stream for the initial weights (the global one if None).
        dtype, device: where the parameters live (float32 on the CPU by default).

    Shape:
        input `(in,)` or `(N, in)`, output `(out,)` or `(N, out)`. A layer whose weight is
        stacked along a leading run axis (see `minidl.nn.stack`) maps `(R, N, in)` to
        `(R, N, out)`, one independent layer per run.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        bound = 1 / math.sqrt(in_features)
        weight = torch.empty(out_features, in_features, dtype=dtype, device=device)
        weight.uniform_(-bound, bound, generator=generator)
        b = None
        if bias:
            b = torch.empty(out_features, dtype=dtype, device=device)
            b.uniform_(-bound, bound, generator=generator)
        self._set_tensors(weight, b)

    @classmethod
    def from_tensors(cls, weight: Tensor, bias: Tensor | None = None) -> Linear:
        """Build a layer around existing weights `(out, in)` or stacked ones `(R, out, in)`."""
        layer = cls.__new__(cls)
        layer._set_tensors(weight, bias)
        layer.runs = weight.shape[0] if weight.dim() == 3 else None
        return layer

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Linear:
        """One layer over a leading run axis: the runs' weights copied into `(R, out, in)`."""
        return cls.from_tensors(*cls._stacked_tensors(modules))

    def _set_tensors(self, weight: Tensor, bias: Tensor | None) -> None:
        super()._set_tensors(weight, bias)
        self.input: Tensor | None = None

    @property
    def in_features(self) -> int:
        """The width of one input sample."""
        return self.weight.shape[-1]

    @property
    def out_features(self) -> int:
        """The width of one output sample."""
        return self.weight.shape[-2]

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.input = x
        if self.runs is not None:  # stacked runs: one batched product for all of them
            if self.bias is None:
                return torch.bmm(x, self.weight.mT)
            return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.mT)
        return F.linear(x, self.weight, self.bias)

    def forward_relu(self, x: Tensor) -> Tensor:
        """max(0, forward(x)), the same values, in one call where it can be: for a batch
        `(N, in)` with a bias, the bias and the max are the matrix product's epilogue on CUDA
        (the CPU adds and clamps as two calls would). See `ReLU.after_linear`."""
        if x.dim() != 2 or self.bias is None or self.runs is not None:
            return torch.relu(self.forward(x))
        self.input = x
        return torch._addmm_activation(self.bias, x, self.weight.t())

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        x = self.input
        assert x is not None, "backward called before forward"
        if self.runs is not None or x.dim() == 1:
            return self._backward_other(grad, x)
        # dW += g^T x, db += g summed over the samples; dx = g W.
        self.weight_grad.addmm_(grad.t(), x)
        if self.bias_grad is not None:
            self.bias_grad.add_(grad.sum(0))
        return grad @ self.weight

    def backward_params(self, grad: Tensor) -> None:
        """dW and db only: the product g W for the input's gradient is skipped."""
        x = self.input
        assert x is not None, "backward called before forward"
        if self.runs is not None:
            self.weight_grad.baddbmm_(grad.mT, x)
        elif x.dim() == 1:
            self.weight_grad.addr_(grad, x)
        else:
            self.weight_grad.addmm_(grad.t(), x)
        if self.bias_grad is not None:
            self.bias_grad.add_(grad if x.dim() == 1 else grad.sum(x.dim() - 2))

    def _backward_other(self, grad: Tensor, x: Tensor) -> Tensor:
        """The same for one sample `(in,)` or for stacked runs `(R, N, in)`."""
        if self.runs is None:  # one sample (in,)
            self.weight_grad.addr_(grad, x)
            if self.bias_grad is not None:
                self.bias_grad.add_(grad)
            return grad @ self.weight
        self.weight_grad.baddbmm_(grad.mT, x)
        if self.bias_grad is not None:
            self.bias_grad.add_(grad.sum(1))
        return torch.bmm(grad, self.weight)

    def extra_repr(self) -> str:
        shape = f"in_features={self.in_features}, out_features={self.out_features}"
        return f"{self._runs_repr()}{shape}, bias={self.bias is not None}"
