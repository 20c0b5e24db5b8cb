"""Early stopping on a validation loss: the rule, and each run's best weights.

The rule is a function of the validation losses so far alone (`EarlyStopping.state`), so a
resumed run finds its best epoch and its patience counter again in its history; only the
best weights themselves must be kept beside it (`BestWeights`, in the checkpoint).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from minidl.nn import Module

__all__ = ["BestWeights", "EarlyStopping", "StoppingRuns", "model_tensors"]


@dataclass(frozen=True)
class EarlyStopping:
    """Stop after `patience` epochs in a row in which the validation loss did not fall below
    the best so far by more than `min_delta` (Keras' `EarlyStopping`, `mode="min"`)."""

    patience: int
    min_delta: float = 0.0

    def state(self, losses: Sequence[float]) -> tuple[int, int]:
        """The best epoch (1-based; 0 before the first) and the epochs since it.

        The first epoch is the first best; a NaN loss is never better."""
        best, best_epoch = math.inf, 0
        for epoch, value in enumerate(losses, start=1):
            if best_epoch == 0 or value < best - self.min_delta:
                best, best_epoch = value, epoch
        return best_epoch, len(losses) - best_epoch

    def stopped(self, losses: Sequence[float]) -> bool:
        """Whether a run with these validation losses has stopped."""
        return bool(losses) and self.state(losses)[1] >= self.patience


def model_tensors(model: Module) -> list[Tensor]:
    """What a model's result is made of: its parameter values, then its buffers (BatchNorm's
    running statistics), as live tensors in a fixed order."""
    return [value for value, _ in model.param()] + model.buffers()


class BestWeights:
    """A copy of each run's weights as of its best epoch so far.

    For a stacked model (a leading run axis on every tensor) each run has its own; `runs`
    arguments name them. A plain model is one run, 0.
    """

    def __init__(self, model: Module, stacked: bool = False) -> None:
        self.stacked = stacked
        self.tensors = [t.detach().clone() for t in model_tensors(model)]

    def keep(self, model: Module, runs: Sequence[int] = (0,)) -> None:
        """Copy the model's weights now into the best of `runs`."""
        self._copy(model_tensors(model), self.tensors, runs)

    def restore(self, model: Module, runs: Sequence[int] = (0,)) -> None:
        """Put the best weights of `runs` back into the model."""
        self._copy(self.tensors, model_tensors(model), runs)

    def load(self, tensors: Sequence[Tensor]) -> None:
        """Take saved best weights (a checkpoint's), of the same shapes."""
        if [t.shape for t in tensors] != [t.shape for t in self.tensors]:
            raise ValueError("the best weights do not fit the model")
        with torch.no_grad():
            for mine, saved in zip(self.tensors, tensors, strict=True):
                mine.copy_(saved)

    def put_back(self, live: Sequence[Tensor], index: Tensor) -> None:
        """Copy the best weights of the stacked runs `index` into the `live` tensors (the
        model's, as `model_tensors` gives them): after each step, for runs that stopped."""
        with torch.no_grad():
            for src, dst in zip(self.tensors, live, strict=True):
                dst.index_copy_(0, index, src.index_select(0, index))

    def _copy(self, source: list[Tensor], target: list[Tensor], runs: Sequence[int]) -> None:
        with torch.no_grad():
            if not self.stacked:
                for src, dst in zip(source, target, strict=True):
                    dst.copy_(src)
                return
            index = torch.tensor(list(runs), device=target[0].device if target else None)
            for src, dst in zip(source, target, strict=True):
                dst.index_copy_(0, index, src.index_select(0, index))


class StoppingRuns:
    """Early stopping over the runs of one training: each run's best so far, its patience
    counter, whether it has stopped, and its best weights.

    `runs` is the number of stacked runs, or 0 for a plain model (one run). `best` may be
    given to continue from saved best weights (a resumed run)."""

    def __init__(self, stopping: EarlyStopping, runs: int, best: BestWeights | None) -> None:
        self.stopping = stopping
        self.stacked = runs > 0
        self.count = max(runs, 1)
        self.best = best
        self.best_loss = [math.inf] * self.count
        self.best_epoch = [0] * self.count
        self.epochs = [0] * self.count
        self.stopped = [False] * self.count
        self.hold: Callable[[], None] | None = None
        """Called after each step while some runs have stopped: holds their weights."""

    def start(self, model: Module, losses: Sequence[Sequence[float]]) -> None:
        """Find each run's state again in the validation losses of its epochs so far."""
        if self.best is None:
            self.best = BestWeights(model, self.stacked)
        for run, run_losses in enumerate(losses):
            for value in run_losses:
                self._see(run, value)
        self._hold_stopped(model)

    def training(self) -> list[int]:
        """The runs that are still training."""
        return [run for run, stopped in enumerate(self.stopped) if not stopped]

    def all_stopped(self) -> bool:
        """Whether every run has stopped."""
        return all(self.stopped)

    def epoch_done(self, model: Module, losses: dict[int, float]) -> None:
        """After an epoch, given the validation loss of each run that trained: keep the
        weights of runs at a new best, stop those that ran out of patience."""
        improved = [run for run, value in losses.items() if self._see(run, value)]
        if improved and self.best is not None:
            self.best.keep(model, improved)
        self._hold_stopped(model)

    def finish(self, model: Module) -> None:
        """Leave every run with its best epoch's weights."""
        self.hold = None
        if self.best is not None:
            self.best.restore(model, list(range(self.count)))

    def _see(self, run: int, value: float) -> bool:
        """Count one more epoch of `run`; whether it is the run's new best."""
        self.epochs[run] += 1
        better = self.best_epoch[run] == 0 or value < self.best_loss[run] - self.stopping.min_delta
        if better:
            self.best_loss[run], self.best_epoch[run] = value, self.epochs[run]
        if self.epochs[run] - self.best_epoch[run] >= self.stopping.patience:
            self.stopped[run] = True
        return better

    def _hold_stopped(self, model: Module) -> None:
        stopped = [run for run, done in enumerate(self.stopped) if done]
        if not stopped or len(stopped) == self.count or self.best is None:
            self.hold = None
            return
        best = self.best
        best.restore(model, stopped)
        live = model_tensors(model)  # looked up once: the step's updates go into these
        index = torch.tensor(stopped, device=live[0].device if live else None)
        self.hold = lambda: best.put_back(live, index)
