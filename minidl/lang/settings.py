"""`--set KEY=VALUE` overrides and sweep cells: one dotted key, checked like the file itself."""

from __future__ import annotations

from collections.abc import Sequence

from lark.exceptions import UnexpectedInput

from minidl.lang import ir
from minidl.lang.across_statements import stopping_problem, warmup_problem
from minidl.lang.dtype_limits import overflowing_option
from minidl.lang.errors import Diagnostic, Reporter, SpecError, did_you_mean, render
from minidl.lang.literals import literal_problems
from minidl.lang.lower import lower_assignment
from minidl.lang.parser import parser, syntax_error
from minidl.lang.registry import STATEMENTS, full_key, settable_keys
from minidl.lang.setting_values import check_setting, statements_of
from minidl.lang.sweep_axes import (
    check_runs,
    check_samples,
    distributions_need_samples,
    sweep_axis,
)
from minidl.lang.syntax import Call, Option

__all__ = ["SettingsError", "apply_settings", "with_setting"]

SET_SOURCE = "--set"


def with_setting(spec: ir.Spec, key: str, value: ir.Scalar) -> ir.Spec:
    """`spec` with one already-checked dotted key (`sgd.batch`) set to `value`."""
    word, name = key.split(".", 1)
    field = STATEMENTS[word].field
    node = getattr(spec, field)
    updated = type(node).model_validate({**node.model_dump(), name: value})
    return spec.model_copy(update={field: updated})


def apply_settings(spec: ir.Spec, assignments: Sequence[str]) -> ir.Spec:
    """Apply `KEY=VALUE` overrides in order; raise `SpecError` (file `--set`) listing every
    bad one, not only the first."""
    diagnostics: list[Diagnostic] = []
    texts: list[str] = []
    last: tuple[Reporter, Option] | None = None  # the latest that swept a distribution
    for text in assignments:
        reporter = Reporter(text, SET_SOURCE)
        option = _parse(text, reporter)
        if option is not None:
            spec = _apply(spec, option, reporter)
            drawn = spec.sweep is not None and any(a.distribution for a in spec.sweep.axes)
            if drawn and spec.sweep is not None and spec.sweep.samples is None:
                last = (reporter, option)
        diagnostics.extend(reporter.diagnostics)
        texts.extend(text for _ in reporter.diagnostics)
    if last is not None and spec.sweep is not None and spec.sweep.samples is None:
        reporter, option = last
        distributions_need_samples(reporter, _head(option))
        diagnostics.extend(reporter.diagnostics[-1:])
        texts.append(reporter.text)
    if not diagnostics and assignments:
        diagnostics.extend(_contradictions(spec, assignments, texts))
    problem = warmup_problem(spec.schedule, spec.train)
    if problem is not None and not diagnostics and assignments:
        text = next(
            (t for t in reversed(assignments) if t.split("=")[0].strip() in _CROSSED),
            assignments[-1],
        )
        reporter = Reporter(text, SET_SOURCE)
        reporter.error("E136", problem[0], 0, len(text), problem[1])
        diagnostics.extend(reporter.diagnostics)
        texts.append(text)
    overflow = overflowing_option(spec.optimizer, spec.train.dtype)
    if overflow is not None and not diagnostics and assignments:
        name, message, help = overflow
        keys = (f".{name}", "train.dtype")
        given = [t for t in assignments if t.split("=")[0].strip().endswith(keys)]
        if given:  # else the file wrote it, and its check said so
            reporter = Reporter(given[-1], SET_SOURCE)
            reporter.error("E172", message, 0, len(given[-1]), help)
            diagnostics.extend(reporter.diagnostics)
            texts.append(given[-1])
    swept = [axis.key for axis in spec.sweep.axes] if spec.sweep is not None else []
    stopping = stopping_problem(spec.train, spec.data, swept)
    if stopping is not None and not diagnostics and assignments:
        code, _, message, help = stopping
        text = next(
            (t for t in reversed(assignments) if t.split("=")[0].strip() in _STOPPING),
            assignments[-1],
        )
        reporter = Reporter(text, SET_SOURCE)
        reporter.error(code, message, 0, len(text), help)
        diagnostics.extend(reporter.diagnostics)
        texts.append(text)
    if diagnostics:
        raise SettingsError(diagnostics, texts)
    return spec


_STOPPING = ("train.patience", "data.validation", "sweep.train.patience", "sweep.patience")
"""The keys that early stopping's settings are checked against once every `--set` is applied."""


_CROSSED = ("train.epochs", "schedule.warmup")
"""The keys whose values are checked against each other once every `--set` is applied."""


class SettingsError(SpecError):
    """Bad `--set` assignments: each diagnostic quotes its own assignment, line 1."""

    def __init__(self, diagnostics: list[Diagnostic], texts: list[str]) -> None:
        self.texts = texts
        super().__init__(diagnostics, "")
        self.diagnostics = diagnostics  # in the order given on the command line

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.diagnostics, self.texts), self.__dict__)

    def render(self, text: str | None = None) -> str:
        return "\n".join(render(d, [t]) for d, t in zip(self.diagnostics, self.texts, strict=True))


def _contradictions(
    spec: ir.Spec, assignments: Sequence[str], texts: list[str]
) -> list[Diagnostic]:
    """E137 for options that contradict each other once every `--set` is applied
    (`--set sgd.nesterov=true` where momentum is 0), as the file itself gets it: at the last
    assignment to the option blamed, else to its statement."""
    found: list[Diagnostic] = []
    fields = {name: getattr(spec, name) for name in type(spec).model_fields}
    keys = [full_key(t.split("=", 1)[0].strip(), fields) for t in assignments]
    for field in dict.fromkeys(entry.field for entry in STATEMENTS.values()):
        problems = getattr(getattr(spec, field, None), "problems", None)
        if problems is None or not problems():
            continue
        words = {word for word, entry in STATEMENTS.items() if entry.field == field}
        for name, message, help in problems():
            ranked = [
                (key.split(".", 1)[1] == name if "." in key else False, index)
                for index, key in enumerate(keys)
                if key.split(".", 1)[0] in words
            ]
            text = assignments[max(ranked)[1]] if ranked else assignments[-1]
            reporter = Reporter(text, SET_SOURCE)
            reporter.error("E137", message, 0, len(text), help)
            found.extend(reporter.diagnostics)
            texts.extend(text for _ in reporter.diagnostics)
    return found


def _parse(text: str, reporter: Reporter) -> Option | None:
    if "=" not in text:
        reporter.error(
            "E230",
            f"`{text}` is not `KEY=VALUE`",
            0,
            max(1, len(text)),
            "write `--set sgd.lr=0.01`",
        )
        return None
    try:
        tree = parser().parse(text, start="assignment")
    except UnexpectedInput as caught:
        code, message, start, end, help = syntax_error(caught, text)
        reporter.error(code, message, start, end, help)
        return None
    for code, message, start, end, help in literal_problems(tree):
        reporter.error(code, message, start, end, help)
    return None if reporter.diagnostics else lower_assignment(tree)


def _apply(spec: ir.Spec, option: Option, reporter: Reporter) -> ir.Spec:
    fields = statements_of({n: getattr(spec, n) for n in type(spec).model_fields})
    if option.key.startswith("sweep."):
        return _apply_sweep(spec, option, reporter, fields)
    key = full_key(option.key, fields)
    keys = settable_keys(fields)
    if key not in keys:
        guess = did_you_mean(option.key, [*keys, "sweep.runs"])
        help = f"did you mean `{guess}`?" if guess else "keys: " + ", ".join(keys)
        message = f"unknown key `{option.key}`"
        reporter.error("E220", message, option.start, option.key_end, help, replacement=guess)
        return spec
    value = check_setting(reporter, key, option.value, fields)
    return spec if value is None else with_setting(spec, key, value)


def _apply_sweep(
    spec: ir.Spec, option: Option, reporter: Reporter, fields: dict[str, ir.Node]
) -> ir.Spec:
    sweep = spec.sweep or ir.Sweep()
    name = option.key.removeprefix("sweep.")
    if name == "runs":
        runs = check_runs(reporter, option, _head(option))
        return (
            spec
            if runs is None
            else spec.model_copy(update={"sweep": sweep.model_copy(update={"runs": runs})})
        )
    if name == "samples":
        samples = check_samples(reporter, option, _head(option))
        return (
            spec
            if samples is None
            else spec.model_copy(update={"sweep": sweep.model_copy(update={"samples": samples})})
        )
    key = full_key(name, fields)
    axis = sweep_axis(reporter, option, key, settable_keys(fields), fields)
    if axis is None:
        return spec
    axes = [a for a in sweep.axes if a.key != key] + [axis]
    return spec.model_copy(update={"sweep": sweep.model_copy(update={"axes": tuple(axes)})})


def _head(option: Option) -> Call:
    """A stand-in statement for an option given alone, so that errors point at it."""
    return Call("--set", (), (option,), option.start, option.end, option.key_end)
