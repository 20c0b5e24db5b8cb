"""Helpers that build the same computation in minidl and in float64 torch autograd."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from minidl.nn import (
    GELU,
    BatchNorm,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

TORCH_ACTIVATIONS: dict[type[Module], Callable[[torch.Tensor], torch.Tensor]] = {
    ReLU: torch.relu,
    Tanh: torch.tanh,
    Sigmoid: torch.sigmoid,
    Identity: lambda x: x,
    GELU: F.gelu,  # approximate="none": the erf form
    Softmax: lambda x: torch.softmax(x, dim=-1),
}

Generators = dict[int, list[torch.Generator]]
"""For each Dropout (by position), copies of its generators as they were before a forward."""


def fork_generators(modules: list[Module]) -> Generators:
    """Copy the current state of every Dropout's generators (the global one if it has none)."""
    forks: Generators = {}
    for index, module in enumerate(modules):
        if isinstance(module, Dropout):
            states = [g.get_state() for g in module.generators] or [torch.get_rng_state()]
            forks[index] = [torch.Generator().set_state(state) for state in states]
    return forks


def torch_forward(
    modules: list[Module], x: torch.Tensor, generators: Generators | None = None
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run `modules` with torch autograd on leaf copies of their parameters.

    `generators` (from `fork_generators`, taken before minidl's forward) give Dropout the
    same masks as minidl drew.
    """
    leaves: list[torch.Tensor] = []
    for index, module in enumerate(modules):
        if isinstance(module, Linear):
            weight = module.weight.detach().clone().requires_grad_(True)
            leaves.append(weight)
            x = x @ weight.mT if weight.dim() == 2 else torch.bmm(x, weight.mT)
            if module.bias is not None:
                bias = module.bias.detach().clone().requires_grad_(True)
                leaves.append(bias)
                x = x + (bias if bias.dim() == 1 else bias.unsqueeze(1))
        elif isinstance(module, LayerNorm | BatchNorm):
            x = _torch_normalization(module, x, leaves)
        elif isinstance(module, LeakyReLU):
            x = F.leaky_relu(x, module.slope)
        elif isinstance(module, Dropout):
            x = _torch_dropout(module, x, (generators or {}).get(index))
        else:
            x = TORCH_ACTIVATIONS[type(module)](x)
    return x, leaves


def _torch_normalization(
    module: LayerNorm | BatchNorm, x: torch.Tensor, leaves: list[torch.Tensor]
) -> torch.Tensor:
    weight = bias = None
    if module.weight is not None and module.bias is not None:
        weight = module.weight.detach().clone().requires_grad_(True)
        bias = module.bias.detach().clone().requires_grad_(True)
        leaves.extend([weight, bias])
    if x.dim() == 3:  # stacked runs: torch's functional form, run by run
        outputs = []
        for r in range(x.shape[0]):
            w = None if weight is None else (weight[r] if weight.dim() == 2 else weight)
            b = None if bias is None else (bias[r] if bias.dim() == 2 else bias)
            outputs.append(_torch_normalize(module, x[r], w, b, r))
        return torch.stack(outputs)
    return _torch_normalize(module, x, weight, bias, None)


def _torch_normalize(
    module: LayerNorm | BatchNorm,
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    run: int | None,
) -> torch.Tensor:
    if isinstance(module, LayerNorm):
        return F.layer_norm(x, (module.features,), weight, bias, module.eps)
    if module.training:  # the batch's statistics; the running ones are checked elsewhere
        return F.batch_norm(x, None, None, weight, bias, True, module.momentum, module.eps)
    mean, var = module.running_mean, module.running_var
    if run is not None and mean.dim() == 2:
        mean, var = mean[run], var[run]
    one = x.unsqueeze(0) if x.dim() == 1 else x
    out = F.batch_norm(one, mean.clone(), var.clone(), weight, bias, False, 0.0, module.eps)
    return out.squeeze(0) if x.dim() == 1 else out


def _torch_dropout(
    module: Dropout, x: torch.Tensor, generators: list[torch.Generator] | None
) -> torch.Tensor:
    """torch's dropout, x * mask / (1 - p), with the documented mask: rand >= p on the CPU."""
    if not module.training or module.p == 0:
        return x
    if module.p == 1:
        return x * 0
    assert generators, "fork_generators before minidl's forward to compare a Dropout"
    if len(generators) == 1:
        keep = torch.rand(x.shape, generator=generators[0], dtype=torch.float32) >= module.p
    else:
        draws = [torch.rand(x.shape[1:], generator=g, dtype=torch.float32) for g in generators]
        keep = torch.stack(draws) >= module.p
    return x * keep.to(x.dtype) / (1 - module.p)


def check_against_autograd(
    modules: list[Module], x: torch.Tensor, tolerance: dict[str, float]
) -> None:
    """Forward, input gradient and parameter gradients of `modules` against torch autograd."""
    model = Sequential(modules)
    generators = fork_generators(modules)
    out = model.forward(x)
    upstream = torch.randn_like(out)
    grad_in = model.backward(upstream)

    x_ref = x.detach().clone().requires_grad_(True)
    out_ref, leaves = torch_forward(modules, x_ref, generators)
    out_ref.backward(upstream)

    torch.testing.assert_close(out, out_ref.detach(), **tolerance)
    torch.testing.assert_close(grad_in, x_ref.grad, **tolerance)
    grads = [grad for _, grad in model.param()]
    assert len(grads) == len(leaves)
    for ours, theirs in zip(grads, leaves, strict=True):
        torch.testing.assert_close(ours, theirs.grad, **tolerance)
