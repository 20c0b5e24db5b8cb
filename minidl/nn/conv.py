"""The 2-D convolution, written on `unfold` (im2col) and `fold` (col2im) with matrix products."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from minidl.nn.module import Module, Parameter

__all__ = ["Conv2d"]


class Conv2d(Module):
    """y = W * x + b over each K x K window (cross-correlation, as torch.nn.Conv2d).

    The weight `(OUT, IN, K, K)` and bias `(OUT,)` start as torch's defaults,
    U(-1/sqrt(IN*K*K), 1/sqrt(IN*K*K)).

    Args:
        in_channels, out_channels: channels of the input and the output.
        kernel: the window's side K.
        stride, padding: the step between windows, and the zeros added on each border.
        bias: whether to add a learnt bias per output channel.
        generator: the random stream for the initial weights (the global one if None).
        dtype, device: where the parameters live.

    Shape:
        input `(IN, H, W)` or `(N, IN, H, W)`, output `(OUT, H', W')` or `(N, OUT, H', W')`
        with H' = floor((H + 2P - K) / S) + 1 (W' alike). A layer stacked along a leading
        run axis (weight `(R, OUT, IN, K, K)`) maps `(R, N, IN, H, W)` to `(R, N, OUT, H', W')`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        if kernel < 1 or stride < 1 or padding < 0:
            raise ValueError(f"Conv2d: kernel={kernel}, stride={stride}, padding={padding}")
        bound = 1 / math.sqrt(in_channels * kernel * kernel)
        shape = (out_channels, in_channels, kernel, kernel)
        weight = torch.empty(shape, dtype=dtype, device=device)
        weight.uniform_(-bound, bound, generator=generator)
        b = None
        if bias:
            b = torch.empty(out_channels, dtype=dtype, device=device)
            b.uniform_(-bound, bound, generator=generator)
        self.stride, self.padding = stride, padding
        self._set_tensors(weight, b)

    def _set_tensors(self, weight: Tensor, bias: Tensor | None) -> None:
        self.weight, self.bias = weight, bias
        self.weight_grad = torch.zeros_like(weight)
        self.bias_grad = None if bias is None else torch.zeros_like(bias)
        self.columns: Tensor | None = None
        self.input_shape: torch.Size | None = None

    @property
    def kernel(self) -> int:
        """The window's side K."""
        return self.weight.shape[-1]

    @property
    def in_channels(self) -> int:
        return self.weight.shape[-3]

    @property
    def out_channels(self) -> int:
        return self.weight.shape[-4]

    def _runs(self) -> int:
        """R for a stacked layer (weight `(R, OUT, IN, K, K)`), else 1."""
        return self.weight.shape[0] if self.weight.dim() == 5 else 1

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        runs, (c, h, w) = self._runs(), x.shape[-3:]
        self.input_shape = x.shape
        batch = x.reshape(-1, c, h, w)
        # columns (R, N, IN*K*K, L): every window of every sample as a column (im2col)
        columns = F.unfold(batch, self.kernel, padding=self.padding, stride=self.stride)
        columns = columns.view(runs, -1, *columns.shape[1:])
        self.columns = columns
        weight = self.weight.reshape(runs, 1, self.out_channels, -1)
        out = torch.matmul(weight, columns)  # (R, N, OUT, L)
        if self.bias is not None:
            out += self.bias.reshape(runs, 1, -1, 1)
        k, s, p = self.kernel, self.stride, self.padding
        size = ((h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        return out.reshape(*x.shape[:-3], self.out_channels, *size)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        columns, shape = self.columns, self.input_shape
        assert columns is not None and shape is not None, "backward called before forward"
        runs = self._runs()
        g = grad.reshape(runs, -1, self.out_channels, columns.shape[-1])  # (R, N, OUT, L)
        # dW = sum over samples and windows of g x^T; db = g summed; dx = fold(W^T g).
        dweight = torch.einsum("rnol,rnkl->rok", g, columns)
        self.weight_grad.add_(dweight.reshape(self.weight_grad.shape))
        if self.bias_grad is not None:
            self.bias_grad.add_(g.sum((1, 3)).reshape(self.bias_grad.shape))
        weight_t = self.weight.reshape(runs, 1, self.out_channels, -1).transpose(-1, -2)
        dcolumns = torch.matmul(weight_t, g)  # (R, N, IN*K*K, L)
        h, w = shape[-2:]
        dx = F.fold(
            dcolumns.reshape(-1, *dcolumns.shape[2:]),
            (h, w),
            self.kernel,
            padding=self.padding,
            stride=self.stride,
        )
        return dx.reshape(shape)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Conv2d:
        bias = None if self.bias is None else self.bias.to(device, dtype)
        self._set_tensors(self.weight.to(device, dtype), bias)
        return self

    def param(self) -> list[Parameter]:
        params = [(self.weight, self.weight_grad)]
        if self.bias is not None and self.bias_grad is not None:
            params.append((self.bias, self.bias_grad))
        return params

    def bind(self, params: list[Parameter]) -> None:
        if len(params) != len(self.param()):
            raise ValueError(f"Conv2d.bind: expected {len(self.param())} parameters")
        self.weight, self.weight_grad = params[0]
        if self.bias is not None:
            self.bias, self.bias_grad = params[1]

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> Conv2d:
        """One layer over a leading run axis: the runs' weights copied into `(R, ...)`."""
        convs = cls._alike(modules)
        layer = cls.__new__(cls)
        layer.stride, layer.padding = convs[0].stride, convs[0].padding
        biases = [m.bias for m in convs if m.bias is not None]
        layer._set_tensors(
            torch.stack([m.weight for m in convs]), torch.stack(biases) if biases else None
        )
        layer.training = convs[0].training
        return layer

    def extra_repr(self) -> str:
        runs = f"runs={self.weight.shape[0]}, " if self.weight.dim() == 5 else ""
        return (
            f"{runs}{self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
