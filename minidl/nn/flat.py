"""All of a model's parameters, and all of its gradients, as views into two flat tensors.

Then zeroing the gradients, an SGD update, or a check that no gradient is NaN is one torch
call each instead of one per tensor: on small networks the number of calls is the cost.
"""

from __future__ import annotations

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["flat_view", "flatten_parameters"]


def flatten_parameters(model: Module) -> tuple[Tensor, Tensor]:
    """Move `model`'s parameters and gradients into two flat tensors; return them.

    Each parameter becomes a view into the first, each gradient a view into the second, so
    `param()` still returns the same shapes and values.
    """
    params = model.param()
    if not params:
        empty = torch.zeros(0)
        return empty, empty.clone()
    values = torch.cat([value.reshape(-1) for value, _ in params])
    grads = torch.cat([grad.reshape(-1) for _, grad in params])
    sizes = [value.numel() for value, _ in params]
    value_views = [
        v.view(p[0].shape) for v, p in zip(torch.split(values, sizes), params, strict=True)
    ]
    grad_views = [
        g.view(p[1].shape) for g, p in zip(torch.split(grads, sizes), params, strict=True)
    ]
    model.bind(list(zip(value_views, grad_views, strict=True)))
    return values, grads


def flat_view(tensors: list[Tensor]) -> Tensor | None:
    """The one flat tensor that `tensors` tile in order, if they do (see above), else None."""
    if not tensors:
        return None
    base = tensors[0]._base
    if base is None or base.dim() != 1:
        return None
    offset = 0
    for tensor in tensors:
        if tensor._base is not base or not tensor.is_contiguous():
            return None
        if tensor.storage_offset() != base.storage_offset() + offset:
            return None
        offset += tensor.numel()
    return base if offset == base.numel() else None
