"""Helpers that build the same computation in minidl and in float64 torch autograd."""

from __future__ import annotations

import torch

from minidl.nn import Linear, Module, ReLU, Sigmoid, Tanh

TORCH_ACTIVATIONS = {ReLU: torch.relu, Tanh: torch.tanh, Sigmoid: torch.sigmoid}


def torch_forward(
    modules: list[Module], x: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run `modules` with torch autograd on leaf copies of their parameters."""
    leaves: list[torch.Tensor] = []
    for module in modules:
        if isinstance(module, Linear):
            weight = module.weight.detach().clone().requires_grad_(True)
            leaves.append(weight)
            x = x @ weight.mT if weight.dim() == 2 else torch.bmm(x, weight.mT)
            if module.bias is not None:
                bias = module.bias.detach().clone().requires_grad_(True)
                leaves.append(bias)
                x = x + (bias if bias.dim() == 1 else bias.unsqueeze(1))
        else:
            x = TORCH_ACTIVATIONS[type(module)](x)
    return x, leaves
