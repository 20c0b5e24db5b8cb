"""What Linear and Conv2d share: a learnt weight and an optional bias, with their gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["WeightAndBias"]


class WeightAndBias(Module):
    """A layer whose parameters are `weight` and `bias` (None without one).

    `Module` does the rest from the names: `param()`, `bind()`, `to()`, `state_dict()`.
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("weight", "bias")
    weight: Tensor
    bias: Tensor | None
    weight_grad: Tensor
    bias_grad: Tensor | None

    def _set_tensors(self, weight: Tensor, bias: Tensor | None) -> None:
        """Take `weight` and `bias` as the layer's, with gradients at zero."""
        self.weight, self.bias = weight, bias
        self.weight_grad = torch.zeros_like(weight)
        self.bias_grad = None if bias is None else torch.zeros_like(bias)

    @classmethod
    def _stacked_tensors(cls, modules: Sequence[Module]) -> tuple[Tensor, Tensor | None]:
        """The runs' weights and biases copied into stacked ones `(R, ...)`."""
        layers = cls._alike(modules)
        biases = [m.bias for m in layers if m.bias is not None]
        weight = torch.stack([m.weight for m in layers])
        return weight, torch.stack(biases) if biases else None
