"""Checking statements' options, sweeps and `--set` values against the IR's field types.

The types and ranges live in the IR's pydantic models; this module asks pydantic, then
says what was wrong in MDL's words, at the place of the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from minidl.lang import ir
from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.registry import (
    SHORT_KEYS,
    STATEMENTS,
    full_key,
    option_names,
    settable_keys,
)
from minidl.lang.syntax import Call, Distribution, Option, Shape, Value

__all__ = ["OptionChecker", "explain", "statements_of", "validate_setting"]


class OptionChecker(Reporter):
    """Checks statements (`loss`, `sgd`, `train`, `data`, `sweep`) and single settings."""

    def statement(self, call: Call) -> BaseModel | None:
        """Check a statement (`loss`, `sgd`, `adam`, `train`, ...); build its node."""
        entry = STATEMENTS[call.name]
        positional = [a for a in call.args if isinstance(a, Value)]
        word = positional.pop(0) if positional and entry.positional else None
        self.unexpected(call, [*(a for a in call.args if isinstance(a, Shape)), *positional])
        fields: dict[str, Any] = {}
        if len(entry.variants) > 1:
            model = self.variant(call, word, entry.variants, entry.noun)
            if model is None:
                return None
        else:
            model = entry.variants[""]
            if word is not None and entry.tag is not None:
                fields[entry.tag] = word.plain()
        options = self.options(call, option_names(model))
        if options is None:
            return None
        extra = {entry.tag: word} if word is not None and entry.tag is not None else {}
        node = self.validate(model, {**fields, **_plain(options)}, call, {**options, **extra})
        if node is not None and hasattr(node, "problems"):
            for name, message, help in node.problems():
                option = options[name]
                self.error("E137", message, option.start, option.end, help)
            return None if node.problems() else node
        return node

    def variant(
        self, call: Call, word: Value | None, models: Mapping[str, type[BaseModel]], noun: str
    ) -> type[BaseModel] | None:
        """The model a positional word picks (`loss MSE`, `data csv`)."""
        kinds = ", ".join(f"`{call.name} {k}`" for k in models)
        if word is None:
            needs = "a source" if call.name == "data" else f"a {noun} name"
            self.error(
                "E133", f"`{call.name}` needs {needs}", call.start, call.end, f"write {kinds}"
            )
            return None
        if word.value not in models:
            guess = did_you_mean(str(word.value), models)
            plural = noun + ("es" if noun.endswith("s") else "s")
            help = f"did you mean `{guess}`?" if guess else f"{plural}: " + ", ".join(models)
            code = "E140" if call.name == "loss" else "E141"
            message = f"unknown {noun} `{self.source(word)}`"
            self.error(code, message, word.start, word.end, help, replacement=guess)
            return None
        return models[str(word.value)]

    def options(
        self, call: Call, known: Sequence[str], quoted: bool = True
    ) -> dict[str, Option] | None:
        """The options of `call` by name; None after reporting an unknown or repeated one."""
        word = f"`{call.name}`" if quoted else call.name
        options: dict[str, Option] = {}
        ok = True
        for option in call.options:
            if option.key in options:
                self.error(
                    "E134",
                    f"option `{option.key}` is given twice",
                    option.start,
                    option.end,
                    "remove one of the two",
                )
                ok = False
            elif option.key not in known:
                guess = did_you_mean(option.key, known)
                help = (
                    f"did you mean `{guess}`?"
                    if guess
                    else f"{word} takes " + (", ".join(f"`{k}`" for k in known) or "no options")
                )
                self.error(
                    "E130",
                    f"unknown option `{option.key}` for {word}",
                    option.start,
                    option.key_end,
                    help,
                    replacement=guess,
                )
                ok = False
            options[option.key] = option
        return options if ok else None

    def validate(
        self,
        model: type[BaseModel],
        fields: dict[str, Any],
        call: Call,
        options: Mapping[str, Option | Value],
    ) -> BaseModel | None:
        """Build `model` from `fields`; report each of pydantic's errors at its value."""
        try:
            return model.model_validate({**fields, "span": self.span(call.start, call.end)})
        except ValidationError as caught:
            for problem in caught.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                option = options.get(name)
                node: Value | Call = option.value if isinstance(option, Option) else option or call
                message, help, fix = explain(problem, name, self.source(node), call.name)
                code = {"missing": "E133"}.get(
                    problem["type"], "E132" if _is_range(problem) else "E131"
                )
                end = node.end if option else call.name_end
                self.error(code, message, node.start, end, help, replacement=fix)
            return None

    def sweep(self, call: Call, fields: dict[str, Any]) -> ir.Sweep | None:
        """Check `sweep KEY=[V, ...] KEY=uniform(A, B) ... [samples=N] [runs=N]` against the
        spec's other statements."""
        current = statements_of(fields)
        keys = settable_keys(current)
        axes: list[ir.SweepAxis] = []
        runs: int | None = 1
        samples: int | None = None
        seen: set[str] = set()
        ok = not self.unexpected(call, call.args)
        for option in call.options:
            if option.key == "runs":
                runs = self.validate_runs(option, call)
                continue
            if option.key == "samples":
                samples = self.validate_samples(option, call)
                ok = ok and samples is not None
                continue
            key = full_key(option.key, current)
            if key in seen:
                self.error(
                    "E223",
                    f"`{key}` is swept twice",
                    option.start,
                    option.end,
                    "merge the two lists into one",
                )
                ok = False
                continue
            seen.add(key)
            axis = self.sweep_axis(option, key, keys, fields)
            ok = ok and axis is not None
            if axis is not None:
                axes.append(axis)
        if ok and samples is None:
            ok = self.distributions_need_samples(call)
        if runs is None or not ok:
            return None
        span = self.span(call.start, call.end)
        return ir.Sweep(axes=tuple(axes), samples=samples, runs=runs, span=span)

    def validate_samples(self, option: Option, call: Call) -> int | None:
        """`samples=N`: how many configurations a search draws."""
        plain = {"samples": option.value.plain()}
        swept = self.validate(ir.Sweep, plain, call, {"samples": option})
        return swept.samples if isinstance(swept, ir.Sweep) else None

    def distributions_need_samples(self, call: Call) -> bool:
        """Report each distribution of a sweep without `samples=N`; True if none."""
        drawn = [o for o in call.options if isinstance(o.value.value, Distribution)]
        for option in drawn:
            self.error(
                "E224",
                f"`{option.key}` is drawn from a distribution, which needs `samples=N`",
                option.value.start,
                option.value.end,
                "add `samples=20` to the sweep to draw 20 configurations",
            )
        return not drawn

    def unexpected(self, call: Call, extras: Sequence[Value | Shape]) -> bool:
        """Report values written without `name=` after a statement word; True if any."""
        example = "`KEY=[V, ...]`, as in `batch=[4, 8]`" if call.name == "sweep" else "`name=value`"
        for arg in extras:
            self.error(
                "E135",
                f"unexpected `{self.text[arg.start : arg.end]}` in `{call.name}`",
                arg.start,
                arg.end,
                f"write options as {example}",
            )
        return bool(extras)

    def validate_runs(self, option: Option, call: Call) -> int | None:
        swept = self.validate(ir.Sweep, {"runs": option.value.plain()}, call, {"runs": option})
        return swept.runs if isinstance(swept, ir.Sweep) else None

    def sweep_axis(
        self, option: Option, key: str, keys: list[str], fields: dict[str, Any]
    ) -> ir.SweepAxis | None:
        written = option.key.removeprefix("sweep.")
        if key not in keys:
            guess = did_you_mean(written, keys + list(SHORT_KEYS))
            if guess is None and "." in written:
                guess = did_you_mean(written.split(".", 1)[1], [k.split(".", 1)[1] for k in keys])
                guess = next((k for k in keys if k.endswith(f".{guess}")), None) if guess else None
            help = f"did you mean `{guess}`?" if guess else "keys are dotted paths such as `sgd.lr`"
            fix = None if guess is None else option.key[: len(option.key) - len(written)] + guess
            message = f"unknown sweep key `{written}`"
            self.error("E220", message, option.start, option.key_end, help, replacement=fix)
            return None
        items = option.value.value
        if isinstance(items, Distribution):
            return self.distribution_axis(option, key, items, fields)
        if not isinstance(items, tuple):
            self.error(
                "E131",
                f"a sweep takes a list of values for `{option.key}`",
                option.value.start,
                option.value.end,
                f"write `{option.key}=[{self.source(option.value)}]`",
            )
            return None
        if not items:
            self.error(
                "E221",
                f"the list for `{option.key}` is empty",
                option.value.start,
                option.value.end,
                "give at least one value",
            )
            return None
        values = [self.setting(key, item, fields) for item in items]
        if any(v is None for v in values):
            return None
        span = self.span(option.start, option.end)
        return ir.SweepAxis(key=key, values=tuple(v for v in values if v is not None), span=span)

    def distribution_axis(
        self, option: Option, key: str, drawn: Distribution, fields: dict[str, Any]
    ) -> ir.SweepAxis | None:
        """`KEY=uniform(A, B)`, `loguniform(A, B)` or `randint(A, B)`, bounds checked."""
        where = option.value
        if drawn.name not in ir.DISTRIBUTIONS:
            guess = did_you_mean(drawn.name, ir.DISTRIBUTIONS)
            help = (
                f"did you mean `{guess}`?"
                if guess
                else "distributions: " + ", ".join(f"`{d}(A, B)`" for d in ir.DISTRIBUTIONS)
            )
            self.error(
                "E225",
                f"unknown distribution `{drawn.name}`",
                where.start,
                drawn.name_end,
                help,
                replacement=guess,
            )
            return None
        problem = _bounds_problem(drawn)
        if problem is not None:
            self.error("E225", problem, where.start, where.end, _BOUNDS_HELP[drawn.name])
            return None
        low, high = (bound.plain() for bound in drawn.args)
        assert isinstance(low, int | float) and isinstance(high, int | float)
        # Check the values the draw can reach against the key, as a list's values are.
        if drawn.name == "randint":
            reach: list[object] = [low, high]
        else:
            reach = [float(low), math.nextafter(float(high), -math.inf)]
        for value in reach:
            _, failure = validate_setting(key, value, fields)
            if failure is not None:
                message, advice, _ = explain(failure, key, self.source(where), "sweep")
                self.error("E222", message, where.start, where.end, advice)
                return None
        return ir.SweepAxis(
            key=key,
            distribution=drawn.name,  # type: ignore[arg-type]  # checked against the table
            low=low,
            high=high,
            span=self.span(option.start, option.end),
        )

    def setting(self, key: str, item: Value, fields: dict[str, Any]) -> ir.Scalar | None:
        """Check one value for a dotted key; return it as the spec would hold it."""
        value, problem = validate_setting(key, item.plain(), fields)
        if problem is not None:
            message, help, fix = explain(problem, key, self.source(item), "sweep")
            self.error("E222", message, item.start, item.end, help, replacement=fix)
        return value


def statements_of(fields: Mapping[str, Any]) -> dict[str, ir.Node]:
    """The spec's statement nodes by `Spec` field, defaults for those not written."""
    names = ("loss", "optimizer", "schedule", "train", "data")
    return {n: fields.get(n) or ir.Spec.model_fields[n].default for n in names}


def validate_setting(
    key: str, value: object, fields: Mapping[str, Any]
) -> tuple[ir.Scalar | None, Any]:
    """Validate `value` for `key` (`sgd.lr`) against the statement it belongs to.

    Returns the value as the IR holds it and None, or None and pydantic's error.
    """
    word, name = key.split(".", 1)
    current = statements_of(fields)[STATEMENTS[word].field]
    try:
        updated = type(current).model_validate(
            {**current.model_dump(exclude={"span"}), name: value}
        )
    except ValidationError as caught:
        return None, caught.errors()[0]
    return getattr(updated, name), None


def explain(problem: Any, name: str, found: str, word: str) -> tuple[str, str | None, str | None]:
    """Turn one pydantic error into a message, a help line and a likely replacement of the
    value written (`found`), in MDL's words."""
    kind = problem["type"]
    if kind == "literal_error":
        expected = str((problem.get("ctx") or {}).get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        listed = ", ".join(f"`{c}`" for c in choices)
        guess = did_you_mean(found.strip('"'), choices)
        help = f"did you mean `{guess}`?" if guess else None
        fix = f'"{guess}"' if guess is not None and found.startswith('"') else guess
        return f"`{name}` must be one of {listed}, got `{found}`", help, fix
    return (*_explain(problem, name, found, word), None)


def _explain(problem: Any, name: str, found: str, word: str) -> tuple[str, str | None]:
    kind = problem["type"]
    context = problem.get("ctx") or {}
    if kind == "missing":
        return f"`{word}` needs `{name}=...`", f"add `{name}=...`"
    if kind.startswith("int"):
        return f"`{name}` must be an integer, got `{found}`", None
    if kind.startswith("float") or kind == "finite_number":
        return f"`{name}` must be a finite number, got `{found}`", None
    if kind.startswith("bool"):
        return f"`{name}` must be `true` or `false`, got `{found}`", f"write `{name}=false`"
    if kind.startswith("tuple") or kind == "too_short" or kind == "too_long":
        return f"`{name}` must be a pair of numbers, got `{found}`", f"write `{name}=[0.9, 0.999]`"
    if kind.startswith("string"):
        return f"`{name}` must be a string, got `{found}`", f'write `{name}="..."`'
    if kind in _BOUNDS:
        limit = next(iter(context.values()))
        limit = int(limit) if float(limit).is_integer() else limit
        return f"`{name}` must be {_BOUNDS[kind]} {limit}, got {found}", _RANGE_HELP.get(name)
    return f"`{name}`: {problem['msg'].lower()}", None


_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}
_RANGE_HELP = {
    "lr": "a learning rate is positive, such as `lr=0.001`",
    "batch": "a batch holds at least one sample, such as `batch=16`",
    "epochs": "train for at least one epoch",
    "momentum": "momentum lies in [0, 1), such as `momentum=0.9`",
}


_BOUNDS_HELP = {
    "uniform": "write `uniform(A, B)` with numbers A < B",
    "loguniform": "write `loguniform(A, B)` with 0 < A < B, such as `loguniform(1e-4, 0.1)`",
    "randint": "write `randint(A, B)` with integers A <= B; both ends can be drawn",
}


def _bounds_problem(drawn: Distribution) -> str | None:
    """What is wrong with a distribution's bounds, or None."""
    name = drawn.name
    if len(drawn.args) != 2:
        return f"`{name}` takes two bounds, got {len(drawn.args)}"
    low, high = (bound.value for bound in drawn.args)
    integral = name == "randint"
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            return f"the bounds of `{name}` must be numbers"
        if integral and not isinstance(bound, int):
            return f"the bounds of `{name}` must be integers, got {bound!r}"
        if not math.isfinite(bound):
            return f"the bounds of `{name}` must be finite"
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if integral and low > high:
        return f"`randint({low}, {high})` is empty: its low bound is above its high bound"
    if not integral and low >= high:
        return f"`{name}({low!r}, {high!r})` is empty: A must be below B"
    if name == "loguniform" and low <= 0:
        return f"`loguniform` needs positive bounds, got {low!r}"
    return None


def _is_range(problem: Any) -> bool:
    return str(problem["type"]).startswith(("greater", "less", "too_"))


def _plain(options: dict[str, Option]) -> dict[str, Any]:
    return {key: option.value.plain() for key, option in options.items()}
