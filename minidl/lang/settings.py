"""`--set KEY=VALUE` overrides and sweep cells: one dotted key, checked like the file itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lark.exceptions import UnexpectedInput

from minidl.lang import ir
from minidl.lang.errors import SpecError, did_you_mean
from minidl.lang.lower import lower_assignment
from minidl.lang.options import OptionChecker
from minidl.lang.parser import parser, syntax_error
from minidl.lang.registry import SHORT_KEYS, settable_keys
from minidl.lang.syntax import Call, Option

__all__ = ["apply_settings", "with_setting"]

SET_SOURCE = "--set"


def with_setting(spec: ir.Spec, key: str, value: ir.Scalar) -> ir.Spec:
    """`spec` with one already-checked dotted key (`sgd.batch`) set to `value`."""
    word, name = key.split(".", 1)
    node = getattr(spec, word)
    updated = type(node).model_validate({**node.model_dump(), name: value})
    return spec.model_copy(update={word: updated})


def apply_settings(spec: ir.Spec, assignments: Sequence[str]) -> ir.Spec:
    """Apply `KEY=VALUE` overrides in order; raise `SpecError` (file `--set`) for bad ones."""
    for text in assignments:
        checker = OptionChecker(text, SET_SOURCE)
        option = _parse(text, checker)
        if option is not None:
            spec = _apply(spec, option, checker)
        if checker.diagnostics:
            raise SpecError(checker.diagnostics, text)
    return spec


def _parse(text: str, checker: OptionChecker) -> Option | None:
    if "=" not in text:
        checker.error(
            "E230",
            f"`{text}` is not `KEY=VALUE`",
            0,
            max(1, len(text)),
            "write `--set sgd.lr=0.01`",
        )
        return None
    try:
        return lower_assignment(parser().parse(text, start="assignment"))
    except UnexpectedInput as caught:
        code, message, start, end, help = syntax_error(caught, text)
        checker.error(code, message, start, end, help)
        return None


def _apply(spec: ir.Spec, option: Option, checker: OptionChecker) -> ir.Spec:
    fields: dict[str, Any] = {w: getattr(spec, w) for w in ("loss", "sgd", "train", "data")}
    if option.key.startswith("sweep."):
        return _apply_sweep(spec, option, checker, fields)
    key = SHORT_KEYS.get(option.key, option.key)
    keys = settable_keys(spec.data.kind)
    if key not in keys:
        guess = did_you_mean(option.key, [*keys, "sweep.runs"])
        help = f"did you mean `{guess}`?" if guess else "keys: " + ", ".join(keys)
        checker.error("E220", f"unknown key `{option.key}`", option.start, option.key_end, help)
        return spec
    value = checker.setting(key, option.value, fields)
    return spec if value is None else with_setting(spec, key, value)


def _apply_sweep(
    spec: ir.Spec, option: Option, checker: OptionChecker, fields: dict[str, Any]
) -> ir.Spec:
    sweep = spec.sweep or ir.Sweep()
    name = option.key.removeprefix("sweep.")
    if name == "runs":
        runs = checker.validate(
            ir.Sweep, {"runs": option.value.plain()}, _head(option), {"runs": option}
        )
        return (
            spec
            if not isinstance(runs, ir.Sweep)
            else spec.model_copy(update={"sweep": sweep.model_copy(update={"runs": runs.runs})})
        )
    key = SHORT_KEYS.get(name, name)
    axis = checker.sweep_axis(option, key, settable_keys(spec.data.kind), fields)
    if axis is None:
        return spec
    axes = [a for a in sweep.axes if a.key != key] + [axis]
    return spec.model_copy(update={"sweep": sweep.model_copy(update={"axes": tuple(axes)})})


def _head(option: Option) -> Call:
    """A stand-in statement for an option given alone, so that errors point at it."""
    return Call("--set", (), (option,), option.start, option.end, option.key_end)
