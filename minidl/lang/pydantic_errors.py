"""Pydantic's errors in MDL's words: a node built from written values, each error at its value.

The types and ranges live in the IR's pydantic models; this module asks pydantic, then
says what was wrong (`lr` must be greater than 0, got -1) at the place of the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.syntax import Call, Option, Value

__all__ = ["build_node", "explain", "plain_values"]


def plain_values(options: Mapping[str, Option]) -> dict[str, Any]:
    """The options' values as Python values, by name: the fields to build a node from."""
    return {key: option.value.plain() for key, option in options.items()}


def build_node(
    reporter: Reporter,
    model: type[BaseModel],
    fields: dict[str, Any],
    call: Call,
    options: Mapping[str, Option | Value],
) -> BaseModel | None:
    """Build `model` from `fields`; report each of pydantic's errors at its value."""
    try:
        return model.model_validate({**fields, "span": reporter.span(call.start, call.end)})
    except ValidationError as caught:
        for problem in caught.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            option = options.get(name)
            node: Value | Call = option.value if isinstance(option, Option) else option or call
            message, help, fix = explain(problem, name, reporter.source(node), call.name)
            code = {"missing": "E133"}.get(
                problem["type"], "E132" if _is_range(problem) else "E131"
            )
            if code == "E132" and (call.name, name) == ("data", "split"):
                code = "E313"  # docs/ERRORS.md gives `split=` outside (0, 1) its own code
            end = node.end if option else call.name_end
            reporter.error(code, message, node.start, end, help, replacement=fix)
        return None


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


def _is_range(problem: Any) -> bool:
    return str(problem["type"]).startswith(("greater", "less", "too_"))
