"""BatchNorm: normalise each feature over the mini-batch, with running statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from minidl.nn.module import Module
from minidl.nn.normalization import Normalization, normalized_backward

__all__ = ["BatchNorm"]


class BatchNorm(Normalization):
    """Normalise each feature over the mini-batch, exactly as torch.nn.BatchNorm1d on (N, D).

    While training: y = (x - mean) / sqrt(var + eps) * weight + bias with the batch mean and
    the biased batch variance, and the running statistics move to
    (1 - momentum) * old + momentum * batch, with the unbiased batch variance. While
    evaluating, the running statistics (mean 0 and variance 1 at the start) take their place.
    They are state, not parameters: `buffers()` returns them, `param()` does not.

    Args:
        features: width of each sample.
        eps: added to the variance for stability.
        momentum: the weight of each new batch in the running statistics.
        affine: whether to learn the per-feature scale (weight) and shift (bias).
        dtype, device: where the parameters and statistics live (float32 on the CPU by default).

    Shape:
        input `(N, D)` with N >= 2 while training, or also `(D,)` while evaluating; stacked
        runs `(R, N, D)` with parameters and statistics `(R, D)`, each run normalised over
        its own N samples. Output the same shape.
    """

    buffer_names: ClassVar[tuple[str, ...]] = ("running_mean", "running_var")

    def __init__(
        self,
        features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        *,
        image: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm: momentum must be between 0 and 1, got {momentum}")
        super().__init__(features, eps, affine, dtype, device)
        self.image = image
        self.momentum = momentum
        self.running_mean = torch.zeros(features, dtype=dtype, device=device)
        self.running_var = torch.ones(features, dtype=dtype, device=device)
        self.batch_statistics = True  # which statistics the last forward used

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        if not self.image:
            return self._forward(x)
        # Images `(N, C, H, W)`: each channel is a feature and every pixel of every sample a
        # sample of it (torch.nn.BatchNorm2d); stacked `(R, N, C, H, W)` keep the run axis.
        channels_last = x.movedim(-3, -1)
        rows = None if self.runs is None else channels_last.reshape(self.runs, -1, self.features)
        out = self._forward(channels_last.reshape(-1, self.features) if rows is None else rows)
        return out.view(channels_last.shape).movedim(-1, -3)

    def _forward(self, x: Tensor) -> Tensor:
        self._check_width(x)
        self.batch_statistics = self.training
        if not self.training:
            self.rstd = torch.rsqrt(self._per_run(self.running_var) + self.eps)
            self.xhat = (x - self._per_run(self.running_mean)) * self.rstd
            return self._scale_shift(self.xhat)
        samples = x.shape[-2] if x.dim() >= 2 else 1
        if samples < 2:
            raise ValueError(
                "BatchNorm: training needs at least 2 samples per batch to estimate the "
                f"variance, got input of shape {tuple(x.shape)}; call eval() to use the "
                "running statistics"
            )
        mean = x.mean(-2, keepdim=True)
        centred = x - mean
        variance = centred.square().mean(-2, keepdim=True)
        self.rstd = torch.rsqrt(variance + self.eps)
        self.xhat = centred * self.rstd
        self._update_running(mean.squeeze(-2), variance.squeeze(-2) * (samples / (samples - 1)))
        return self._scale_shift(self.xhat)

    def _update_running(self, mean: Tensor, unbiased_variance: Tensor) -> None:
        # In place, so that the tensors `buffers()` handed out stay the live ones.
        self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
        self.running_var.mul_(1 - self.momentum).add_(unbiased_variance, alpha=self.momentum)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        if not self.image:
            return self._backward(grad)
        channels_last = grad.movedim(-3, -1)
        rows = None if self.runs is None else channels_last.reshape(self.runs, -1, self.features)
        dx = self._backward(channels_last.reshape(-1, self.features) if rows is None else rows)
        return dx.view(channels_last.shape).movedim(-1, -3)

    def _backward(self, grad: Tensor) -> Tensor:
        xhat, rstd = self.xhat, self.rstd
        assert xhat is not None and rstd is not None, "backward called before forward"
        dxhat = self._affine_backward(grad, xhat)
        if not self.batch_statistics:  # the running statistics are constants
            return dxhat * rstd
        return normalized_backward(dxhat, xhat, rstd, -2)

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> BatchNorm:
        """One BatchNorm over a leading run axis, each run's parameters and statistics `(R, D)`."""
        runs = cls._alike(modules)
        first = runs[0]
        module = cls(first.features, first.eps, first.momentum, affine=False, image=first.image)
        module._stacked_affine(runs)
        module.running_mean = torch.stack([run.running_mean for run in runs])
        module.running_var = torch.stack([run.running_var for run in runs])
        return module

    def extra_repr(self) -> str:
        image = ", image=True" if self.image else ""
        return (
            f"{self._runs_repr()}features={self.features}, eps={self.eps}, "
            f"momentum={self.momentum}, affine={self.affine}{image}"
        )
