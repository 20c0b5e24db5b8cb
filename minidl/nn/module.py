"""The base class of every minidl module: forward and backward, and the module's tree.

A leaf declares its tensors by name (`parameter_names`, `buffer_names`); a container gives
its `children()`. The base class walks that tree once for everything that is about the
tensors rather than the computation: `param()`, `bind()`, `buffers()`, `to()`,
`zero_grad()`, `state_dict()` and `load_state_dict()`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import ClassVar, TypeVar

import torch
from torch import Tensor

from minidl.nn.flat import FlatParameters, Parameter, Parameters

__all__ = ["Module", "Parameter", "Parameters", "StateDictError"]

_M = TypeVar("_M", bound="Module")


class StateDictError(ValueError):
    """Saved tensors that are not a module's: `key` is the first name at fault.

    `problem` is "missing" (the module has it, the tensors lack it), "unexpected" (the
    other way round) or "shape" (then `saved` and `expected` are the two shapes).
    """

    def __init__(
        self,
        key: str,
        problem: str,
        saved: tuple[int, ...] | None = None,
        expected: tuple[int, ...] | None = None,
    ) -> None:
        self.key, self.problem, self.saved, self.expected = key, problem, saved, expected
        if problem == "shape":
            message = f"{key} is {saved}, the module's is {expected}"
        elif problem == "missing":
            message = f"the tensors lack {key}"
        else:
            message = f"the tensors have {key}, which the module lacks"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.key, self.problem, self.saved, self.expected))


class Module:
    """A layer with a hand-written backward pass.

    `forward` keeps what `backward` needs; `backward` accumulates the gradients of the
    parameters and returns the gradient with respect to the input. `training` (True until
    `eval()`) tells modules such as Dropout and BatchNorm which behaviour to use.

    A leaf lists its parameters in `parameter_names`: for each name, the attribute holds the
    value (or None: an absent bias) and the attribute `<name>_grad` its gradient.
    `buffer_names` lists its state that is saved but not learnt (BatchNorm's statistics).
    `runs` is the number of runs a stacked module computes side by side over a leading run
    axis (`minidl.nn.stack`), or None for a module of one run.
    """

    training: bool = True
    parameter_names: ClassVar[tuple[str, ...]] = ()
    buffer_names: ClassVar[tuple[str, ...]] = ()
    runs: int | None = None
    _flat_parameters: FlatParameters | None = None

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

    def children(self) -> list[Module]:
        """The modules this one is made of (none for a plain layer)."""
        return []

    def _own_parameters(self) -> list[tuple[str, Tensor, Tensor]]:
        """This module's own `(name, value, grad)`, as `parameter_names` declares them."""
        own = []
        for name in self.parameter_names:
            value = getattr(self, name)
            if value is not None:
                own.append((name, value, getattr(self, f"{name}_grad")))
        return own

    def _own_buffers(self) -> list[tuple[str, Tensor]]:
        return [(name, getattr(self, name)) for name in self.buffer_names]

    def param(self) -> Parameters:
        """The `(value, grad)` pairs of the module's parameters, its own then its children's
        (depth first). No side effect: with the flat buffer they are views into (`.flat`)
        when they are exactly that buffer's views."""
        pairs = [(value, grad) for _, value, grad in self._own_parameters()]
        pairs += [pair for child in self.children() for pair in child.param()]
        flat = self._flat_parameters
        return Parameters(pairs, flat if flat is not None and flat.holds(pairs) else None)

    def bind(self, params: list[Parameter]) -> None:
        """Replace the parameters with `params` (same order and shapes as `param()`).

        `Parameters` with a flat buffer make the module (and each child, with its part) hand
        that buffer out with its `param()` from then on.
        """
        flat = params.flat if isinstance(params, Parameters) else None
        own = self._own_parameters()
        counts = [len(own)] + [len(child.param()) for child in self.children()]
        if sum(counts) != len(params):
            raise ValueError(
                f"{type(self).__name__}.bind: expected {sum(counts)} parameters, got {len(params)}"
            )
        for (name, _, _), (value, grad) in zip(own, params, strict=False):
            setattr(self, name, value)
            setattr(self, f"{name}_grad", grad)
        start = len(own)
        for child, count in zip(self.children(), counts[1:], strict=True):
            part = params[start : start + count]
            child.bind(part if flat is None else Parameters(part, flat.part(start, start + count)))
            start += count
        self._flat_parameters = flat

    def buffers(self) -> list[Tensor]:
        """State that is not learnt but must be saved with the model (BatchNorm's statistics).

        The tensors are updated in place, so copying saved values into them restores a model.
        """
        own = [buffer for _, buffer in self._own_buffers()]
        return own + [buffer for child in self.children() for buffer in child.buffers()]

    def named_tensors(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """Every parameter value and buffer by name, the live tensors, depth first: a leaf's
        own names (`weight`, `bias`, `running_mean`...), a child's behind its position
        (`0.weight`, and in a join `2.1.0.weight`: stage 2, branch 1, layer 0)."""
        named = [(f"{prefix}{name}", value) for name, value, _ in self._own_parameters()]
        named += [(f"{prefix}{name}", buffer) for name, buffer in self._own_buffers()]
        for position, child in enumerate(self.children()):
            named += child.named_tensors(f"{prefix}{position}.")
        return named

    def state_dict(self) -> dict[str, Tensor]:
        """The parameters and buffers by name (see `named_tensors`), detached copies."""
        return {name: tensor.detach().clone() for name, tensor in self.named_tensors()}

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        """Copy `tensors` into the module's own, in place (the views and the optimiser's flat
        buffer stay the live ones). A `StateDictError` naming the first key at fault when a
        name is missing or extra or a shape differs; then nothing is copied."""
        live = dict(self.named_tensors())
        missing, extra = sorted(set(live) - set(tensors)), sorted(set(tensors) - set(live))
        if missing:
            raise StateDictError(missing[0], "missing")
        if extra:
            raise StateDictError(extra[0], "unexpected")
        for name, target in live.items():
            saved = tensors[name]
            if saved.shape != target.shape:
                raise StateDictError(name, "shape", tuple(saved.shape), tuple(target.shape))
        with torch.no_grad():
            for name, target in live.items():
                target.copy_(tensors[name])

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
        self: _M, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> _M:
        """Move every parameter, its gradient and every buffer of the tree to `device` and
        `dtype`; return self. Tensors already there stay the same objects."""
        for name, value, grad in self._own_parameters():
            setattr(self, name, value.to(device, dtype))
            setattr(self, f"{name}_grad", grad.to(device, dtype))
        for name, buffer in self._own_buffers():
            setattr(self, name, buffer.to(device, dtype))
        for child in self.children():
            child.to(device, dtype)
        return self

    @classmethod
    def stacked(cls, modules: Sequence[Module]) -> Module:
        """One module that runs `modules`, one per run, side by side over a leading run axis,
        its `runs` set to their number: the one place where a module learns it is stacked.

        `minidl.nn.stack` calls it for each position of the models it stacks; each class
        builds its own kind in `_stack`.
        """
        module = cls._stack(modules)
        module.runs = len(modules)
        return module

    @classmethod
    def _stack(cls, modules: Sequence[Module]) -> Module:
        """The stacked module of `stacked`. This default suits modules without parameters or
        state: a copy of the first. Modules with either override it and copy each run's
        tensors into stacked ones."""
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

    def _runs_of_children(self) -> None:
        """A container's `runs`: that of its stacked children (built by hand from stacked
        layers, it computes their runs too). `stack` sets it anyway."""
        found = {child.runs for child in self.children()} - {None}
        if len(found) > 1:
            raise ValueError(f"{type(self).__name__}: children stack different runs {found}")
        self.runs = found.pop() if found else None

    def _runs_repr(self) -> str:
        """`runs=R, ` for a stacked module, else nothing: the start of its `extra_repr`."""
        return "" if self.runs is None else f"runs={self.runs}, "

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
