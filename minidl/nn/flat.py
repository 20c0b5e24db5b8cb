"""All of a model's parameters, and all of its gradients, as views into two flat tensors.

Then zeroing the gradients, an optimiser's update, or a check that no gradient is NaN is one
torch call each instead of one per tensor: on small networks the number of calls is the cost.
The model, the optimiser and the training loop share one `FlatParameters` object; the model
hands it out with its `(value, grad)` pairs as `Parameters.flat`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Protocol

import torch
from torch import Tensor

__all__ = ["FlatParameters", "Parameter", "Parameters", "flatten_parameters", "one_kind"]

Parameter = tuple[Tensor, Tensor]
"""A parameter as `Module.param()` returns it: the value and its accumulated gradient."""


class FlatParameters:
    """Two flat 1-D tensors, `values` and `grads`, and each parameter as a view into them.

    Building one copies the given parameters into fresh storage: `params` holds the views,
    in the same order and shapes, and the module must then be bound to them (`Module.bind`).
    All parameters must share one dtype and one device.

    Args:
        params: the `(value, grad)` pairs to gather, as `Module.param()` gives them.
    """

    values: Tensor
    """Every parameter's value, one after the other, flattened."""
    grads: Tensor
    """Every parameter's gradient, in the same layout."""

    def __init__(self, params: Sequence[Parameter]) -> None:
        _check_one_kind(params)
        if params:
            self.values = torch.cat([value.reshape(-1) for value, _ in params])
            self.grads = torch.cat([grad.reshape(-1) for _, grad in params])
        else:
            self.values, self.grads = torch.zeros(0), torch.zeros(0)
        sizes = [value.numel() for value, _ in params]
        value_views = torch.split(self.values, sizes)
        grad_views = torch.split(self.grads, sizes)
        self.params: list[Parameter] = [
            (v.view(value.shape), g.view(value.shape))
            for v, g, (value, _) in zip(value_views, grad_views, params, strict=True)
        ]

    def holds(self, params: Sequence[Parameter]) -> bool:
        """Whether `params` are exactly this buffer's views (the same tensor objects)."""
        return len(params) == len(self.params) and all(
            value is mine_value and grad is mine_grad
            for (value, grad), (mine_value, mine_grad) in zip(params, self.params, strict=True)
        )

    def part(self, start: int, stop: int) -> FlatParameters:
        """The parameters `start:stop` as a FlatParameters over the same storage (no copy)."""
        part = FlatParameters.__new__(FlatParameters)
        part.params = self.params[start:stop]
        offsets = self._offsets()
        first, last = min(start, len(self.params)), min(stop, len(self.params))
        offset, size = offsets[first], max(0, offsets[last] - offsets[first])
        part.values = self.values.narrow(0, offset, size)
        part.grads = self.grads.narrow(0, offset, size)
        return part

    def _offsets(self) -> list[int]:
        """Where each parameter starts in the buffer, and the end: computed once, so that
        binding a network of N layers part by part costs O(N), not O(N^2)."""
        offsets: list[int] | None = getattr(self, "_starts", None)
        if offsets is None or len(offsets) != len(self.params) + 1:
            offsets = list(accumulate((value.numel() for value, _ in self.params), initial=0))
            self._starts = offsets
        return offsets

    def zero_grad(self) -> None:
        """Clear every gradient: one call."""
        self.grads.zero_()

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return (
            f"FlatParameters({len(self.params)} parameters, {self.values.numel()} values, "
            f"dtype={self.values.dtype}, device={self.values.device})"
        )


class Parameters(list[Parameter]):
    """The `(value, grad)` pairs of a model, with the `FlatParameters` they are views into.

    `param()` returns one: for a model whose parameters were flattened (`Sequential` does
    it when built and after `to()`; `flatten_parameters` for any module), an
    optimiser built from it updates `flat.values` in one call. `flat` is None for pairs that
    do not tile one buffer (a plain list behaves the same).
    """

    def __init__(
        self, params: Iterable[Parameter] = (), flat: FlatParameters | None = None
    ) -> None:
        super().__init__(params)
        self.flat = flat


class _Bindable(Protocol):
    """What `flatten_parameters` needs of a module (`minidl.nn.Module` has it)."""

    def param(self) -> Sequence[Parameter]: ...

    def bind(self, params: list[Parameter]) -> None: ...


def flatten_parameters(model: _Bindable) -> FlatParameters:
    """Move `model`'s parameters and gradients into one `FlatParameters`, bind `model` to it.

    From then on `model.param()` hands the buffer out with its pairs, so that an optimiser
    built from them (`SGD(layer.param(), lr=...)`, or from the result) steps in one call.
    A `Sequential` does this itself when it is built and after `to()`.
    """
    flat = FlatParameters(model.param())
    model.bind(Parameters(flat.params, flat))
    return flat


def one_kind(params: Sequence[Parameter]) -> bool:
    """Whether `params` share one dtype and one device (so that they can be flattened)."""
    return len({(t.dtype, t.device) for pair in params for t in pair}) <= 1


def _check_one_kind(params: Sequence[Parameter]) -> None:
    kinds = {(t.dtype, t.device) for pair in params for t in pair}
    if len(kinds) > 1:
        found = ", ".join(sorted(f"{dtype} on {device}" for dtype, device in kinds))
        raise ValueError(
            f"FlatParameters: every parameter must have one dtype and device, found {found}"
        )
