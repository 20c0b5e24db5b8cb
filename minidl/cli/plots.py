"""Plots of a run: loss and error curves, and the decision boundary of a 2-D classifier."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from minidl.data import Dataset
from minidl.nn import Sequential
from minidl.runs.run_folder import write_atomic
from minidl.train import EpochRecord

__all__ = ["plot_boundary", "plot_curves", "plot_search", "plot_sweep"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: object, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    write_atomic(path, buffer.getvalue())


def plot_curves(history: Sequence[EpochRecord], path: Path, title: str) -> None:
    """Loss and error (%) per epoch, train and test (and validation), side by side."""
    plt = _pyplot()
    epochs = [r.epoch for r in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [r.train_loss for r in history], label="train")
    left.plot(epochs, [r.test_loss for r in history], label="test")
    left.set(xlabel="epoch", ylabel="MSE per sample", title="loss", yscale="log")
    regression = bool(history) and history[-1].regression
    train, test = ("train_rmse", "test_rmse") if regression else ("train_error", "test_error")
    right.plot(epochs, [getattr(r, train) for r in history], label="train")
    right.plot(epochs, [getattr(r, test) for r in history], label="test")
    if regression:
        right.set(xlabel="epoch", ylabel="RMSE", title="root mean squared error")
    else:
        right.set(xlabel="epoch", ylabel="error (%)", title="error")
    if history and history[0].val_loss is not None:
        val = "val_rmse" if regression else "val_error"
        left.plot(epochs, [r.val_loss for r in history], label="validation")
        right.plot(epochs, [getattr(r, val) for r in history], label="validation")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    _save(figure, path)
    plt.close(figure)


PLOT_BUDGET = 1 << 24
"""Values a chunk of the plot's grid may hold across the network's stages (128 MiB in
float64): a 200×200 grid in one batch asked `Linear 2->1000000` for 160 GB."""


def _forward_in_chunks(model: Sequential, grid: torch.Tensor) -> torch.Tensor:
    """`model.forward(grid)`, a few rows at a time: each stage keeps its input for a
    backward, so a batch costs its rows times the widths of every stage."""
    widths = [value.shape[0] for value, _ in model.param() if value.dim() >= 2]
    per_row = 2 * max(1, sum(widths))  # a stage's output and what its neighbour keeps
    rows = max(1, min(len(grid), PLOT_BUDGET // per_row))
    first = model.forward(grid[:rows])
    output = torch.empty((len(grid), first.shape[1]), dtype=first.dtype, device=first.device)
    output[:rows] = first
    # Copied into one tensor at once: a list of the small outputs, each allocated between two
    # large temporaries, kept the heap from shrinking (gigabytes, measured).
    for start in range(rows, len(grid), rows):
        output[start : start + rows] = model.forward(grid[start : start + rows])
    return output


@torch.no_grad()
def plot_boundary(
    model: Sequential, data: Dataset, path: Path, title: str, disk: float | None = None
) -> None:
    """The model's output over the inputs' range, its 0.5 contour, the points of `data`,
    and, for the disk data set, the true boundary (a circle of radius `disk`) dashed."""
    plt = _pyplot()
    inputs = data.inputs.detach().cpu().double()
    low, high = inputs.min(0).values - 0.05, inputs.max(0).values + 0.05
    xs = torch.linspace(float(low[0]), float(high[0]), 200, dtype=torch.float64)
    ys = torch.linspace(float(low[1]), float(high[1]), 200, dtype=torch.float64)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
    weight = next(iter(model.param()))[0]
    grid = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1).to(
        weight.device, weight.dtype
    )
    output = _forward_in_chunks(model, grid).cpu().double()
    score = output[:, 0] if output.shape[1] == 1 else output.argmax(1).double()
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.contourf(grid_x, grid_y, score.reshape(200, 200), levels=20, cmap="RdBu_r", alpha=0.6)
    if output.shape[1] == 1:
        axis.contour(grid_x, grid_y, score.reshape(200, 200), levels=[0.5], colors="k")
    labels = data.targets.detach().cpu()
    colour = labels[:, 0] if labels.shape[1] == 1 else labels.argmax(1)
    axis.scatter(inputs[:, 0], inputs[:, 1], c=colour, s=6, cmap="coolwarm", edgecolors="none")
    if disk is not None:
        circle = plt.Circle((0.5, 0.5), disk, fill=False, linestyle="--", color="0.2")
        axis.add_patch(circle)
        model_line = plt.Line2D([], [], color="k", label="model: output 0.5")
        true_line = plt.Line2D([], [], color="0.2", linestyle="--", label="true disk")
        axis.legend(handles=[model_line, true_line], loc="upper right", fontsize=8)
    axis.set(xlabel="x1", ylabel="x2", title=title, aspect="equal")
    _save(figure, path)
    plt.close(figure)


def plot_sweep(spec: Any, grid: Sequence[Any], results: Sequence[Any], path: Path) -> None:
    """Train and test error against the swept value (or the cell), mean ± std over runs."""
    import statistics

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4))
    numeric = len(spec.sweep.axes) == 1 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in spec.sweep.axes[0].values
    )
    xs = [c.settings[0][1] if numeric else i for i, c in enumerate(grid)]
    regression = any(f is not None and f.regression for r in results for f in r.finals)
    prefix = "rmse" if regression else "error"
    for name, label in ((f"train_{prefix}", "train"), (f"test_{prefix}", "test")):
        means, stds = [], []
        for result in results:
            values = result.figures(name) or [float("nan")]
            means.append(statistics.fmean(values))
            stds.append(statistics.stdev(values) if len(values) > 1 else 0.0)
        axis.errorbar(xs, means, yerr=stds, marker="o", capsize=4, label=label)
    if numeric:
        axis.set_xscale("log", base=2 if spec.sweep.axes[0].key == "sgd.batch" else 10)
        axis.set_xticks(xs, [c.label for c in grid])
        axis.set_xlabel(spec.sweep.axes[0].key)
    else:
        axis.set_xticks(xs, [c.label for c in grid], rotation=20)
    ylabel = "RMSE" if regression else "error (%)"
    axis.set(ylabel=ylabel, title=f"{spec.sweep.runs} runs per cell, mean ± std")
    axis.grid(alpha=0.3)
    axis.legend()
    _save(figure, path)
    plt.close(figure)


def plot_search(spec: Any, grid: Sequence[Any], results: Sequence[Any], path: Path) -> None:
    """A search: mean test error of each configuration against each swept key, one panel a key."""
    import statistics

    plt = _pyplot()
    keys = [axis.key for axis in spec.sweep.axes] or ["cell"]
    figure, axes = plt.subplots(1, len(keys), figsize=(3.5 * len(keys) + 1, 3.5), squeeze=False)
    regression = any(f is not None and f.regression for r in results for f in r.finals)
    name = "test_rmse" if regression else "test_error"
    errors = [statistics.fmean(r.figures(name) or [float("nan")]) for r in results]
    for column, (axis, key) in enumerate(zip(axes[0], keys, strict=True)):
        values = [c.settings[column][1] if c.settings else c.index for c in grid]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        xs = values if numeric else [str(v) for v in values]
        axis.scatter(xs, errors, alpha=0.7)
        drawn = spec.sweep.axes[column] if spec.sweep.axes else None
        if drawn is not None and drawn.distribution == "loguniform":
            axis.set_xscale("log")
        ylabel = "test RMSE" if regression else "test error (%)"
        axis.set(xlabel=key, ylabel=ylabel if column == 0 else None)
        axis.grid(alpha=0.3)
    figure.suptitle(f"{len(grid)} configurations, {spec.sweep.runs} runs each (mean)")
    _save(figure, path)
    plt.close(figure)
