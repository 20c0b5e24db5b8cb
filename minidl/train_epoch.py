"""One epoch of the plain training loop: the epoch's order of the samples, then one update
per mini-batch with the divergence check; and how many epochs a resumed history holds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from minidl.data import Dataset, shuffled
from minidl.history import EpochRecord
from minidl.nn import Loss, Module
from minidl.optim import Optimizer
from minidl.train_graph import Diverged

__all__ = ["epochs_done", "run_epoch", "shuffled_data"]


def epochs_done(
    histories: list[list[EpochRecord]], runs: int, epochs: int, stopping: bool = False
) -> int:
    """How many epochs the given histories already hold (the same number for every run, but
    for runs that stopped early)."""
    done = {len(history) for history in histories}
    if len(histories) != runs or (len(done) != 1 and not stopping):
        raise ValueError(f"resume: need {runs} histories of one length, got {len(histories)}")
    count = max(done)
    for history in histories:
        if [record.epoch for record in history] != list(range(1, len(history) + 1)):
            raise ValueError("resume: a history must hold epochs 1, 2, ... in order")
    if count > epochs:
        raise ValueError(f"resume: the history holds {count} epochs, more than epochs={epochs}")
    return count


def shuffled_data(data: Dataset, generators: Sequence[torch.Generator]) -> Dataset:
    """The epoch's data in a fresh order: one gather per epoch, then each batch is a view."""
    orders = [shuffled(len(data), g).to(data.inputs.device) for g in generators]
    if not data.stacked:
        return Dataset(data.inputs[orders[0]], data.targets[orders[0]])
    runs = torch.arange(len(generators), device=data.inputs.device).unsqueeze(1)
    order = torch.stack(orders)
    return Dataset(data.inputs[runs, order], data.targets[runs, order])


def run_epoch(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    data: Dataset,
    batch_size: int,
    hold: Callable[[], None] | None = None,
) -> Tensor:
    """One pass of mini-batch updates; return each run's summed per-sample loss. `hold`,
    if given, runs after each update (it puts stopped runs' weights back)."""
    stacked = model.runs is not None
    seen = torch.zeros(1 if model.runs is None else model.runs, dtype=torch.float64)
    n = len(data)
    for step, start in enumerate(range(0, n, batch_size), start=1):
        size = min(batch_size, n - start)
        optimizer.zero_grad()
        batch = data.narrow(start, size)
        output = model.forward(batch.inputs)
        value = float(loss.forward(output, batch.targets))
        model.backward_params(loss.backward())
        # One call on the fast path: optimizer.grads is then the one flat gradient buffer.
        grad_sum = sum(float(grad.sum()) for grad in optimizer.grads)
        if not (math.isfinite(value) and math.isfinite(grad_sum)):
            what = "gradient" if math.isfinite(value) else "loss"
            per_run = loss.per_sample_sum().reshape(-1)
            bad = (~torch.isfinite(per_run)).nonzero()
            raise Diverged(step, what, int(bad[0]) if len(bad) else None)
        if stacked:
            seen += loss.per_sample_sum().cpu()
        else:
            seen += value * (size if loss.reduction == "mean" else 1)
        optimizer.step()
        if hold is not None:
            hold()
    return seen
