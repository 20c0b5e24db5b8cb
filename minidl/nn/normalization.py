"""Normalisation layers: LayerNorm (over each sample's features), BatchNorm (over the batch)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from minidl.nn.module import Module, Parameter

__all__ = ["BatchNorm", "LayerNorm"]


def _normalized_backward(dxhat: Tensor, xhat: Tensor, rstd: Tensor, dim: int) -> Tensor:
    """The gradient through xhat = (x - mean) * rstd, both statistics taken over `dim`.

    dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means over `dim`.
    """
    mean_dxhat = dxhat.mean(dim, keepdim=True)
    mean_dxhat_xhat = (dxhat * xhat).mean(dim, keepdim=True)
    centred = torch.addcmul(dxhat - mean_dxhat, xhat, mean_dxhat_xhat, value=-1)
    return centred.mul_(rstd)


def _per_run(tensor: Tensor) -> Tensor:
    """A per-feature tensor `(D,)` as it is, or a stacked one `(R, D)` as `(R, 1, D)`."""
    return tensor if tensor.dim() == 1 else tensor.unsqueeze(-2)


class _Normalization(Module):
    """What LayerNorm and BatchNorm share: the optional learnt scale and shift per feature."""

    def __init__(
        self,
        features: int,
        eps: float,
        affine: bool,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        shape: tuple[int, ...] | None = None,
    ) -> None:
        if features < 1:
            raise ValueError(f"{type(self).__name__}: features must be >= 1, got {features}")
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be > 0, got {eps}")
        self.features = features
        self.eps = eps
        self.shape = (features,) if shape is None else shape
        weight = torch.ones(self.shape, dtype=dtype, device=device) if affine else None
        bias = torch.zeros(self.shape, dtype=dtype, device=device) if affine else None
        self._set_affine(weight, bias)

    def _set_affine(self, weight: Tensor | None, bias: Tensor | None) -> None:
        self.weight, self.bias = weight, bias
        self.weight_grad = None if weight is None else torch.zeros_like(weight)
        self.bias_grad = None if bias is None else torch.zeros_like(bias)
        self.xhat: Tensor | None = None
        self.rstd: Tensor | None = None
        self.mean: Tensor | None = None
        self.input: Tensor | None = None

    @property
    def affine(self) -> bool:
        """Whether the layer has a learnt scale (weight) and shift (bias)."""
        return self.weight is not None

    def _flat(self, tensor: Tensor) -> Tensor:
        """A per-feature tensor of shape `shape` (or `(R, *shape)`) as `(D,)` (or `(R, D)`)."""
        if len(self.shape) == 1:
            return tensor
        return tensor.view(-1) if tensor.dim() == len(self.shape) else tensor.flatten(1)

    def _scale_shift(self, xhat: Tensor) -> Tensor:
        if self.weight is None or self.bias is None:
            return xhat
        weight, bias = self._flat(self.weight), self._flat(self.bias)
        return torch.addcmul(_per_run(bias), xhat, _per_run(weight))

    def _affine_backward(self, grad: Tensor, xhat: Tensor) -> Tensor:
        """Accumulate dweight and dbias; return the gradient with respect to xhat."""
        if self.weight is None or self.weight_grad is None or self.bias_grad is None:
            return grad
        weight_grad, bias_grad = self._flat(self.weight_grad), self._flat(self.bias_grad)
        weight = self._flat(self.weight)
        if weight.dim() == 2:  # stacked (R, D): sum over each run's samples
            weight_grad.add_((grad * xhat).sum(-2))
            bias_grad.add_(grad.sum(-2))
        elif grad.dim() == 2:  # a batch (N, D): the usual case, without a reshape
            weight_grad.add_((grad * xhat).sum(0))
            bias_grad.add_(grad.sum(0))
        else:
            weight_grad.add_((grad * xhat).reshape(-1, self.features).sum(0))
            bias_grad.add_(grad.reshape(-1, self.features).sum(0))
        return grad * _per_run(weight)

    def param(self) -> list[Parameter]:
        if self.weight is None or self.bias is None:
            return []
        assert self.weight_grad is not None and self.bias_grad is not None
        return [(self.weight, self.weight_grad), (self.bias, self.bias_grad)]

    def bind(self, params: list[Parameter]) -> None:
        if len(params) != len(self.param()):
            raise ValueError(
                f"{type(self).__name__}.bind: expected {len(self.param())} parameters, "
                f"got {len(params)}"
            )
        if params:
            (self.weight, self.weight_grad), (self.bias, self.bias_grad) = params

    def _to_affine(self, device: torch.device | str | None, dtype: torch.dtype | None) -> None:
        weight = None if self.weight is None else self.weight.to(device, dtype)
        bias = None if self.bias is None else self.bias.to(device, dtype)
        self._set_affine(weight, bias)

    def _stacked_affine(self, runs: Sequence[_Normalization]) -> None:
        """Give this (fresh) module the runs' scales and shifts, stacked to `(R, D)`."""
        if runs[0].affine:
            weights = [run.weight for run in runs if run.weight is not None]
            biases = [run.bias for run in runs if run.bias is not None]
            self._set_affine(torch.stack(weights), torch.stack(biases))
        self.training = runs[0].training

    def _check_width(self, x: Tensor) -> None:
        if x.dim() == 0 or x.shape[-1] != self.features:
            raise ValueError(
                f"{type(self).__name__}: expects {self.features} features, "
                f"got input of shape {tuple(x.shape)}"
            )

    def _runs_repr(self, per_feature: Tensor | None) -> str:
        """`runs=R, ` when `per_feature` is stacked `(R, D)`, else nothing."""
        if per_feature is None or per_feature.dim() == len(self.shape):
            return ""
        return f"runs={per_feature.shape[0]}, "


class LayerNorm(_Normalization):
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
        per_feature = self.weight is None or self.weight.dim() == len(self.shape)
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
        dx = _normalized_backward(self._affine_backward(flat, xhat), xhat, rstd, -1)
        return dx.view(grad.shape)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> LayerNorm:
        self._to_affine(device, dtype)
        return self

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> LayerNorm:
        """One LayerNorm over a leading run axis, with each run's scale and shift `(R, D)`."""
        runs = cls._alike(modules)
        module = cls(runs[0].shape, runs[0].eps, affine=False)
        module._stacked_affine(runs)
        return module

    def extra_repr(self) -> str:
        runs = self._runs_repr(self.weight)
        features = self.features if len(self.shape) == 1 else self.shape
        return f"{runs}features={features}, eps={self.eps}, affine={self.affine}"


class BatchNorm(_Normalization):
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
        rows = channels_last.reshape(x.shape[0], -1, self.features) if x.dim() == 5 else None
        out = self._forward(channels_last.reshape(-1, self.features) if rows is None else rows)
        return out.view(channels_last.shape).movedim(-1, -3)

    def _forward(self, x: Tensor) -> Tensor:
        self._check_width(x)
        self.batch_statistics = self.training
        if not self.training:
            self.rstd = torch.rsqrt(_per_run(self.running_var) + self.eps)
            self.xhat = (x - _per_run(self.running_mean)) * self.rstd
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
        rows = channels_last.reshape(grad.shape[0], -1, self.features) if grad.dim() == 5 else None
        dx = self._backward(channels_last.reshape(-1, self.features) if rows is None else rows)
        return dx.view(channels_last.shape).movedim(-1, -3)

    def _backward(self, grad: Tensor) -> Tensor:
        xhat, rstd = self.xhat, self.rstd
        assert xhat is not None and rstd is not None, "backward called before forward"
        dxhat = self._affine_backward(grad, xhat)
        if not self.batch_statistics:  # the running statistics are constants
            return dxhat * rstd
        return _normalized_backward(dxhat, xhat, rstd, -2)

    def buffers(self) -> list[Tensor]:
        return [self.running_mean, self.running_var]

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> BatchNorm:
        self._to_affine(device, dtype)
        self.running_mean = self.running_mean.to(device, dtype)
        self.running_var = self.running_var.to(device, dtype)
        return self

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> BatchNorm:
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
            f"{self._runs_repr(self.running_mean)}features={self.features}, eps={self.eps}, "
            f"momentum={self.momentum}, affine={self.affine}{image}"
        )
