"""Mistakes that involve two statements, each checked alone already: a warm-up as long as
the training, early stopping without a validation set, an optimiser value the dtype cannot
hold, a table's column named twice or a task its loss cannot learn.

`warmup_problem` and `stopping_problem` are also asked once every `--set` is applied.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from minidl.lang import ir
from minidl.lang.dtype_limits import overflowing_option
from minidl.lang.errors import Reporter
from minidl.lang.registry import STATEMENTS
from minidl.lang.syntax import Call, Option

__all__ = ["check_across_statements", "stopping_problem", "warmup_problem"]


def warmup_problem(schedule: ir.Schedule, train: ir.Train) -> tuple[str, str] | None:
    """A warm-up as long as the training, which leaves no epoch to schedule: (message, help)."""
    if schedule.warmup < train.epochs:
        return None
    return (
        f"a warm-up of {schedule.warmup} epoch{'s' * (schedule.warmup != 1)} leaves none of "
        f"the {train.epochs} to schedule",
        f"use `warmup={max(0, train.epochs - 1)}` or fewer, or train longer",
    )


def stopping_problem(
    train: ir.Train, data: ir.Data, swept: Collection[str] = ()
) -> tuple[str, str, str, str] | None:
    """Early stopping that cannot work: `patience` (set, or among the `swept` keys) with no
    validation set to watch (E260): (code, option, message, help)."""
    patience = train.patience is not None or "train.patience" in swept
    if patience and data.validation is None and "data.validation" not in swept:
        return (
            "E260",
            "patience",
            "`patience` stops on the validation loss, but the data has no `validation` set",
            "add `validation=0.2` to the `data` statement (or remove `patience`)",
        )
    return None


def _place(node: Option | Call) -> tuple[int, int]:
    return node.start, node.end


def check_across_statements(
    reporter: Reporter, fields: dict[str, Any], words: dict[str, Call]
) -> None:
    """Report the mistakes between the checked statements' nodes (`fields`, by `Spec`
    field), at the statements as written (`words`, by statement word)."""
    schedule, train = fields.get("schedule"), fields.get("train")
    optimizer = fields.get("optimizer")
    overflow = optimizer and overflowing_option(optimizer, (train or ir.Train()).dtype)
    if overflow:
        name, message, help = overflow
        call = next(c for w, c in words.items() if STATEMENTS[w].field == "optimizer")
        option = next((o for o in call.options if o.key == name), None)
        reporter.error("E172", message, *_place(option or call), help)
    problem = warmup_problem(schedule or ir.Schedule(), train or ir.Train())
    if problem is not None:
        call = words["schedule"]
        option = next((o for o in call.options if o.key == "warmup"), None)
        where = (option.start, option.end) if option else (call.start, call.end)
        reporter.error("E136", *problem[:1], *where, problem[1])
    data, loss = fields.get("data"), fields.get("loss") or ir.MSE()
    if isinstance(data, ir.CsvData) and "data" in words:
        _columns_once(reporter, words["data"])
        _task_and_loss(reporter, data, loss, words["data"])
    train, sweep = fields.get("train"), fields.get("sweep")
    if train is None or data is None:
        return
    swept = [axis.key for axis in sweep.axes] if sweep is not None else []
    stopping = stopping_problem(train, data, swept)
    if stopping is not None:
        code, name, message, help = stopping
        calls = [words[w] for w in ("train", "sweep") if w in words]
        found = [o for c in calls for o in c.options if o.key in (name, f"train.{name}")]
        where = (found[0].start, found[0].end) if found else (calls[0].start, calls[0].end)
        reporter.error(code, message, *where, help)


def _columns_once(reporter: Reporter, call: Call) -> None:
    """E330: a column named twice among `target`, `categorical` and `ignore`."""
    seen: dict[str, str] = {}
    for option in call.options:
        if option.key not in ("target", "categorical", "ignore"):
            continue
        items = option.value.value
        values = list(items) if isinstance(items, tuple) else [option.value]
        for value in values:
            name = str(value.plain())
            if name in seen:
                where = "twice" if seen[name] == option.key else (
                    f"in `{seen[name]}` and in `{option.key}`"
                )  # fmt: skip
                reporter.error(
                    "E330",
                    f"column `{name}` is named {where}",
                    value.start,
                    value.end,
                    "name each column once: a target, a categorical feature or an ignored one",
                )
            seen.setdefault(name, option.key)


def _task_and_loss(reporter: Reporter, data: ir.CsvData, loss: Any, call: Call) -> None:
    """E331: values to predict (`task=regress`, several targets) with a loss over classes."""
    if loss.name in ("MSE", "L1", "Huber") or data.task == "classify":
        return
    if data.task != "regress" and len(data.targets) == 1:
        return
    key = "task" if data.task == "regress" else "target"
    option = next((o for o in call.options if o.key == key), None)
    where = (option.value.start, option.value.end) if option else (call.start, call.end)
    why = "`task=regress`" if key == "task" else "several target columns"
    reporter.error(
        "E331",
        f"{why} means numbers to predict, but `loss {loss.name}` compares classes",
        *where,
        "use `loss MSE`, `loss L1` or `loss Huber`, or `task=classify` with one target "
        "column of classes",
    )
