"""Sequential: modules applied one after the other."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import Tensor

from minidl.nn.activation import ReLU
from minidl.nn.flat import FlatParameters, Parameters
from minidl.nn.linear import Linear
from minidl.nn.module import Module, Parameter

__all__ = ["Sequential", "stack"]


class Sequential(Module):
    """Applies `modules` in order; backward runs them in reverse.

    Takes a list, as in the seed report (`Sequential([Linear(2, 25), ReLU()])`), or the
    modules as separate arguments. `param()` keeps the parameters in one flat buffer
    (`FlatParameters`) that it hands to the optimiser with them.

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
        self._flat: FlatParameters | None = None

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

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Sequential:
        for module in self.modules:
            module.to(device, dtype)
        self._flat = None  # the layers hold new tensors: param() gathers them again
        return self

    def param(self) -> Parameters:
        """The layers' `(value, grad)` pairs, as views into one flat buffer (`.flat`).

        The first call, and the first after `to()` or after a layer's tensors were replaced,
        copies the parameters into a new `FlatParameters` and binds the layers to its views;
        later calls return the same views and buffer.
        """
        pairs = [p for module in self.modules for p in module.param()]
        if self._flat is None or not self._flat.holds(pairs):
            flat = FlatParameters(pairs)
            self.bind(Parameters(flat.params, flat))
        assert self._flat is not None
        return Parameters(self._flat.params, self._flat)

    def bind(self, params: list[Parameter]) -> None:
        """Bind the layers to `params`; `Parameters` with a flat buffer make it this model's.

        Plain pairs are used as given until the next `param()`, which copies them into a
        new flat buffer.
        """
        flat = params.flat if isinstance(params, Parameters) else None
        start = 0
        for module in self.modules:
            count = len(module.param())
            part = params[start : start + count]
            module.bind(part if flat is None else Parameters(part, flat.part(start, start + count)))
            start += count
        if start != len(params):
            raise ValueError(f"Sequential.bind: got {len(params)} parameters, expected {start}")
        self._flat = flat

    def children(self) -> list[Module]:
        return list(self.modules)

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> Sequential:
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
        layers.append(type(first).stacked(group))
    return Sequential(layers).train(models[0].training)
