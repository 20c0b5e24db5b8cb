"""What an epoch's records hold: each set's loss and error rate (or RMSE and R²), per run."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from minidl.data import Dataset
from minidl.nn import Loss, Module

__all__ = ["epoch_rows", "evaluate", "figures_of", "regression_scores", "scores"]


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


def epoch_rows(
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
    train_figures = figures_of(loss, train_output, train.targets, target_scale)
    if test is None:
        test_figures = [figure * math.nan for figure in train_figures]
    else:
        test_figures = figures_of(loss, model.forward(test.inputs), test.targets, target_scale)
    pairs = [f for pair in zip(train_figures[1:], test_figures[1:], strict=True) for f in pair]
    figures = [loss_value, train_figures[0], test_figures[0], *pairs]
    if validation is not None:
        output = model.forward(validation.inputs)
        figures.extend(figures_of(loss, output, validation.targets, target_scale))
    device = train.inputs.device  # gathered there, then read with one wait for the device
    return torch.stack([f.reshape(-1).double().to(device) for f in figures], dim=1).cpu()


def figures_of(
    loss: Loss, output: Tensor, targets: Tensor, target_scale: Tensor | None
) -> list[Tensor]:
    """(loss, error) or (loss, RMSE, R²) of one set."""
    mean_loss, error = scores(loss, output, targets)
    if target_scale is None:
        return [mean_loss, error]
    return [mean_loss, *regression_scores(output, targets, target_scale)]
