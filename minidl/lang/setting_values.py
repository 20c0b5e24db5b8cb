"""One dotted key's value (`sgd.lr=0.01`) checked against the statement it belongs to.

What a `--set KEY=VALUE` and each value of a sweep's list have in common: the value is
valid where the file itself could have written it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from minidl.lang import ir
from minidl.lang.errors import Reporter
from minidl.lang.pydantic_errors import explain
from minidl.lang.registry import STATEMENTS
from minidl.lang.syntax import Value

__all__ = ["check_setting", "statements_of", "validate_setting"]


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


def check_setting(
    reporter: Reporter, key: str, item: Value, fields: dict[str, Any]
) -> ir.Scalar | None:
    """Check one value for a dotted key; return it as the spec would hold it (E222 if not)."""
    value, problem = validate_setting(key, item.plain(), fields)
    if problem is not None:
        message, help, fix = explain(problem, key, reporter.source(item), "sweep")
        reporter.error("E222", message, item.start, item.end, help, replacement=fix)
    return value
