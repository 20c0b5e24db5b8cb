"""`--log tensorboard`: TensorBoard event files in run folders.

A run logs, per epoch, every figure of its history (`loss`, `train_loss`, `test_loss`,
`train_error`, `test_error` or the RMSE and R² columns of a regression, and `val_loss`,
`val_error` or `val_rmse`, `val_r2` with a validation set) and its
learning rate `lr`, with the epoch (1-based) as the step. A sweep logs each cell in its own
folder `cell-N` of the sweep's folder: the cell's settings and the mean of its runs' final
figures, with TensorBoard's hparams plugin, so that `tensorboard --logdir runs/` compares
the cells. tensorboard is an optional extra: `pip install 'minidl[tensorboard]'`.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from minidl.train import EpochRecord

__all__ = ["EVENTS", "TensorBoardLog", "has_events", "log_cell", "require_tensorboard"]

EVENTS = "events.out.tfevents.*"
"""How TensorBoard's event files are named."""

MISSING = (
    "--log tensorboard needs the tensorboard package, which is not installed: "
    "pip install 'minidl[tensorboard]'"
)


def require_tensorboard() -> str | None:
    """None when tensorboard can be imported, else the one-line error to print."""
    return None if importlib.util.find_spec("tensorboard") is not None else MISSING


def has_events(folder: Path) -> bool:
    """Whether a folder holds TensorBoard event files (a resumed run keeps logging)."""
    return any(folder.glob(EVENTS))


def _writer(folder: Path, purge_step: int | None = None) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder), purge_step=purge_step)


class TensorBoardLog:
    """A run's event file: one point per figure per epoch.

    `first_epoch` > 1 continues a resumed run: TensorBoard drops whatever an earlier,
    interrupted process logged from that epoch on, so each epoch appears once."""

    def __init__(self, folder: Path, first_epoch: int = 1) -> None:
        self.writer = _writer(folder, first_epoch if first_epoch > 1 else None)

    def epoch(self, record: EpochRecord, lr: float) -> None:
        """Log one epoch's figures and learning rate."""
        for name, value in record.as_dict().items():
            if name != "epoch" and not math.isnan(value):
                self.writer.add_scalar(name, value, record.epoch)
        self.writer.add_scalar("lr", lr, record.epoch)
        self.writer.flush()

    def close(self) -> None:
        """Write what is left and close the file."""
        self.writer.close()


def log_cell(folder: Path, settings: dict[str, Any], figures: dict[str, float | None]) -> None:
    """Log one sweep cell's settings and final figures (the mean over its runs) with the
    hparams plugin, in `folder` (the cell's own)."""
    from torch.utils.tensorboard.summary import hparams

    metrics = {k: v for k, v in figures.items() if v is not None and not math.isnan(v)}
    values = {
        k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in settings.items()
    }
    writer = _writer(folder)
    try:
        experiment, start, end = hparams(values, metrics)  # type: ignore[no-untyped-call]
        for summary in (experiment, start, end):
            writer.file_writer.add_summary(summary)
        for name, value in metrics.items():
            writer.add_scalar(name, value)
    finally:
        writer.close()
