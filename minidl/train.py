"""The training loop: mini-batch updates for a number of epochs, with a per-epoch history."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from minidl.data import Dataset, shuffled
from minidl.history import CLASSIFICATION_FIGURES, REGRESSION_FIGURES, EpochRecord, record_of
from minidl.nn import Loss, Module
from minidl.optim import Optimizer
from minidl.schedule import Schedule
from minidl.stopping import BestWeights, EarlyStopping, StoppingRuns
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


def evaluate(model: Module, loss: Loss, data: Dataset) -> tuple[Tensor, Tensor]:
    """The mean per-sample loss and the error rate (%) of `model` on `data`, as it is now.

    The caller chooses the mode (`fit` scores in `model.eval()` mode).
    """
    return scores(loss, model.forward(data.inputs), data.targets)


def scores(loss: Loss, output: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The mean per-sample value of `loss` and its error rate (%) for `output` and `targets`.

    Both are taken over the last two axes: scalars, or one per run `(R,)`.
    """
    return loss.per_sample(output, targets).mean(dim=-1), loss.error_rate(output, targets)


def regression_scores(output: Tensor, targets: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    """RMSE and R² of `output` against `targets` (normalised alike), over the last two axes.

    `scale` `(T,)` maps a normalised target back to its own scale: the RMSE is on that
    scale, and like R² (which no scale changes) it is taken per target column and averaged
    over them, as scikit-learn's `root_mean_squared_error` and `r2_score` do. Computed in
    float64.
    """
    output, targets = output.double(), targets.double().reshape(output.shape)
    error = (output - targets).square()
    rmse = error.mean(dim=-2).sqrt() * scale.to(output.device, torch.float64)
    sse = error.sum(dim=-2)
    sst = (targets - targets.mean(dim=-2, keepdim=True)).square().sum(dim=-2)
    constant = torch.where(sse == 0, torch.ones_like(sse), torch.zeros_like(sse))
    r2 = torch.where(sst > 0, 1 - sse / torch.where(sst > 0, sst, 1), constant)
    return rmse.mean(dim=-1), r2.mean(dim=-1)


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
            rows = _epoch_rows(seen / len(train), model, loss, train, test, held.data, target_scale)
            model.train()
            if graphs is not None and not bool(rows[:, 0].isfinite().all()):
                rows[:, 0] = graphs.redo().cpu() / len(train)  # raises where _epoch would
        except _Diverged as diverged:
            run = diverged.run if train.stacked else None
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


def _epochs_done(
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


def _shuffled(data: Dataset, generators: Sequence[torch.Generator]) -> Dataset:
    """The epoch's data in a fresh order: one gather per epoch, then each batch is a view."""
    orders = [shuffled(len(data), g).to(data.inputs.device) for g in generators]
    if not data.stacked:
        return Dataset(data.inputs[orders[0]], data.targets[orders[0]])
    runs = torch.arange(len(generators), device=data.inputs.device).unsqueeze(1)
    order = torch.stack(orders)
    return Dataset(data.inputs[runs, order], data.targets[runs, order])


def _epoch(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    data: Dataset,
    batch_size: int,
    hold: Callable[[], None] | None = None,
) -> Tensor:
    """One pass of mini-batch updates; return each run's summed per-sample loss. `hold`,
    if given, runs after each update (it puts stopped runs' weights back)."""
    stacked = data.stacked
    seen = torch.zeros(data.inputs.shape[0] if stacked else 1, dtype=torch.float64)
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
            raise _Diverged(step, what, int(bad[0]) if len(bad) else None)
        if stacked:
            seen += loss.per_sample_sum().cpu()
        else:
            seen += value * (size if loss.reduction == "mean" else 1)
        optimizer.step()
        if hold is not None:
            hold()
    return seen


def _epoch_rows(
    loss_value: Tensor,
    model: Module,
    loss: Loss,
    train: Dataset,
    test: Dataset | None,
    validation: Dataset | None = None,
    target_scale: Tensor | None = None,
) -> Tensor:
    """The epoch's figures, one row per run: loss seen, then train and test loss and error
    (or, with `target_scale`, RMSE then R²), then the validation set's loss and error (or
    RMSE and R²) if there is one."""
    train_output = model.forward(train.inputs)
    train_figures = _figures(loss, train_output, train.targets, target_scale)
    if test is None:
        test_figures = [figure * math.nan for figure in train_figures]
    else:
        test_figures = _figures(loss, model.forward(test.inputs), test.targets, target_scale)
    pairs = [f for pair in zip(train_figures[1:], test_figures[1:], strict=True) for f in pair]
    figures = [loss_value, train_figures[0], test_figures[0], *pairs]
    if validation is not None:
        output = model.forward(validation.inputs)
        figures.extend(_figures(loss, output, validation.targets, target_scale))
    device = train.inputs.device  # gathered there, then read with one wait for the device
    return torch.stack([f.reshape(-1).double().to(device) for f in figures], dim=1).cpu()


def _figures(
    loss: Loss, output: Tensor, targets: Tensor, target_scale: Tensor | None
) -> list[Tensor]:
    """(loss, error) or (loss, RMSE, R²) of one set."""
    mean_loss, error = scores(loss, output, targets)
    if target_scale is None:
        return [mean_loss, error]
    return [mean_loss, *regression_scores(output, targets, target_scale)]
