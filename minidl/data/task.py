"""Classes or values to predict: what `task=auto` decides from the loss and the targets.

No torch and no pandas here: the summary decides the task too.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LossKind", "TaskKind", "regresses"]

LossKind = Literal["values", "mse", "classes"]
"""What the loss compares: values (L1, Huber), values or two classes (MSE), classes."""
TaskKind = Literal["auto", "classify", "regress"]


def regresses(
    task: TaskKind, loss: LossKind, columns: list[tuple[bool, int]], outputs: int
) -> bool:
    """Whether targets are values: `task` decides, or with `auto` the loss and the target
    columns, each (all numbers?, distinct values in the train rows)."""
    if task != "auto":
        return task == "regress"
    if len(columns) > 1:
        return True
    numeric, distinct = columns[0]
    if not numeric or outputs != 1 or loss == "classes":
        return False
    return loss == "values" or distinct > 2
