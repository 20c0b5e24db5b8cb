"""`train backend=torch`: the same network in torch.nn, trained with autograd and torch.optim.

The same initial weights (copied from the minidl model), the same data, the same mini-batch
order and dropout masks (drawn from the same generator), the optimiser and the learning
rate schedule of the spec: a cross-check of every hand-written gradient.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minidl.compiler.words import LAYERS, LOSSES, OPTIMIZERS, word_of
from minidl.data import Dataset, batches
from minidl.lang import Spec
from minidl.nn import Branches, Concat, Loss, Module, Sequential, Sum
from minidl.schedule import Schedule
from minidl.stopping import EarlyStopping
from minidl.train import (
    DivergenceError,
    EpochRecord,
    ProgressCallback,
    record_of,
    regression_scores,
)

__all__ = ["copy_weights_back", "fit_torch", "to_torch"]


def to_torch(model: Sequential) -> nn.Sequential:
    """A torch.nn copy of a minidl model, with the same weights and state.

    Its `parameters()` come in the order of the model's `param()`: depth first through the
    branches of joins, weight before bias.
    """
    return nn.Sequential(*(_twin(m) for m in model))


class TorchJoin(nn.Module):
    """Branches on one input, their outputs added (`sum`) or concatenated (`concat`)."""

    def __init__(self, op: str, branches: list[nn.Module], dim: int = -1) -> None:
        super().__init__()
        self.op, self.dim = op, dim
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = [branch(x) for branch in self.branches]
        if self.op == "concat":
            return torch.cat(outputs, dim=self.dim)
        total = outputs[0]
        for output in outputs[1:]:
            total = total + output
        return total


_JOINS = {Sum: "sum", Concat: "concat"}


def _twin(module: Module) -> nn.Module:
    """The torch.nn module that computes what the minidl `module` computes."""
    if isinstance(module, Sequential):
        return to_torch(module)
    if isinstance(module, Branches):
        dim = module.dim if isinstance(module, Concat) else -1
        return TorchJoin(_JOINS[type(module)], [_twin(b) for b in module.branches], dim)
    return LAYERS[word_of(module)].torch(module)


def _pairs(twin: nn.Module, module: Module) -> list[tuple[nn.Module, Module]]:
    """Each layer of the minidl model with its torch twin, depth first."""
    if isinstance(module, Sequential | Branches):
        children = list(twin.branches if isinstance(twin, TorchJoin) else twin.children())
        return [
            pair
            for theirs, mine in zip(children, module.children(), strict=True)
            for pair in _pairs(theirs, mine)
        ]
    return [(twin, module)]


def copy_weights_back(source: nn.Sequential, model: Sequential) -> None:
    """Copy trained torch weights (and running statistics) into the minidl model."""
    with torch.no_grad():
        for theirs, (value, _) in zip(source.parameters(), model.param(), strict=True):
            value.copy_(theirs)
        for twin, module in _pairs(source, model):
            for name in ("running_mean", "running_var"):
                if hasattr(module, name) and getattr(module, name) is not None:
                    getattr(module, name).copy_(getattr(twin, name))


def fit_torch(
    spec: Spec,
    model: Sequential,
    loss: Loss,
    schedule: Schedule,
    data: tuple[Dataset, Dataset | None],
    generator: torch.Generator,
    callback: ProgressCallback | None = None,
    validation: Dataset | None = None,
    stopping: EarlyStopping | None = None,
    target_scale: torch.Tensor | None = None,
) -> list[EpochRecord]:
    """Train a torch.nn copy of `model` with autograd as `spec` says; copy the result back.

    `loss` (the minidl loss of the spec) scores the epochs, as minidl's loop does (RMSE
    and R² with `target_scale`, for values to predict); with `validation` it scores that
    too, and `stopping` ends early and keeps the best epoch's weights, as minidl's loop does.
    """
    train, test = data
    net = to_torch(model)
    optimizer = OPTIMIZERS[spec.optimizer.kind].torch(spec.optimizer, net.parameters())
    per_sample_loss = LOSSES[spec.loss.name].torch
    history: list[EpochRecord] = []
    best: dict[str, torch.Tensor] = {}
    for epoch in range(1, spec.train.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr_at(epoch - 1)
        net.train()
        seen = 0.0
        batch_size = spec.optimizer.batch
        for step, index in enumerate(batches(len(train), batch_size, generator), 1):
            index = index.to(train.inputs.device)
            optimizer.zero_grad()
            per_sample = per_sample_loss(spec.loss, net(train.inputs[index]), train.targets[index])
            value = per_sample.sum() if spec.loss.reduction == "sum" else per_sample.mean()
            torch.autograd.backward(value)
            if not math.isfinite(float(value.detach())):
                raise DivergenceError(epoch, step, "loss", [history], None)
            seen += float(per_sample.detach().sum())
            optimizer.step()
        net.eval()
        figures = _figures(net, loss, seen / len(train), train, test, validation, target_scale)
        history.append(record_of(epoch, figures, validation is not None))
        if callback is not None:
            callback(history[-1])
        if stopping is not None:
            best_epoch, since = stopping.state(
                [math.nan if r.val_loss is None else r.val_loss for r in history]
            )
            if best_epoch == epoch:
                best = {k: v.detach().clone() for k, v in net.state_dict().items()}
            if since >= stopping.patience:
                break
    if best:
        net.load_state_dict(best)
    copy_weights_back(net, model)
    return history


@torch.no_grad()
def _figures(
    net: nn.Sequential,
    loss: Loss,
    seen: float,
    train: Dataset,
    test: Dataset | None,
    validation: Dataset | None,
    target_scale: torch.Tensor | None,
) -> torch.Tensor:
    """The epoch's figures as minidl's loop orders them (see `minidl.train.record_of`)."""

    def scores(data: Dataset) -> list[torch.Tensor]:
        output = net(data.inputs)
        per_sample = loss.per_sample(output, data.targets)
        if target_scale is not None:
            return [per_sample.mean(-1), *regression_scores(output, data.targets, target_scale)]
        return [per_sample.mean(-1), loss.error_rate(output, data.targets)]

    train_figures = scores(train)
    test_figures = scores(test) if test is not None else [f * math.nan for f in train_figures]
    pairs = [f for pair in zip(train_figures[1:], test_figures[1:], strict=True) for f in pair]
    held = scores(validation) if validation is not None else []
    values = [seen, *(float(f) for f in (train_figures[0], test_figures[0], *pairs, *held))]
    return torch.tensor(values, dtype=torch.float64)
