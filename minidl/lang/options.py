"""Checking statements' options, sweeps and `--set` values against the IR's field types.

The types and ranges live in the IR's pydantic models; this module asks pydantic, then
says what was wrong in MDL's words, at the place of the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from minidl.lang import ir
from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.registry import LOSSES, SHORT_KEYS, STATEMENTS, option_names, settable_keys
from minidl.lang.syntax import Call, Option, Shape, Value

__all__ = ["OptionChecker", "describe", "validate_setting"]


class OptionChecker(Reporter):
    """Checks statements (`loss`, `sgd`, `train`, `data`, `sweep`) and single settings."""

    def statement(self, call: Call) -> BaseModel | None:
        """Check `loss`, `sgd`, `train` or `data` and build its IR node."""
        entry = STATEMENTS[call.name]
        fields: dict[str, Any] = {}
        model = entry.model if not isinstance(entry.model, dict) else None
        positional = [a for a in call.args if isinstance(a, Value)]
        word = positional.pop(0) if positional and entry.positional else None
        self.unexpected(call, [*(a for a in call.args if isinstance(a, Shape)), *positional])
        if isinstance(entry.model, dict):
            variant = self.variant(call, word, entry.model)
            if variant is None:
                return None
            model = variant
        elif word is not None:
            if word.value not in LOSSES:
                guess = did_you_mean(str(word.value), LOSSES)
                help = f"did you mean `{guess}`?" if guess else "losses: " + ", ".join(LOSSES)
                self.error(
                    "E140", f"unknown loss `{self.source(word)}`", word.start, word.end, help
                )
                return None
            fields["name"] = str(word.value)
        assert model is not None
        options = self.options(call, option_names(model))
        if options is None:
            return None
        return self.validate(model, {**fields, **_plain(options)}, call, options)

    def variant(
        self, call: Call, word: Value | None, models: dict[str, type[BaseModel]]
    ) -> type[BaseModel] | None:
        kinds = ", ".join(f"`{call.name} {k}`" for k in models)
        if word is None:
            self.error(
                "E133", f"`{call.name}` needs a source", call.start, call.end, f"write {kinds}"
            )
            return None
        if word.value not in models:
            guess = did_you_mean(str(word.value), models)
            help = f"did you mean `{guess}`?" if guess else f"write {kinds}"
            self.error(
                "E141", f"unknown data source `{self.source(word)}`", word.start, word.end, help
            )
            return None
        return models[str(word.value)]

    def options(self, call: Call, known: Sequence[str]) -> dict[str, Option] | None:
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
                    else f"`{call.name}` takes " + ", ".join(f"`{k}`" for k in known)
                )
                self.error(
                    "E130",
                    f"unknown option `{option.key}` for `{call.name}`",
                    option.start,
                    option.key_end,
                    help,
                )
                ok = False
            options[option.key] = option
        return options if ok else None

    def validate(
        self, model: type[BaseModel], fields: dict[str, Any], call: Call, options: dict[str, Option]
    ) -> BaseModel | None:
        try:
            return model.model_validate({**fields, "span": self.span(call.start, call.end)})
        except ValidationError as caught:
            for problem in caught.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                option = options.get(name)
                node: Value | Call = option.value if option else call
                message, help = describe(problem, name, self.source(node), call.name)
                code = {"missing": "E133"}.get(
                    problem["type"], "E132" if _is_range(problem) else "E131"
                )
                self.error(code, message, node.start, node.end if option else call.name_end, help)
            return None

    def sweep(self, call: Call, data_kind: str, fields: dict[str, Any]) -> ir.Sweep | None:
        keys = settable_keys(data_kind)
        axes: list[ir.SweepAxis] = []
        runs: int | None = 1
        seen: set[str] = set()
        ok = not self.unexpected(call, call.args)
        for option in call.options:
            if option.key == "runs":
                runs = self.validate_runs(option, call)
                continue
            key = SHORT_KEYS.get(option.key, option.key)
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
        if runs is None or not ok:
            return None
        return ir.Sweep(axes=tuple(axes), runs=runs, span=self.span(call.start, call.end))

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
            help = f"did you mean `{guess}`?" if guess else "keys are dotted paths such as `sgd.lr`"
            self.error("E220", f"unknown sweep key `{written}`", option.start, option.key_end, help)
            return None
        items = option.value.value
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

    def setting(self, key: str, item: Value, fields: dict[str, Any]) -> ir.Scalar | None:
        """Check one value for a dotted key; return it as the spec would hold it."""
        value, problem = validate_setting(key, item.plain(), fields)
        if problem is not None:
            message, help = describe(problem, key, self.source(item), "sweep")
            self.error("E222", message, item.start, item.end, help)
        return value


def validate_setting(
    key: str, value: object, fields: dict[str, Any]
) -> tuple[ir.Scalar | None, Any]:
    """Validate `value` for `key` (`sgd.lr`) against the statement it belongs to.

    Returns the value as the IR holds it and None, or None and pydantic's error.
    """
    word, name = key.split(".", 1)
    current = fields.get(word) or ir.Spec.model_fields[word].default
    try:
        updated = type(current).model_validate(
            {**current.model_dump(exclude={"span"}), name: value}
        )
    except ValidationError as caught:
        return None, caught.errors()[0]
    return getattr(updated, name), None


def describe(problem: Any, name: str, found: str, word: str) -> tuple[str, str | None]:
    """Turn one pydantic error into a message and a help line, in MDL's words."""
    kind = problem["type"]
    context = problem.get("ctx") or {}
    if kind == "missing":
        return f"`{word}` needs `{name}=...`", f"add `{name}=...`"
    if kind.startswith("int"):
        return f"`{name}` must be an integer, got `{found}`", None
    if kind.startswith("float") or kind == "finite_number":
        return f"`{name}` must be a finite number, got `{found}`", None
    if kind.startswith("bool"):
        return f"`{name}` must be `true` or `false`, got `{found}`", None
    if kind.startswith("string"):
        return f"`{name}` must be a string, got `{found}`", f'write `{name}="..."`'
    if kind == "literal_error":
        choices = [
            c.strip(" '") for c in str(context.get("expected", "")).replace(" or ", ",").split(",")
        ]
        guess = did_you_mean(found.strip('"'), choices)
        help = f"did you mean `{guess}`?" if guess else None
        return f"`{name}` must be one of " + ", ".join(
            f"`{c}`" for c in choices
        ) + f", got `{found}`", help
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


def _is_range(problem: Any) -> bool:
    return str(problem["type"]).startswith(("greater", "less", "too_"))


def _plain(options: dict[str, Option]) -> dict[str, Any]:
    return {key: option.value.plain() for key, option in options.items()}
