"""The training loop: mini-batch updates for a number of epochs, with a per-epoch history.

What the records hold is computed in `minidl.scores` (`evaluate`, `scores` and
`regression_scores` are exported here too); the epochs on a CUDA device as CUDA graphs in
`minidl.train_graph`; early stopping's rule and best weights in `minidl.stopping`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from minidl.data import Dataset
from minidl.history import CLASSIFICATION_FIGURES, REGRESSION_FIGURES, EpochRecord, record_of
from minidl.nn import Loss, Module
from minidl.optim import Optimizer
from minidl.schedule import Schedule
from minidl.scores import epoch_rows, evaluate, regression_scores, scores
from minidl.stopping import BestWeights, EarlyStopping, StoppingRuns
from minidl.train_epoch import epochs_done as _epochs_done
from minidl.train_epoch import run_epoch as _epoch
from minidl.train_epoch import shuffled_data as _shuffled
from minidl.train_graph import Diverged as _Diverged
from minidl.train_graph import GraphEpochs, fallback_reason, graphs_wanted, say_fallback

__all__ = [
    "CLASSIFICATION_FIGURES",
    "REGRESSION_FIGURES",
    "DivergenceError",
    "EnsembleCallback",
    "EpochRecord",
    "ProgressCallback",
    "evaluate",
    "fit",
    "fit_ensemble",
    "record_of",
    "regression_scores",
    "scores",
]


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

    def __reduce__(self) -> tuple[object, ...]:
        args = (self.epoch, self.step, self.what, self.histories, self.run)
        return (type(self), args, self.__dict__)


ProgressCallback = Callable[[EpochRecord], None]
"""Called by `fit` after each epoch with that epoch's record.

It runs before the next epoch draws its order: the model's parameters, the optimiser's
`state_dict()` and the generator's `get_state()` are then what a resumed `fit` starts from.
"""

EnsembleCallback = Callable[[list[EpochRecord]], None]
"""Called by `fit_ensemble` after each epoch with each run's record of that epoch (and at
the same point as `ProgressCallback`)."""


def fit(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    train: Dataset,
    test: Dataset | None = None,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    callback: ProgressCallback | None = None,
    schedule: Schedule | None = None,
    history: Sequence[EpochRecord] = (),
    validation: Dataset | None = None,
    stopping: EarlyStopping | None = None,
    best: BestWeights | None = None,
    target_scale: Tensor | None = None,
) -> list[EpochRecord]:
    """Train `model` with mini-batches and return one record per epoch.

    Each epoch sets `optimizer.lr` from `schedule` (if given), draws a fresh order of the
    samples from `generator` and updates the parameters once per mini-batch in training
    mode; then it scores the train and test sets in evaluation mode. Raises
    `DivergenceError` as soon as the loss or a gradient is NaN or infinite.

    To resume, pass the records of the epochs already done as `history`, with the model,
    optimiser and generator as they were after the last of them (see `ProgressCallback`):
    training continues at epoch `len(history) + 1` up to `epochs`, exactly as if it had
    never stopped, and the whole history is returned.

    With `validation`, each epoch also scores it (`val_loss`, `val_error`). With `stopping`
    (which needs `validation`), training ends early by its rule and the model is left with
    the best epoch's weights, which `best` keeps meanwhile (pass the resumed run's own).

    With `target_scale` (the targets' scale per column, for values to predict) the records
    hold RMSE and R² instead of error rates (see `regression_scores`), on the validation
    set too.
    """
    each = None if callback is None else (lambda records: callback(records[0]))
    runs = _train(
        model,
        loss,
        optimizer,
        train,
        test,
        epochs,
        batch_size,
        [generator],
        each,
        schedule,
        [list(history)],
        _held(validation, stopping, best, 0),
        target_scale,
    )
    return runs[0]


def fit_ensemble(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    train: Dataset,
    test: Dataset | None = None,
    *,
    epochs: int,
    batch_size: int,
    generators: Sequence[torch.Generator],
    callback: EnsembleCallback | None = None,
    schedule: Schedule | None = None,
    histories: Sequence[Sequence[EpochRecord]] | None = None,
    validation: Dataset | None = None,
    stopping: EarlyStopping | None = None,
    target_scale: Tensor | None = None,
) -> list[list[EpochRecord]]:
    """Train R stacked runs at once (see `minidl.nn.stack`); return each run's history.

    `train` and `test` carry a leading run axis; run r shuffles with `generators[r]`, so it
    sees exactly the mini-batches it would see when trained alone. `schedule` and
    `histories` (one per run, to resume) are as in `fit`.

    With `stopping`, each run stops by itself: from then on its weights are held at its best
    epoch's (its updates are undone step by step) and its history ends; the callback gets
    the records of the runs still training. Training ends when every run has stopped.
    """
    done = [[] for _ in generators] if histories is None else [list(h) for h in histories]
    return _train(
        model,
        loss,
        optimizer,
        train,
        test,
        epochs,
        batch_size,
        generators,
        callback,
        schedule,
        done,
        _held(validation, stopping, None, len(generators)),
        target_scale,
    )


def _train(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    train: Dataset,
    test: Dataset | None,
    epochs: int,
    batch_size: int,
    generators: Sequence[torch.Generator],
    callback: EnsembleCallback | None,
    schedule: Schedule | None,
    histories: list[list[EpochRecord]],
    held: _Held,
    target_scale: Tensor | None = None,
) -> list[list[EpochRecord]]:
    watch = held.watch
    done = _epochs_done(histories, len(generators), epochs, watch is not None)
    if watch is not None:
        watch.start(model, [_val_losses(h) for h in histories])
    graphs = _graph_epochs(model, loss, optimizer, train, batch_size, watch is not None)
    for epoch in range(done + 1, epochs + 1):
        if watch is not None and watch.all_stopped():
            break
        if schedule is not None:
            optimizer.lr = schedule.lr_at(epoch - 1)
        model.train()
        try:
            if graphs is not None:
                seen = graphs.epoch(generators)  # NaN if the epoch diverged, read below
            else:
                hold = None if watch is None else watch.hold
                epoch_data = _shuffled(train, generators)
                seen = _epoch(model, loss, optimizer, epoch_data, batch_size, hold)
            model.eval()
            rows = epoch_rows(seen / len(train), model, loss, train, test, held.data, target_scale)
            model.train()
            if graphs is not None and not bool(rows[:, 0].isfinite().all()):
                rows[:, 0] = graphs.redo().cpu() / len(train)  # raises where _epoch would
        except _Diverged as diverged:
            run = None if model.runs is None else diverged.run
            raise DivergenceError(epoch, diverged.step, diverged.what, histories, run) from None
        records = [record_of(epoch, row, held.data is not None) for row in rows]
        training = range(len(records)) if watch is None else watch.training()
        for run in training:
            histories[run].append(records[run])
        if watch is not None:
            watch.epoch_done(model, {run: _val_losses([records[run]])[0] for run in training})
        if callback is not None:
            callback([records[run] for run in training])
    if watch is not None:
        watch.finish(model)
    return histories


def _graph_epochs(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    train: Dataset,
    batch_size: int,
    stopping: bool = False,
) -> GraphEpochs | None:
    """On a CUDA device, the epochs as CUDA graphs, unless the model cannot be captured
    (or early stopping must hold stopped runs' weights after every step)."""
    if not train.inputs.is_cuda:
        return None
    reason = fallback_reason(model, optimizer)
    if reason is None and stopping:
        reason = "early stopping puts stopped runs' weights back after every step"
    if reason is not None:
        say_fallback(reason)
        return None
    return GraphEpochs(model, loss, optimizer, train, batch_size, capture=graphs_wanted())


@dataclass(frozen=True)
class _Held:
    """A training's validation set, and the early stopping that watches it (if any)."""

    data: Dataset | None
    watch: StoppingRuns | None


def _held(
    data: Dataset | None, stopping: EarlyStopping | None, best: BestWeights | None, runs: int
) -> _Held:
    if stopping is None:
        return _Held(data, None)
    if data is None:
        raise ValueError("early stopping needs a validation set")
    return _Held(data, StoppingRuns(stopping, runs, best))


def _val_losses(history: Sequence[EpochRecord]) -> list[float]:
    return [math.nan if r.val_loss is None else r.val_loss for r in history]
