"""Sequential: modules applied one after the other."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from minidl.nn.linear import Linear
from minidl.nn.module import Module, Parameter

__all__ = ["Sequential", "stack"]


class Sequential(Module):
    """Applies `modules` in order; backward runs them in reverse.

    Takes a list, as in the seed report (`Sequential([Linear(2, 25), ReLU()])`), or the
    modules as separate arguments.

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

    def forward(self, *input: Tensor) -> Tensor:
        (x,) = input
        for module in self.modules:
            x = module.forward(x)
        return x

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        (grad,) = gradwrtoutput
        for module in reversed(self.modules):
            grad = module.backward(grad)
        return grad

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Sequential:
        for module in self.modules:
            module.to(device, dtype)
        return self

    def param(self) -> list[Parameter]:
        return [p for module in self.modules for p in module.param()]

    def bind(self, params: list[Parameter]) -> None:
        start = 0
        for module in self.modules:
            count = len(module.param())
            module.bind(params[start : start + count])
            start += count
        if start != len(params):
            raise ValueError(f"Sequential.bind: got {len(params)} parameters, expected {start}")

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
    and each Linear multiplies by its own weights with one batched product. The weights are
    copied; the models are left as they were.
    """
    if not models:
        raise ValueError("stack needs at least one model")
    layers: list[Module] = []
    for position, group in enumerate(zip(*models, strict=True)):
        first = group[0]
        if any(type(m) is not type(first) for m in group):
            raise ValueError(f"stack: the models differ at layer {position}")
        if isinstance(first, Linear):
            linears = [m for m in group if isinstance(m, Linear)]
            weight = torch.stack([m.weight for m in linears])
            biases = [m.bias for m in linears]
            bias = None if biases[0] is None else torch.stack([b for b in biases if b is not None])
            layers.append(Linear.from_tensors(weight, bias))
        else:
            layers.append(type(first)())
    return Sequential(layers)
