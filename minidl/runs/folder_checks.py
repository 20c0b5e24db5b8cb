"""How the files of a run folder must agree with each other and with its `spec.mdl`.

Each file alone may be well formed and the folder still damaged: a `spec.mdl` cut short
(its `train` and `data` statements lost, so that it trains 100 epochs on the disk while the
history holds 150 on a CSV file), a history shorter than the epochs done, a `sweep` line
added to one run's spec. Each disagreement is a `RunFolderError` naming the file that no
longer fits (the spec, when the others agree among themselves).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from minidl.lang import Spec, ir
from minidl.runs.run_files import DataFile, MetricsFile
from minidl.runs.run_folder import RunFolderError
from minidl.train import EpochRecord

__all__ = ["check_agreement", "check_finite"]


def check_agreement(
    folder: Path,
    spec: Spec,
    data: DataFile,
    metrics: MetricsFile | None,
    history: list[EpochRecord] | None,
) -> None:
    """Raise `RunFolderError` for the first file that does not fit the others."""
    spec_path = folder / "spec.mdl"
    if spec.sweep is not None:
        raise RunFolderError(
            spec_path, "damaged: it holds a `sweep`, but this folder holds one run"
        )
    _data_fits(spec_path, spec, data)
    if metrics is None:
        return
    _metrics_fit(spec_path, spec, metrics)
    if history is None:
        return
    history_path = folder / "history.csv"
    # history.csv is written just before metrics.json: a process killed between the two
    # (a second interruption) leaves a history ahead of an unfinished run's metrics.
    ahead = metrics.status != "completed" and len(history) > metrics.epochs_completed
    if len(history) != metrics.epochs_completed and not ahead:
        raise RunFolderError(
            history_path,
            f"damaged: it holds {len(history)} epochs, "
            f"metrics.json says {metrics.epochs_completed}",
        )
    final = metrics.final
    kept = history[-1] if metrics.best_epoch is None else history[metrics.best_epoch - 1]
    if final is not None and not ahead and not _same(final.loss, kept.loss):
        raise RunFolderError(
            history_path, "damaged: its kept epoch's loss is not the one metrics.json holds"
        )


def _data_fits(spec_path: Path, spec: Spec, data: DataFile) -> None:
    if isinstance(spec.data, ir.SeededData):
        if tuple(data.features) != spec.data.features or data.target != spec.data.target:
            raise RunFolderError(
                spec_path,
                f"does not match data.json: it trains on `data {spec.data.kind}`, data.json "
                f"describes columns {', '.join(data.features)} -> {data.target}",
            )
        return
    targets = getattr(spec.data, "targets", None) or [getattr(spec.data, "target", None)]
    target = targets[0]
    if isinstance(target, str) and target != data.target:
        raise RunFolderError(
            spec_path, f"does not match data.json: target `{target}`, data.json `{data.target}`"
        )


def _metrics_fit(spec_path: Path, spec: Spec, metrics: MetricsFile) -> None:
    train = spec.train
    done, epochs = metrics.epochs_completed, train.epochs
    # A completed run did every epoch, unless it stopped early and says so (`stopped_epoch`,
    # which early stopping adds to metrics.json).
    early = getattr(metrics, "stopped_epoch", None) is not None
    if done > epochs or (metrics.status == "completed" and done != epochs and not early):
        raise RunFolderError(
            spec_path,
            f"does not match metrics.json: it trains {epochs} epochs, "
            f"the run {metrics.status} after {done}",
        )
    for name, saved in (
        ("seed", metrics.seed),
        ("backend", metrics.backend),
        ("dtype", metrics.dtype),
    ):
        if saved is not None and saved != getattr(train, name):
            raise RunFolderError(
                spec_path,
                f"does not match metrics.json: {name} {getattr(train, name)}, the run used {saved}",
            )


def _same(saved: float | None, value: float) -> bool:
    if saved is None:
        return math.isnan(value)
    return saved == value


def check_finite(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Weights (or optimiser state) with NaN or infinities are a damaged file: minidl keeps
    the last complete epoch's, which are finite, even when a run diverges."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RunFolderError(path, f"damaged: `{name}` holds NaN or infinite values")
