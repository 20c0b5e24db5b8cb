"""LayerNorm: normalise each sample over its features."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from minidl.nn.module import Module
from minidl.nn.normalization import Normalization, normalized_backward

__all__ = ["LayerNorm"]


class LayerNorm(Normalization):
    """Normalise each sample over its features, then scale and shift (torch.nn.LayerNorm).

    y = (x - mean) / sqrt(var + eps) * weight + bias, with the mean and the biased variance
    over the last axis; weight starts at 1 and bias at 0.

    Args:
        features: width of each sample.
        eps: added to the variance for stability.
        affine: whether to learn the per-feature scale (weight) and shift (bias).
        dtype, device: where the parameters live (float32 on the CPU by default).

    Shape:
        input `(D,)`, `(N, D)`, or stacked runs `(R, N, D)` with parameters `(R, D)` (see
        `minidl.nn.stack`); output the same shape.
    """

    def __init__(
        self,
        features: int | tuple[int, ...],
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        shape = (features,) if isinstance(features, int) else tuple(features)
        super().__init__(math.prod(shape), eps, affine, dtype, device, shape)

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        # An image (C, H, W) is normalised as its C*H*W values in a row.
        flat = x if len(self.shape) == 1 else x.flatten(-len(self.shape))
        self._check_width(flat)
        # One fused call for mean = x.mean(-1), rstd = 1/sqrt(x.var(-1, biased) + eps) and
        # xhat * weight + bias, xhat = (x - mean) * rstd; backward rebuilds xhat from them.
        per_feature = self.weight is None or self.runs is None
        weight, bias = (self.weight, self.bias) if per_feature else (None, None)
        if weight is not None and bias is not None:
            weight, bias = self._flat(weight), self._flat(bias)
        output, self.mean, self.rstd = torch.native_layer_norm(
            flat, (self.features,), weight, bias, self.eps
        )
        self.input, self.xhat = flat, None
        output = output if per_feature else self._scale_shift(output)
        return output.view(x.shape)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        x, mean, rstd = self.input, self.mean, self.rstd
        assert x is not None and mean is not None and rstd is not None, "backward before forward"
        xhat = (x - mean).mul_(rstd)
        flat = grad.reshape(x.shape)
        dx = normalized_backward(self._affine_backward(flat, xhat), xhat, rstd, -1)
        return dx.view(grad.shape)

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> LayerNorm:
        """One LayerNorm over a leading run axis, with each run's scale and shift `(R, D)`."""
        runs = cls._alike(modules)
        module = cls(runs[0].shape, runs[0].eps, affine=False)
        module._stacked_affine(runs)
        return module

    def extra_repr(self) -> str:
        runs = self._runs_repr()
        features = self.features if len(self.shape) == 1 else self.shape
        return f"{runs}features={features}, eps={self.eps}, affine={self.affine}"
