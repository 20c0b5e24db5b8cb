"""What the normalisation layers share: the learnt scale and shift per feature, and the
gradient through the normalisation. LayerNorm (over each sample's features) is in
`minidl.nn.layer_norm`, BatchNorm (over the batch) in `minidl.nn.batch_norm`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["Normalization", "normalized_backward"]


def normalized_backward(dxhat: Tensor, xhat: Tensor, rstd: Tensor, dim: int) -> Tensor:
    """The gradient through xhat = (x - mean) * rstd, both statistics taken over `dim`.

    dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means over `dim`.
    """
    mean_dxhat = dxhat.mean(dim, keepdim=True)
    mean_dxhat_xhat = (dxhat * xhat).mean(dim, keepdim=True)
    centred = torch.addcmul(dxhat - mean_dxhat, xhat, mean_dxhat_xhat, value=-1)
    return centred.mul_(rstd)


class Normalization(Module):
    """What LayerNorm and BatchNorm share: the optional learnt scale and shift per feature."""

    parameter_names: ClassVar[tuple[str, ...]] = ("weight", "bias")

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
        return tensor.view(-1) if self.runs is None else tensor.flatten(1)

    def _per_run(self, tensor: Tensor) -> Tensor:
        """A per-feature tensor `(D,)` as it is, or a stacked one `(R, D)` as `(R, 1, D)`."""
        return tensor if self.runs is None else tensor.unsqueeze(-2)

    def _scale_shift(self, xhat: Tensor) -> Tensor:
        if self.weight is None or self.bias is None:
            return xhat
        weight, bias = self._flat(self.weight), self._flat(self.bias)
        return torch.addcmul(self._per_run(bias), xhat, self._per_run(weight))

    def _affine_backward(self, grad: Tensor, xhat: Tensor) -> Tensor:
        """Accumulate dweight and dbias; return the gradient with respect to xhat."""
        if self.weight is None or self.weight_grad is None or self.bias_grad is None:
            return grad
        weight_grad, bias_grad = self._flat(self.weight_grad), self._flat(self.bias_grad)
        weight = self._flat(self.weight)
        if self.runs is not None:  # stacked (R, D): sum over each run's samples
            weight_grad.add_((grad * xhat).sum(-2))
            bias_grad.add_(grad.sum(-2))
        elif grad.dim() == 2:  # a batch (N, D): the usual case, without a reshape
            weight_grad.add_((grad * xhat).sum(0))
            bias_grad.add_(grad.sum(0))
        else:
            weight_grad.add_((grad * xhat).reshape(-1, self.features).sum(0))
            bias_grad.add_(grad.reshape(-1, self.features).sum(0))
        return grad * self._per_run(weight)

    def _stacked_affine(self, runs: Sequence[Normalization]) -> None:
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
