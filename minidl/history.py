"""A training's history: one record of figures per epoch, and how a row of figures reads."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from torch import Tensor

__all__ = [
    "CLASSIFICATION_FIGURES",
    "REGRESSION_FIGURES",
    "EpochRecord",
    "record_of",
]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's figures: the mean per-sample training loss seen during the epoch, then
    the loss and error (%) on the train and test sets with the weights at its end, and on
    the validation set when there is one (else None).

    For values to predict (regression) the errors are NaN (`val_error` None) and the RMSE
    and R² (on the targets' own scale, averaged over target columns) are given instead.
    """

    epoch: int
    loss: float
    train_loss: float
    test_loss: float
    train_error: float = math.nan
    test_error: float = math.nan
    train_rmse: float | None = None
    test_rmse: float | None = None
    train_r2: float | None = None
    test_r2: float | None = None
    val_loss: float | None = None
    val_error: float | None = None
    val_rmse: float | None = None
    val_r2: float | None = None

    @property
    def regression(self) -> bool:
        """Whether the record holds RMSE and R² rather than an error rate."""
        return self.train_rmse is not None

    @property
    def figures(self) -> tuple[str, ...]:
        """The names of the record's quality figures: errors, or RMSE and R²."""
        return REGRESSION_FIGURES if self.regression else CLASSIFICATION_FIGURES

    @property
    def val_figures(self) -> tuple[str, ...]:
        """The names of the record's validation figures: none without a validation set,
        else `val_loss` and `val_error` (regression: `val_rmse`, `val_r2`)."""
        if self.val_loss is None:
            return ()
        return REGRESSION_VAL_FIGURES if self.regression else CLASSIFICATION_VAL_FIGURES

    def as_dict(self) -> dict[str, float]:
        """The record as a dict: the epoch, the losses, then its figures, then the validation
        set's where there is one (a line of history.csv)."""
        record = asdict(self)
        names = ("epoch", "loss", "train_loss", "test_loss", *self.figures, *self.val_figures)
        return {name: record[name] for name in names}


CLASSIFICATION_FIGURES = ("train_error", "test_error")
REGRESSION_FIGURES = ("train_rmse", "test_rmse", "train_r2", "test_r2")
CLASSIFICATION_VAL_FIGURES = ("val_loss", "val_error")
REGRESSION_VAL_FIGURES = ("val_loss", "val_rmse", "val_r2")


def record_of(epoch: int, figures: Tensor, validation: bool = False) -> EpochRecord:
    """The record of a row of figures: loss seen, train and test loss, then train and test
    error, or train and test RMSE then train and test R²; then, with `validation`, the
    validation loss and error (or RMSE and R²)."""
    values = figures.tolist()
    held: list[float | None] = [None, None, None]
    if validation:
        size = 2 if len(values) == 7 else 3
        held[:size] = values[-size:]
        values = values[:-size]
    val_loss, second, third = held
    if len(values) == 5:
        loss, train_loss, test_loss, train_error, test_error = values
        return EpochRecord(
            epoch,
            loss,
            train_loss,
            test_loss,
            train_error,
            test_error,
            val_loss=val_loss,
            val_error=second,
        )
    loss, train_loss, test_loss, train_rmse, test_rmse, train_r2, test_r2 = values
    return EpochRecord(
        epoch,
        loss,
        train_loss,
        test_loss,
        train_rmse=train_rmse,
        test_rmse=test_rmse,
        train_r2=train_r2,
        test_r2=test_r2,
        val_loss=val_loss,
        val_rmse=second,
        val_r2=third,
    )
