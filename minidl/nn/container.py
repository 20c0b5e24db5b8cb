"""Sequential: modules applied one after the other."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import Tensor

from minidl.nn.activation import ReLU
from minidl.nn.flat import FlatParameters, flatten_parameters, one_kind
from minidl.nn.linear import Linear
from minidl.nn.module import Module

__all__ = ["Sequential", "stack"]


class Sequential(Module):
    """Applies `modules` in order; backward runs them in reverse.

    Takes a list, as in the seed report (`Sequential([Linear(2, 25), ReLU()])`), or the
    modules as separate arguments. Building it (and `to()`) gathers the parameters into one
    flat buffer (`flatten`), which `param()` hands to the optimiser with them.

    Shape: input as the first module takes it, output as the last one gives it.
    """

    def __init__(self, *modules: Module | Iterable[Module]) -> None:
        if len(modules) == 1 and not isinstance(modules[0], Module):
            modules = tuple(modules[0])
        self.modules: list[Module] = []
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes minidl modules, got {type(module).__name__}")
            self.modules.append(module)
        self._runs_of_children()
        self._flatten_if_one_kind()

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        fused = False
        for module, following in zip(self.modules, [*self.modules[1:], None], strict=True):
            if fused:  # this ReLU ran with the Linear before it
                fused = False
            elif type(module) is Linear and type(following) is ReLU:
                x, fused = following.after_linear(module, x), True  # one call, same values
            else:
                x = module.forward(x)
        return x

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        for module in reversed(self.modules):
            grad = module.backward(grad)
        return grad

    def backward_params(self, grad: Tensor) -> None:
        """As `backward`, but the first module skips its input's gradient (the training loop
        needs none for the data: for a first Linear that saves a third of its backward)."""
        if not self.modules:
            return
        for module in reversed(self.modules[1:]):
            grad = module.backward(grad)
        self.modules[0].backward_params(grad)

    def flatten(self) -> FlatParameters:
        """Gather the layers' parameters and gradients into one flat buffer and bind the
        layers to its views (`flatten_parameters`): from then on `param()` hands the buffer
        out, and an optimiser built from it steps in one call. Done when the model is built
        and after `to()`; call it again after replacing a layer's tensors."""
        return flatten_parameters(self)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Sequential:
        """Move the tree (`Module.to`), then gather the moved parameters in a new flat
        buffer: the seed report's `SGD(model.param())` keeps its one-call step."""
        super().to(device, dtype)
        self._flatten_if_one_kind()
        return self

    def _flatten_if_one_kind(self) -> None:
        """Flatten unless the parameters already are this model's buffer, or they mix
        dtypes or devices (a model being assembled; its `to()` flattens it), or a module
        lists parameters that it cannot `bind` (then `param()` has no flat buffer and an
        optimiser steps tensor by tensor, as it would for a plain list)."""
        pairs = self.param()
        if pairs.flat is None and one_kind(pairs):
            with contextlib.suppress(ValueError):
                self.flatten()

    def children(self) -> list[Module]:
        return list(self.modules)

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Sequential:
        """Nested Sequentials stack as whole models do (see `stack`)."""
        return stack(cls._alike(modules))

    def __iter__(self) -> Iterator[Module]:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    def __getitem__(self, index: int) -> Module:
        return self.modules[index]

    def __repr__(self) -> str:
        lines = [f"  ({i}): {module!r}" for i, module in enumerate(self.modules)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


def stack(models: list[Sequential]) -> Sequential:
    """Stack models of one architecture into one model over a leading run axis.

    Run r of the result computes exactly what `models[r]` computes: its input is `(R, N, D)`
    and each Linear multiplies by its own weights with one batched product. Each layer's
    class stacks its own kind (`Module.stacked`). The weights and state are copied; the
    models are left as they were.
    """
    if not models:
        raise ValueError("stack needs at least one model")
    layers: list[Module] = []
    for position, group in enumerate(zip(*models, strict=True)):
        first = group[0]
        if any(type(m) is not type(first) for m in group):
            raise ValueError(f"stack: the models differ at layer {position}")
        layers.append(type(group[0]).stacked(group))
    model = Sequential(layers).train(models[0].training)
    model.runs = len(models)
    return model
