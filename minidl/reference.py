"""The same network in torch.nn with autograd and torch.optim.SGD, for cross-checks.

`train backend=torch` trains with this: the same initial weights (copied from the minidl
model), the same data, the same mini-batch order (drawn from the same generator).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minidl.data import Dataset, batches
from minidl.nn import Linear, LossMSE, ReLU, Sequential, Sigmoid, Tanh
from minidl.train import DivergenceError, EpochRecord, ProgressCallback, scores

__all__ = ["copy_weights_back", "fit_torch", "to_torch"]

TORCH_ACTIVATIONS: dict[type, type[nn.Module]] = {ReLU: nn.ReLU, Tanh: nn.Tanh, Sigmoid: nn.Sigmoid}


def to_torch(model: Sequential) -> nn.Sequential:
    """A torch.nn copy of a minidl model, with the same weights."""
    layers: list[nn.Module] = []
    for module in model:
        if isinstance(module, Linear):
            w = module.weight
            layer = nn.Linear(
                module.in_features,
                module.out_features,
                module.bias is not None,
                dtype=w.dtype,
                device=w.device,
            )
            with torch.no_grad():
                layer.weight.copy_(w)
                if module.bias is not None:
                    layer.bias.copy_(module.bias)
            layers.append(layer)
        else:
            layers.append(TORCH_ACTIVATIONS[type(module)]())
    return nn.Sequential(*layers)


def copy_weights_back(source: nn.Sequential, model: Sequential) -> None:
    """Copy trained torch weights into the minidl model they were made from."""
    with torch.no_grad():
        for theirs, (value, _) in zip(source.parameters(), model.param(), strict=True):
            value.copy_(theirs)


def fit_torch(
    model: Sequential,
    loss: LossMSE,
    train: Dataset,
    test: Dataset | None,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    callback: ProgressCallback | None = None,
) -> list[EpochRecord]:
    """Train a torch.nn copy of `model` with autograd; copy the result back into `model`."""
    net = to_torch(model)
    optimizer = torch.optim.SGD(
        net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    history: list[EpochRecord] = []
    for epoch in range(1, epochs + 1):
        seen = 0.0
        for step, index in enumerate(batches(len(train), batch_size, generator), start=1):
            index = index.to(train.inputs.device)
            optimizer.zero_grad()
            per_sample = (net(train.inputs[index]) - train.targets[index]).square().mean(dim=1)
            value = per_sample.sum() if loss.reduction == "sum" else per_sample.mean()
            value.backward()
            if not math.isfinite(float(value.detach())):
                raise DivergenceError(epoch, step, "loss", [history], None)
            seen += float(per_sample.detach().sum())
            optimizer.step()
        history.append(_record(net, epoch, seen / len(train), train, test))
        if callback is not None:
            callback(history[-1])
    copy_weights_back(net, model)
    return history


@torch.no_grad()
def _record(
    net: nn.Sequential, epoch: int, loss: float, train: Dataset, test: Dataset | None
) -> EpochRecord:
    train_loss, train_error = scores(net(train.inputs), train.targets)
    test_loss = test_error = torch.tensor(math.nan)
    if test is not None:
        test_loss, test_error = scores(net(test.inputs), test.targets)
    figures = (train_loss, test_loss, train_error, test_error)
    return EpochRecord(epoch, loss, *(float(f) for f in figures))
