"""The training loop: mini-batch SGD for a number of epochs, with a per-epoch history."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from minidl.data import Dataset, shuffled
from minidl.nn import LossMSE, Module, flat_view
from minidl.optim import SGD

__all__ = [
    "DivergenceError",
    "EnsembleCallback",
    "EpochRecord",
    "ProgressCallback",
    "error_rate",
    "evaluate",
    "fit",
    "fit_ensemble",
    "scores",
]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's figures: the mean per-sample training loss seen during the epoch, then
    the loss and error (%) on the train and test sets with the weights at its end."""

    epoch: int
    loss: float
    train_loss: float
    test_loss: float
    train_error: float
    test_error: float

    def as_dict(self) -> dict[str, float]:
        """The record as a dict, in field order (a line of history.csv)."""
        return asdict(self)


class DivergenceError(RuntimeError):
    """The loss or a gradient became NaN or infinite.

    `histories` holds each run's completed epochs and `history` those of the run that failed.
    """

    def __init__(
        self, epoch: int, step: int, what: str, histories: list[list[EpochRecord]], run: int | None
    ) -> None:
        self.epoch = epoch
        self.step = step
        self.what = what
        self.run = run
        self.histories = histories
        self.history = histories[run or 0]
        where = f"epoch {epoch}, step {step}" + ("" if run is None else f" (run {run})")
        super().__init__(f"training diverged at {where}: the {what} became NaN or infinite")


ProgressCallback = Callable[[EpochRecord], None]
"""Called by `fit` after each epoch with that epoch's record."""

EnsembleCallback = Callable[[list[EpochRecord]], None]
"""Called by `fit_ensemble` after each epoch with each run's record of that epoch."""


def error_rate(output: Tensor, targets: Tensor) -> Tensor:
    """Percentage of misclassified samples, over the last two axes.

    With one output the prediction is `output > 0.5`; with several, the arg-max, compared
    with the arg-max of the one-hot targets.
    """
    if output.shape[-1] == 1:
        wrong = (output > 0.5) != (targets > 0.5)
    else:
        wrong = (output.argmax(-1) != targets.argmax(-1)).unsqueeze(-1)
    return wrong.double().mean(dim=(-2, -1)) * 100


def evaluate(model: Module, data: Dataset) -> tuple[Tensor, Tensor]:
    """Return the mean per-sample squared error and the error rate (%) of `model` on `data`."""
    return scores(model.forward(data.inputs), data.targets)


def scores(output: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The mean per-sample squared error and the error rate (%) of `output` for `targets`."""
    squared = (output - targets).square().mean(dim=-1)
    return squared.mean(dim=-1), error_rate(output, targets)


def fit(
    model: Module,
    loss: LossMSE,
    optimizer: SGD,
    train: Dataset,
    test: Dataset | None = None,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    callback: ProgressCallback | None = None,
) -> list[EpochRecord]:
    """Train `model` with mini-batch SGD and return one record per epoch.

    Each epoch draws a fresh order of the samples from `generator` and updates the parameters
    once per mini-batch. Raises `DivergenceError` as soon as the loss or a gradient is NaN or
    infinite.
    """
    each = None if callback is None else (lambda records: callback(records[0]))
    runs = _train(model, loss, optimizer, train, test, epochs, batch_size, [generator], each)
    return runs[0]


def fit_ensemble(
    model: Module,
    loss: LossMSE,
    optimizer: SGD,
    train: Dataset,
    test: Dataset | None = None,
    *,
    epochs: int,
    batch_size: int,
    generators: Sequence[torch.Generator],
    callback: EnsembleCallback | None = None,
) -> list[list[EpochRecord]]:
    """Train R stacked runs at once (see `minidl.nn.stack`); return each run's history.

    `train` and `test` carry a leading run axis; run r shuffles with `generators[r]`, so it
    sees exactly the mini-batches it would see when trained alone.
    """
    return _train(model, loss, optimizer, train, test, epochs, batch_size, generators, callback)


def _train(
    model: Module,
    loss: LossMSE,
    optimizer: SGD,
    train: Dataset,
    test: Dataset | None,
    epochs: int,
    batch_size: int,
    generators: Sequence[torch.Generator],
    callback: EnsembleCallback | None,
) -> list[list[EpochRecord]]:
    rows: list[Tensor] = []
    for epoch in range(1, epochs + 1):
        epoch_data = _shuffled(train, generators)
        try:
            seen = _epoch(model, loss, optimizer, epoch_data, batch_size)
        except _Diverged as diverged:
            run = diverged.run if train.inputs.dim() == 3 else None
            histories = _histories(rows, len(generators))
            raise DivergenceError(epoch, diverged.step, diverged.what, histories, run) from None
        rows.append(_epoch_row(seen / len(train), model, train, test))
        if callback is not None:
            callback([_record(epoch, row) for row in rows[-1]])
    return _histories(rows, len(generators))


def _shuffled(data: Dataset, generators: Sequence[torch.Generator]) -> Dataset:
    """The epoch's data in a fresh order: one gather per epoch, then each batch is a view."""
    orders = [shuffled(len(data), g).to(data.inputs.device) for g in generators]
    if data.inputs.dim() == 2:
        return Dataset(data.inputs[orders[0]], data.targets[orders[0]])
    runs = torch.arange(len(generators), device=data.inputs.device).unsqueeze(1)
    order = torch.stack(orders)
    return Dataset(data.inputs[runs, order], data.targets[runs, order])


class _Diverged(Exception):
    def __init__(self, step: int, what: str, run: int | None) -> None:
        self.step, self.what, self.run = step, what, run


def _epoch(model: Module, loss: LossMSE, optimizer: SGD, data: Dataset, batch_size: int) -> Tensor:
    """One pass of mini-batch SGD; return each run's summed per-sample loss."""
    grads = [grad for _, grad in model.param()]
    flat_grad = flat_view(grads)
    stacked = data.inputs.dim() == 3
    seen = torch.zeros(data.inputs.shape[0] if stacked else 1, dtype=torch.float64)
    n = len(data)
    for step, start in enumerate(range(0, n, batch_size), start=1):
        size = min(batch_size, n - start)
        optimizer.zero_grad()
        output = model.forward(data.inputs.narrow(-2, start, size))
        value = float(loss.forward(output, data.targets.narrow(-2, start, size)))
        model.backward(loss.backward())
        grad_sum = (
            float(flat_grad.sum()) if flat_grad is not None else sum(float(g.sum()) for g in grads)
        )
        if not (math.isfinite(value) and math.isfinite(grad_sum)):
            what = "gradient" if math.isfinite(value) else "loss"
            per_run = loss.per_sample_sum().reshape(-1)
            bad = (~torch.isfinite(per_run)).nonzero()
            raise _Diverged(step, what, int(bad[0]) if len(bad) else None)
        if stacked:
            seen += loss.per_sample_sum().cpu()
        else:
            seen += value * (size if loss.reduction == "mean" else 1)
        optimizer.step()
    return seen


def _epoch_row(loss_value: Tensor, model: Module, train: Dataset, test: Dataset | None) -> Tensor:
    train_loss, train_error = evaluate(model, train)
    if test is None:
        test_loss, test_error = train_loss * math.nan, train_error * math.nan
    else:
        test_loss, test_error = evaluate(model, test)
    figures = [loss_value, train_loss, test_loss, train_error, test_error]
    return torch.stack([f.reshape(-1).double().cpu() for f in figures], dim=1)


def _record(epoch: int, figures: Tensor) -> EpochRecord:
    loss, train_loss, test_loss, train_error, test_error = figures.tolist()
    return EpochRecord(epoch, loss, train_loss, test_loss, train_error, test_error)


def _histories(rows: list[Tensor], runs: int) -> list[list[EpochRecord]]:
    return [[_record(e, row[run]) for e, row in enumerate(rows, start=1)] for run in range(runs)]
