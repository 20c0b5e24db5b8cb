"""The mean squared error loss."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from minidl.nn.module import Module

__all__ = ["LossMSE", "Reduction"]

Reduction = Literal["sum", "mean"]


class LossMSE(Module):
    """Mean squared error: for one sample, the mean of the squared errors over its features.

    Over a mini-batch, `reduction="sum"` adds the per-sample losses, so the batch gradient is
    the sum of the per-sample gradients (the seed report's accumulation); `"mean"` averages
    them. Called as `forward((pred, target))`, as in the report, or `forward(pred, target)`.

    Shape: pred `(D,)`, `(N, D)` or `(R, N, D)`; target of the same shape (or the same number
    of elements, such as `(N,)` against `(N, 1)`); output a scalar (summed over runs).
    """

    def __init__(self, reduction: Reduction = "sum") -> None:
        if reduction not in ("sum", "mean"):
            raise ValueError(f"LossMSE: reduction must be 'sum' or 'mean', got {reduction!r}")
        self.reduction: Reduction = reduction
        self.diff: Tensor | None = None
        self.run_sums: Tensor | None = None
        self.scale = 1.0

    def forward(self, *input: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        pred, target = _pred_and_target(input)
        if target.shape != pred.shape:
            if target.numel() != pred.numel():
                raise ValueError(
                    f"LossMSE: prediction has shape {tuple(pred.shape)} "
                    f"but target has shape {tuple(target.shape)}"
                )
            target = target.reshape(pred.shape)
        self.diff = pred - target
        features = pred.shape[-1] if pred.dim() > 0 else 1
        samples = pred.shape[-2] if pred.dim() >= 2 and self.reduction == "mean" else 1
        self.scale = 1.0 / (features * samples)
        squares = self.diff.square()
        if squares.dim() == 3:  # stacked runs: keep each run's sum for its history
            self.run_sums = squares.sum(dim=(1, 2))
            total = self.run_sums.sum()
        else:
            self.run_sums = None
            total = squares.sum()
        return total if self.scale == 1.0 else total * self.scale

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        assert self.diff is not None, "backward called before forward"
        grad = self.diff + self.diff  # 2 (pred - target): an addition is cheaper than a scaling
        if self.scale != 1.0:
            grad *= self.scale
        return grad * gradwrtoutput[0] if gradwrtoutput else grad

    def per_sample_sum(self) -> Tensor:
        """The last forward's per-sample losses, summed: a scalar, or one per run `(R,)`."""
        assert self.diff is not None, "per_sample_sum called before forward"
        if self.run_sums is not None:
            return self.run_sums / self.diff.shape[-1]
        if self.diff.dim() <= 1:
            return self.diff.square().mean()
        return self.diff.square().sum(dim=(-2, -1)) / self.diff.shape[-1]

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _pred_and_target(input: tuple[Tensor | tuple[Tensor, Tensor], ...]) -> tuple[Tensor, Tensor]:
    if len(input) == 1 and isinstance(input[0], tuple):
        input = input[0]
    if len(input) != 2:
        raise TypeError("LossMSE.forward takes (pred, target), as a pair or as two arguments")
    pred, target = input
    assert isinstance(pred, Tensor) and isinstance(target, Tensor)
    return pred, target
