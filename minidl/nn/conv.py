"""The 2-D convolution, written on `unfold` (im2col) and `fold` (col2im) with matrix products."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from minidl.nn.module import Module
from minidl.nn.weighted import WeightAndBias

__all__ = ["Conv2d"]


class Conv2d(WeightAndBias):
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
        super()._set_tensors(weight, bias)
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
        return 1 if self.runs is None else self.runs

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        runs, k, s, p = self._runs(), self.kernel, self.stride, self.padding
        self.input_shape = x.shape
        padded = F.pad(x, (p, p, p, p)) if p else x
        # windows (*, IN, H', W', K, K): a strided view of every K x K window, no copy
        windows = padded.unfold(-2, k, s).unfold(-2, k, s)
        h_out, w_out = windows.shape[-4:-2]
        # columns (R, N*H'*W', IN*K*K): one row per window (im2col), in the weight's order
        columns = windows.movedim(-5, -3).reshape(runs, -1, self.in_channels * k * k)
        self.columns = columns
        weight = self.weight.reshape(runs, self.out_channels, -1)
        if self.bias is None:
            out = torch.matmul(columns, weight.mT)
        else:
            out = torch.baddbmm(self.bias.reshape(runs, 1, -1), columns, weight.mT)
        # (R, N*H'*W', OUT) seen as (*, OUT, H', W'): channels last in memory, no copy
        out = out.view(*x.shape[:-3], h_out, w_out, self.out_channels)
        return out.movedim(-1, -3)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        columns, shape = self.columns, self.input_shape
        assert columns is not None and shape is not None, "backward called before forward"
        runs, k, s, p = self._runs(), self.kernel, self.stride, self.padding
        h_out, w_out = grad.shape[-2:]
        g = grad.movedim(-3, -1).reshape(runs, -1, self.out_channels)  # (R, N*H'*W', OUT)
        # dW = g^T columns, db = g summed over the windows, dcolumns = g W.
        weight = self.weight.reshape(runs, self.out_channels, -1)
        self.weight_grad.view(runs, self.out_channels, -1).baddbmm_(g.mT, columns)
        if self.bias_grad is not None:
            self.bias_grad.view(runs, -1).add_(g.sum(1))
        dcolumns = torch.bmm(g, weight).view(-1, h_out, w_out, self.in_channels, k, k)
        # col2im: each window's gradient added back where the window lies (overlaps add up)
        h, w = shape[-2] + 2 * p, shape[-1] + 2 * p
        dx = grad.new_zeros(dcolumns.shape[0], self.in_channels, h, w)
        for row in range(k):
            for col in range(k):
                part = dcolumns[..., row, col].movedim(-1, 1)
                dx[:, :, row : row + s * h_out : s, col : col + s * w_out : s] += part
        if p:
            dx = dx[:, :, p : h - p, p : w - p]
        return dx.reshape(shape)

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Conv2d:
        """One layer over a leading run axis: the runs' weights copied into `(R, ...)`."""
        first = cls._alike(modules)[0]
        layer = cls.__new__(cls)
        layer.stride, layer.padding = first.stride, first.padding
        layer._set_tensors(*cls._stacked_tensors(modules))
        layer.training = first.training
        return layer

    def extra_repr(self) -> str:
        return (
            f"{self._runs_repr()}{self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
