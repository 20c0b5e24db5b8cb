"""Joins: branches that take the same input, their outputs added (`Sum`) or concatenated
(`Concat`). With `Identity` as one branch, `Sum` is a residual connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = ["Branches", "Concat", "Sum"]


class Branches(Module):
    """The common part of `Sum` and `Concat`: branches run on one input.

    Every branch gets the same input, so the input's gradient is the sum of the branches'
    input gradients. The branches are its `children()`: `param()`, `bind()`, `to()` and
    `state_dict()` walk them in order, depth first (`Module`).
    """

    def __init__(self, branches: Iterable[Module]) -> None:
        self.branches: list[Module] = list(branches)
        if len(self.branches) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 branches")
        for branch in self.branches:
            if not isinstance(branch, Module):
                raise TypeError(f"{type(self).__name__} takes minidl modules")
        self._runs_of_children()

    def outputs(self, x: Tensor) -> list[Tensor]:
        """Each branch's output for `x`."""
        return [branch.forward(x) for branch in self.branches]

    def inputs_grad(self, grads: Sequence[Tensor]) -> Tensor:
        """d(loss)/d(input) = sum over branches of each branch's input gradient."""
        total = self.branches[0].backward(grads[0])
        for branch, grad in zip(self.branches[1:], grads[1:], strict=True):
            total = total + branch.backward(grad)
        return total

    def children(self) -> list[Module]:
        return list(self.branches)

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Module:
        """Each branch stacked across the runs, joined again."""
        joins = cls._alike(modules)
        branches = [
            type(group[0]).stacked(group)
            for group in zip(*(join.branches for join in joins), strict=True)
        ]
        return cls(branches).train(joins[0].training)

    def extra_repr(self) -> str:
        return ", ".join(repr(branch).replace("\n", "\n  ") for branch in self.branches)


class Sum(Branches):
    """Adds the outputs of its branches, which must have one width.

    Shape: input `(*, D)`; every branch gives `(*, W)`; output `(*, W)`.
    """

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        outputs = self.outputs(x)
        total = outputs[0]
        for output in outputs[1:]:
            total = total + output
        return total

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        # d(sum)/d(branch output) is the identity: each branch gets the whole gradient.
        return self.inputs_grad([grad] * len(self.branches))


class Concat(Branches):
    """Concatenates the outputs of its branches along the last axis (`dim=-1`), or along the
    channels of images (`dim=-3`).

    Shape: input `(*, D)`; branch i gives `(*, W_i)`; output `(*, sum W_i)`. With `dim=-3`,
    branch i gives `(*, C_i, H, W)`, output `(*, sum C_i, H, W)`.
    """

    def __init__(self, branches: Iterable[Module], dim: int = -1) -> None:
        super().__init__(branches)
        self.dim = dim
        self.widths: list[int] = []

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        outputs = self.outputs(x)
        self.widths = [output.shape[self.dim] for output in outputs]
        return torch.cat(outputs, dim=self.dim)

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        # Each branch's output gradient is its slice of the output's gradient.
        return self.inputs_grad(torch.split(grad, self.widths, dim=self.dim))

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Module:
        """Each branch stacked across the runs, joined again along the same axis."""
        joined = super()._stack(modules)
        assert isinstance(joined, Concat) and isinstance(modules[0], Concat)
        joined.dim = modules[0].dim
        return joined

    def extra_repr(self) -> str:
        dim = "" if self.dim == -1 else f", dim={self.dim}"
        return super().extra_repr() + dim
