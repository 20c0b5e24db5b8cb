"""Pooling over K x K windows (max, average) and `Flatten`, on strided views of the input."""

from __future__ import annotations

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["AvgPool2d", "Flatten", "MaxPool2d"]


def _windows(x: Tensor, kernel: int, stride: int) -> Tensor:
    """`(*, H, W)` as a strided view `(*, H', W', K, K)` of its K x K windows (no copy)."""
    return x.unfold(-2, kernel, stride).unfold(-2, kernel, stride)


class _Pool(Module):
    """What both pools share: the window's side and step, and the input's shape."""

    def __init__(self, kernel: int, stride: int | None = None) -> None:
        stride = kernel if stride is None else stride
        if kernel < 1 or stride < 1:
            raise ValueError(f"{type(self).__name__}: kernel={kernel}, stride={stride}")
        self.kernel, self.stride = kernel, stride
        self.input_shape: torch.Size | None = None

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


class MaxPool2d(_Pool):
    """The largest value of each K x K window (torch.nn.MaxPool2d without padding).

    Shape: input `(*, C, H, W)`, output `(*, C, H', W')`, H' = floor((H - K) / S) + 1.
    """

    def __init__(self, kernel: int, stride: int | None = None) -> None:
        super().__init__(kernel, stride)
        self.where: Tensor | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.input_shape = x.shape
        windows = _windows(x, self.kernel, self.stride)
        out, position = windows.flatten(-2).max(-1)  # position in the window: kh * K + kw
        h_out, w_out = out.shape[-2:]
        width = x.shape[-1]
        rows = torch.arange(h_out, device=x.device).unsqueeze(1) * (self.stride * width)
        cols = torch.arange(w_out, device=x.device) * self.stride
        # The flat index (h * W + w) of each window's maximum in its input plane.
        self.where = rows + cols + (position // self.kernel) * width + position % self.kernel
        return out

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        where, shape = self.where, self.input_shape
        assert where is not None and shape is not None, "backward called before forward"
        # Each output's gradient goes to its window's maximum (added where windows overlap).
        dx = grad.new_zeros(*shape[:-2], shape[-2] * shape[-1])
        dx.scatter_add_(-1, where.flatten(-2), grad.flatten(-2))
        return dx.view(shape)


class AvgPool2d(_Pool):
    """The mean of each K x K window (torch.nn.AvgPool2d without padding).

    Shape: input `(*, C, H, W)`, output `(*, C, H', W')`, H' = floor((H - K) / S) + 1.
    """

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.input_shape = x.shape
        return _windows(x, self.kernel, self.stride).mean((-2, -1))

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        shape = self.input_shape
        assert shape is not None, "backward called before forward"
        k, s = self.kernel, self.stride
        h_out, w_out = grad.shape[-2:]
        # Each window's gradient, divided by K*K, added over the window (overlaps add up).
        share = grad / (k * k)
        dx = grad.new_zeros(shape)
        for row in range(k):
            for col in range(k):
                dx[..., row : row + s * h_out : s, col : col + s * w_out : s] += share
        return dx


class Flatten(Module):
    """An image `(C, H, W)` as the width C*H*W, channel by channel, row by row.

    Shape: input `(*, C, H, W)`, output `(*, C*H*W)`.
    """

    def __init__(self) -> None:
        self.input_shape: torch.Size | None = None

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        self.input_shape = x.shape
        return x.flatten(-3)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        assert self.input_shape is not None, "backward called before forward"
        return grad.reshape(self.input_shape)
