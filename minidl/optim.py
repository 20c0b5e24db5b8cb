"""Optimisers over `(value, grad)` pairs: SGD (momentum, Nesterov), Adam and AdamW.

Each does what its `torch.optim` namesake does, update for update. An optimiser works on a
list of tensors and keeps its state as lists parallel to it:

- given a model's `Parameters` (what `Sequential.param()` returns) or a `FlatParameters`,
  the list is the one flat tensor of all values, so a step is a few torch calls in all;
- given a plain list of `(value, grad)` pairs, it is one tensor per parameter, and each
  step is the same few `torch._foreach_*` calls over those lists.

`optimizer.flat` says which: the shared buffer, or None. As with torch.optim, build the
optimiser after `model.to(...)`: moving a model gives it new tensors, and an optimiser built
before would go on updating the old ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import Tensor

from minidl.nn.flat import FlatParameters, Parameters
from minidl.nn.module import Parameter

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "OptimizerState"]

OptimizerState = dict[str, Tensor | float]
"""What `state_dict()` returns: `step` and `lr` as numbers, each buffer as one 1-D tensor
(the parameters' buffers concatenated in order, whichever path the optimiser takes)."""


class Optimizer:
    """The common part: the tensors to update, `lr`, `zero_grad`, saving and loading state.

    Args:
        params: `Parameters` from `Module.param()` (their `.flat` buffer is used when they
            have one), a `FlatParameters`, or a plain list of `(value, grad)` pairs.
        lr: the learning rate; an attribute that a schedule may change between steps.
    """

    buffer_names: ClassVar[tuple[str, ...]] = ()
    """The names of the state buffers, one tensor per updated tensor each."""

    def __init__(self, params: Iterable[Parameter] | FlatParameters, lr: float | None) -> None:
        name = type(self).__name__
        if lr is None or not lr > 0:
            raise ValueError(f"{name}: lr must be a positive number, got {lr!r}")
        if isinstance(params, FlatParameters):
            self.flat: FlatParameters | None = params
        else:
            self.flat = params.flat if isinstance(params, Parameters) else None
        self.params: list[Parameter] = (
            list(params.params) if isinstance(params, FlatParameters) else list(params)
        )
        self.values: list[Tensor] = (
            [self.flat.values] if self.flat is not None else [v for v, _ in self.params]
        )
        """The tensors a step updates: the flat buffer, or each parameter's value."""
        self.grads: list[Tensor] = (
            [self.flat.grads] if self.flat is not None else [g for _, g in self.params]
        )
        """The gradients, parallel to `values`."""
        self.lr = float(lr)
        self.steps = 0
        self.state: dict[str, list[Tensor]] = {}

    def step(self) -> None:
        """Update every parameter from its accumulated gradient."""
        raise NotImplementedError

    def graph_step(self, lr: Tensor, step: Tensor) -> None:
        """`step()` with the learning rate and the step number (this one included) read from
        0-dim float64 tensors on the parameters' device: it sends no number from the host,
        so it can be captured in a CUDA graph. The same update, rounded in its own order."""
        raise NotImplementedError(f"{type(self).__name__} has no graph_step")

    def zero_grad(self) -> None:
        """Clear the gradients of every parameter."""
        if self.flat is not None:
            self.flat.zero_grad()
        else:
            torch._foreach_zero_(self.grads)

    def state_dict(self) -> OptimizerState:
        """A copy of the state: steps taken, `lr`, and each buffer as one 1-D tensor."""
        state: OptimizerState = {"step": self.steps, "lr": self.lr}
        for name, tensors in self.state.items():
            state[name] = torch.cat([t.reshape(-1) for t in tensors]) if tensors else _empty()
        return state

    def load_state_dict(self, state: OptimizerState) -> None:
        """Continue from `state_dict()`'s result, as if those steps had been taken here."""
        name = type(self).__name__
        unknown = set(state) - {"step", "lr", *self.buffer_names}
        if unknown:
            raise ValueError(f"{name}.load_state_dict: unknown entries {sorted(unknown)}")
        step, lr = state["step"], state["lr"]
        assert not isinstance(step, Tensor) and not isinstance(lr, Tensor)
        self.steps, self.lr = int(step), float(lr)
        self.state = {}
        sizes = [value.numel() for value in self.values]
        for buffer in self.buffer_names:
            saved = state.get(buffer)
            if saved is None:  # not made yet (SGD's momentum before the first step)
                continue
            if not isinstance(saved, Tensor) or saved.numel() != sum(sizes):
                raise ValueError(f"{name}.load_state_dict: {buffer!r} does not fit the parameters")
            parts = torch.split(saved.reshape(-1), sizes)
            self.state[buffer] = [
                part.reshape(value.shape).to(value).clone()
                for part, value in zip(parts, self.values, strict=True)
            ]

    def _buffers(self, name: str, first: list[Tensor] | None = None) -> list[Tensor]:
        """The state buffer `name`, made on first use: a copy of `first`, or zeros."""
        if name not in self.state:
            if first is None:
                self.state[name] = [torch.zeros_like(value) for value in self.values]
            else:
                self.state[name] = [tensor.clone() for tensor in first]
        return self.state[name]

    def _with_weight_decay(self, weight_decay: float) -> list[Tensor]:
        """The gradients, with `weight_decay * p` added if that is not 0 (a new list)."""
        if not weight_decay:
            return self.grads
        return list(torch._foreach_add(self.grads, self.values, alpha=weight_decay))


class SGD(Optimizer):
    """p <- p - lr * g, with optional momentum, Nesterov and weight decay, as torch's SGD.

    With weight decay, g is first replaced by g + weight_decay * p; with momentum, the buffer
    b <- momentum * b + g (b = g on the first step) replaces g, or with Nesterov g + momentum
    * b does.

    Args:
        params: see `Optimizer`.
        lr: the learning rate (`alpha` is accepted too, as the seed report spells it).
        momentum: the momentum factor, 0 for none.
        weight_decay: the L2 penalty factor, 0 for none.
        nesterov: Nesterov momentum; needs momentum > 0.
    """

    buffer_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Parameter] | FlatParameters,
        lr: float | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        alpha: float | None = None,
    ) -> None:
        super().__init__(params, alpha if lr is None else lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError("SGD: momentum and weight_decay must not be negative")
        if nesterov and not momentum > 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.nesterov = nesterov

    def step(self) -> None:
        self.steps += 1
        grads = self._with_weight_decay(self.weight_decay)
        if self.momentum:
            grads = self._momentum(grads)
        torch._foreach_add_(self.values, grads, alpha=-self.lr)

    def graph_step(self, lr: Tensor, step: Tensor) -> None:
        self.steps += 1
        grads = self._with_weight_decay(self.weight_decay)
        if self.momentum:
            grads = self._momentum(grads)
        rate = lr.to(self.values[0].dtype)
        for value, grad in zip(self.values, grads, strict=True):
            value.addcmul_(grad, rate, value=-1)

    def _momentum(self, grads: list[Tensor]) -> list[Tensor]:
        if "momentum_buffer" in self.state:
            buffers = self.state["momentum_buffer"]
            torch._foreach_mul_(buffers, self.momentum)
            torch._foreach_add_(buffers, grads)
        else:
            buffers = self._buffers("momentum_buffer", first=grads)
        if self.nesterov:
            return list(torch._foreach_add(grads, buffers, alpha=self.momentum))
        return buffers


class Adam(Optimizer):
    """Adam, as torch.optim.Adam: moments m and v with bias corrections.

    With g the gradient (plus weight_decay * p when that is not 0) and t the step number:
    m <- beta1 m + (1 - beta1) g, v <- beta2 v + (1 - beta2) g^2, then
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).

    Args:
        params: see `Optimizer`.
        lr: the learning rate.
        betas: the decay rates of m and v, each in [0, 1).
        eps: added to the denominator, >= 0.
        weight_decay: the L2 penalty factor, added to the gradient (see AdamW for the
            decoupled form).
    """

    buffer_names = ("exp_avg", "exp_avg_sq")
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(
        self,
        params: Iterable[Parameter] | FlatParameters,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"{name}: eps and weight_decay must not be negative")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        if self.decoupled_weight_decay:
            if self.weight_decay:
                torch._foreach_mul_(self.values, 1 - self.lr * self.weight_decay)
            grads = self.grads
        else:
            grads = self._with_weight_decay(self.weight_decay)
        exp_avg, exp_avg_sq = self._buffers("exp_avg"), self._buffers("exp_avg_sq")
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        bias_correction1 = 1 - beta1**self.steps
        root2 = (1 - beta2**self.steps) ** 0.5
        # p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), written as
        # p -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps*sqrt(bc2)): one call fewer.
        denominator = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_add_(denominator, self.eps * root2)
        step = self.lr * root2 / bias_correction1
        torch._foreach_addcdiv_(self.values, exp_avg, denominator, -step)

    def graph_step(self, lr: Tensor, step: Tensor) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        dtype = self.values[0].dtype
        if self.decoupled_weight_decay:
            if self.weight_decay:
                shrink = (lr * -self.weight_decay).add_(1).to(dtype)
                for value in self.values:
                    value.mul_(shrink)
            grads = self.grads
        else:
            grads = self._with_weight_decay(self.weight_decay)
        exp_avg, exp_avg_sq = self._buffers("exp_avg"), self._buffers("exp_avg_sq")
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        # beta ** t on the device (full_like fills there: torch.pow(beta, t) would copy the
        # number from the host, which a graph cannot hold).
        root2 = torch.full_like(step, beta2).pow_(step).neg_().add_(1).sqrt_()
        correction1 = torch.full_like(step, beta1).pow_(step).neg_().add_(1)
        size, eps = (lr * root2 / correction1).to(dtype), (root2 * self.eps).to(dtype)
        for value, m, v in zip(self.values, exp_avg, exp_avg_sq, strict=True):
            value.sub_(m / v.sqrt().add_(eps) * size)


class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW: p <- p (1 - lr weight_decay)
    before Adam's update, which then sees the plain gradient.

    Args: as `Adam`, with `weight_decay` 0.01 by default.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Parameter] | FlatParameters,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def _empty() -> Tensor:
    return torch.zeros(0)
