"""Classes or values to predict: what `task=auto` decides from the loss and the targets.

No torch and no pandas here: the summary decides the task too.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LossKind", "TaskKind", "class_count_fault", "regresses"]

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


def class_count_fault(target: str, count: int, outputs: int) -> tuple[str, str, str] | None:
    """(code, message, help) when `outputs` outputs cannot give `count` classes of column
    `target`: E315 for one output without exactly two, E316 for more classes than outputs.
    Training and the summary (which counts a small file's classes) say the same."""
    if outputs == 1 and count != 2:
        return (
            "E315",
            f"one output needs two classes, but `{target}` has {count}",
            f"end the network with `Linear ->{count}` and use `loss CrossEntropy`, or, for "
            "values to regress, `loss L1` or `loss Huber`",
        )
    if outputs > 1 and count > outputs:
        return (
            "E316",
            f"the network gives {outputs} outputs, but `{target}` has {count} classes",
            f"end the network with `Linear ->{count}`",
        )
    return None
