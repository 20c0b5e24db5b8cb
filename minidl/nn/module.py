"""The base class of every minidl module: forward, backward, param, zero_grad, train/eval."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["Module", "Parameter"]

Parameter = tuple[Tensor, Tensor]
"""A parameter as `param()` returns it: the value and its accumulated gradient."""

_M = TypeVar("_M", bound="Module")


class Module:
    """A layer with a hand-written backward pass.

    `forward` keeps what `backward` needs; `backward` accumulates the gradients of the
    parameters and returns the gradient with respect to the input. `training` (True until
    `eval()`) tells modules such as Dropout and BatchNorm which behaviour to use.
    """

    training: bool = True

    def forward(self, *input: Tensor) -> Tensor:
        """Return the module's output for `input`."""
        raise NotImplementedError

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        """Accumulate parameter gradients and return the gradient with respect to the input."""
        raise NotImplementedError

    def backward_params(self, grad: Tensor) -> None:
        """Accumulate the parameter gradients only: the input gradient is not needed (the
        first layer of a model, whose input is data). Layers that can skip its cost do."""
        self.backward(grad)

    def param(self) -> list[Parameter]:
        """Return the `(value, grad)` pairs of the module's parameters."""
        return []

    def bind(self, params: list[Parameter]) -> None:
        """Replace the parameters with `params` (same order and shapes as `param()`)."""
        if params:
            raise ValueError(f"{type(self).__name__} has no parameters to bind")

    def buffers(self) -> list[Tensor]:
        """State that is not learnt but must be saved with the model (BatchNorm's statistics).

        The tensors are updated in place, so copying saved values into them restores a model.
        """
        return [buffer for child in self.children() for buffer in child.buffers()]

    def children(self) -> list[Module]:
        """The modules this one is made of (none for a plain layer)."""
        return []

    def zero_grad(self) -> None:
        """Clear the accumulated parameter gradients."""
        for _, grad in self.param():
            grad.zero_()

    def train(self: _M, mode: bool = True) -> _M:
        """Switch this module and its children to training (`mode=True`) or evaluation."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self: _M) -> _M:
        """Switch to evaluation mode: the same as `train(False)`."""
        return self.train(False)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Module:
        """Move the parameters (and their gradients) to `device` and `dtype`; return self."""
        return self

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> Module:
        """One module that runs `modules`, one per run, side by side over a leading run axis.

        `minidl.nn.stack` calls it for each position of the models it stacks. This default
        suits modules without parameters or state: a copy of the first. Modules with either
        override it and copy each run's tensors into stacked ones.
        """
        first = cls._alike(modules)[0]
        if first.param() or first.buffers():
            raise TypeError(f"{cls.__name__} has parameters or state but no stacked()")
        return copy.copy(first)

    @classmethod
    def _alike(cls: type[_M], modules: Sequence[Module]) -> list[_M]:
        """`modules`, checked to be of exactly this class and of one configuration."""
        alike = [m for m in modules if isinstance(m, cls) and type(m) is cls]
        if not alike or len(alike) != len(modules):
            kinds = sorted({type(m).__name__ for m in modules})
            raise ValueError(f"{cls.__name__}.stacked: needs {cls.__name__} modules, got {kinds}")
        for module in alike[1:]:
            if module.extra_repr() != alike[0].extra_repr():
                raise ValueError(f"stack: the runs differ: {alike[0]!r} and {module!r}")
        return alike

    def __call__(self, *input: Tensor) -> Tensor:
        return self.forward(*input)

    def extra_repr(self) -> str:
        """Return the arguments shown between the parentheses of `repr`."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
