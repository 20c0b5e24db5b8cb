"""A statement word's options (`loss`, `sgd`, `train`, `data`, ...) checked against its entry.

Each function takes the `Reporter` that collects the text's diagnostics; the sweep
statement has its own module, `minidl.lang.sweep_axes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.pydantic_errors import build_node, plain_values
from minidl.lang.registry import STATEMENTS, option_names
from minidl.lang.syntax import Call, Option, Shape, Value

__all__ = ["check_statement", "named_options", "unexpected_values"]


def check_statement(reporter: Reporter, call: Call) -> BaseModel | None:
    """Check a statement (`loss`, `sgd`, `adam`, `train`, ...); build its node."""
    entry = STATEMENTS[call.name]
    positional = [a for a in call.args if isinstance(a, Value)]
    word = positional.pop(0) if positional and entry.positional else None
    unexpected_values(
        reporter, call, [*(a for a in call.args if isinstance(a, Shape)), *positional]
    )
    fields: dict[str, Any] = {}
    if len(entry.variants) > 1:
        model = _variant(reporter, call, word, entry.variants, entry.noun)
        if model is None:
            return None
    else:
        model = entry.variants[""]
        if word is not None and entry.tag is not None:
            fields[entry.tag] = word.plain()
    options = named_options(reporter, call, option_names(model))
    if options is None:
        return None
    extra = {entry.tag: word} if word is not None and entry.tag is not None else {}
    node = build_node(
        reporter, model, {**fields, **plain_values(options)}, call, {**options, **extra}
    )
    if node is not None and hasattr(node, "problems"):
        for name, message, help in node.problems():
            option = options[name]
            reporter.error("E137", message, option.start, option.end, help)
        return None if node.problems() else node
    return node


def _variant(
    reporter: Reporter,
    call: Call,
    word: Value | None,
    models: Mapping[str, type[BaseModel]],
    noun: str,
) -> type[BaseModel] | None:
    """The model a positional word picks (`loss MSE`, `data csv`)."""
    kinds = ", ".join(f"`{call.name} {k}`" for k in models)
    if word is None:
        needs = "a source" if call.name == "data" else f"a {noun} name"
        reporter.error(
            "E133", f"`{call.name}` needs {needs}", call.start, call.end, f"write {kinds}"
        )
        return None
    if word.value not in models:
        guess = did_you_mean(str(word.value), models)
        plural = noun + ("es" if noun.endswith("s") else "s")
        help = f"did you mean `{guess}`?" if guess else f"{plural}: " + ", ".join(models)
        code = "E140" if call.name == "loss" else "E141"
        message = f"unknown {noun} `{reporter.source(word)}`"
        reporter.error(code, message, word.start, word.end, help, replacement=guess)
        return None
    return models[str(word.value)]


def named_options(
    reporter: Reporter, call: Call, known: Sequence[str], quoted: bool = True
) -> dict[str, Option] | None:
    """The options of `call` by name; None after reporting an unknown or repeated one."""
    word = f"`{call.name}`" if quoted else call.name
    options: dict[str, Option] = {}
    ok = True
    for option in call.options:
        if option.key in options:
            reporter.error(
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
            reporter.error(
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


def unexpected_values(reporter: Reporter, call: Call, extras: Sequence[Value | Shape]) -> bool:
    """Report values written without `name=` after a statement word; True if any."""
    example = "`KEY=[V, ...]`, as in `batch=[4, 8]`" if call.name == "sweep" else "`name=value`"
    for arg in extras:
        reporter.error(
            "E135",
            f"unexpected `{reporter.text[arg.start : arg.end]}` in `{call.name}`",
            arg.start,
            arg.end,
            f"write options as {example}",
        )
    return bool(extras)
