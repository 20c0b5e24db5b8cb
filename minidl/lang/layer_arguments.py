"""A layer word's arguments (`Linear 2->25`, `Dropout p=0.1`) checked against its entry.

A shaped word takes one shape `IN->OUT`, widths in range; every word takes only the
options its entry declares. A value without `name=` is most often a missing `;` or `|`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from minidl.lang import ir
from minidl.lang.errors import Reporter
from minidl.lang.layer_words import LayerWord
from minidl.lang.pydantic_errors import build_node, plain_values
from minidl.lang.registry import LAYERS, STATEMENTS, option_names
from minidl.lang.statement_options import named_options
from minidl.lang.syntax import Bare, Call, Option, Shape, Value

__all__ = ["check_layer", "no_arguments"]

_option_names = cache(option_names)
"""A word's options, looked up once per word: pydantic's `model_fields` is slow to read."""


def check_layer(
    reporter: Reporter, call: Call, word: type[LayerWord], span: ir.Span
) -> ir.Stage | None:
    """Check a layer word's shape and options against its entry; build its IR node."""
    known = _option_names(word)
    if not word.takes_shape and not known:
        return word.model_validate({"span": span}) if no_arguments(reporter, call) else None
    fields: dict[str, Any] = {}
    if word.takes_shape:
        shape = _shape(reporter, call)
        if shape is None:
            return None
        fields = {"in_features": shape.in_features, "out_features": shape.out_features}
    else:
        stray = [a for a in call.args]
        for value in stray:
            _stray_argument(reporter, call, value, known)
        if stray:
            return None
    options = named_options(reporter, call, known, quoted=False)
    if options is None:
        return None
    node = build_node(reporter, word, {**fields, **plain_values(options)}, call, options)
    return node if isinstance(node, LayerWord) else None


def no_arguments(reporter: Reporter, call: Call) -> bool:
    """True for a word written alone; else report what follows it (E206)."""
    extras: list[Value | Shape | Option] = [*call.args, *call.options]
    if not extras:
        return True
    first = extras[0]
    if isinstance(first, Value) and isinstance(first.value, Bare) and first.value in STATEMENTS:
        help = f"a `;` is missing before `{first.value}`"
    else:
        help = f"remove `{reporter.text[first.start : extras[-1].end]}`"
    reporter.error("E206", f"`{call.name}` takes no arguments", first.start, extras[-1].end, help)
    return False


def _shape(reporter: Reporter, call: Call) -> Shape | None:
    """The one shape `IN->OUT` of a shaped word, its widths in range."""
    shapes = [a for a in call.args if isinstance(a, Shape)]
    others = [a for a in call.args if isinstance(a, Value)]
    for value in others:
        if isinstance(value.value, int) and not isinstance(value.value, bool) and not shapes:
            reporter.error(
                "E205",
                f"{call.name} needs a shape `IN->OUT`",
                value.start,
                value.end,
                f"write `{call.name} ->{value.value}` to infer IN",
            )
        else:
            _stray_argument(reporter, call, value, _option_names(LAYERS[call.name]))
    if not shapes and not others:
        reporter.error(
            "E205",
            f"{call.name} needs a shape `IN->OUT`",
            call.start,
            call.end,
            f"write `{call.name} 2->25`, or `{call.name} ->25` to infer IN",
        )
        return None
    for extra in shapes[1:]:
        reporter.error(
            "E135", f"{call.name} takes one shape", extra.start, extra.end, "remove this one"
        )
    if not shapes or others or len(shapes) > 1:
        return None
    shape = shapes[0]
    widths = [w for w in (shape.in_features, shape.out_features) if w is not None]
    if any(w < 1 for w in widths):
        reporter.error(
            "E132",
            "a width must be at least 1",
            shape.start,
            shape.end,
            f"write positive widths, such as `{call.name} 2->25`",
        )
        return None
    if any(w > ir.MAX_WIDTH for w in widths):
        reporter.error(
            "E112",
            f"a width of {max(widths):,} is over the limit of {ir.MAX_WIDTH:,}",
            shape.start,
            shape.end,
            "use narrower layers",
        )
        return None
    return shape


def _stray_argument(
    reporter: Reporter, call: Call, value: Value | Shape, known: Sequence[str]
) -> None:
    """A value without `name=` after a layer word: a missing `;`, or a missing name."""
    if isinstance(value, Value) and isinstance(value.value, Bare) and value.value in STATEMENTS:
        reporter.error(
            "E206",
            f"`{value.value}` cannot follow a stage",
            value.start,
            value.end,
            f"a `;` is missing before `{value.value}`",
        )
        return
    if isinstance(value, Value) and isinstance(value.value, Bare) and value.value in LAYERS:
        help = f"a `|` is missing before `{value.value}`"
    elif len(known) == 1 and isinstance(value, Value) and not isinstance(value.value, Bare):
        help = f"write `{known[0]}={reporter.source(value)}`"
    else:
        shape = "a shape `IN->OUT`" if LAYERS[call.name].takes_shape else ""
        takes = " and ".join([shape] * bool(shape) + [f"`{k}=...`" for k in known])
        help = f"{call.name} takes " + (takes or "no arguments")
    reporter.error(
        "E135",
        f"unexpected `{reporter.source(value)}` after {call.name}",
        value.start,
        value.end,
        help,
    )
