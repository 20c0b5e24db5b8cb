"""What the words' entries say, shaped for an editor: meanings, options, their values.

Everything here reads `minidl.lang.registry` (the one table of words); nothing names a word.
"""

from __future__ import annotations

import types as pytypes
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from minidl.lang.nodes import Node
from minidl.lang.registry import LAYERS, STATEMENTS, doc, option_description, option_names

__all__ = [
    "describe_option",
    "describe_word",
    "enumeration",
    "statement_model",
    "variant_names",
    "word_model",
]

_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "min_length": "length >="}


def word_model(word: str, variant: str | None = None) -> type[Node] | None:
    """The entry of a layer word, or of a statement word with its positional variant."""
    if word in LAYERS:
        return LAYERS[word]
    return statement_model(word, variant)


def statement_model(word: str, variant: str | None) -> type[Node] | None:
    """A statement word's model: the variant's (`loss MSE`), or the single one (`adam`)."""
    statement = STATEMENTS.get(word)
    if statement is None:
        return None
    if variant is not None and variant in statement.variants:
        return statement.variants[variant]
    return statement.variants.get("")


def variant_names(word: str) -> list[str]:
    """The positional words a statement takes: `MSE`.. after `loss`, `cosine`.. after `schedule`."""
    statement = STATEMENTS.get(word)
    if statement is None or statement.tag is None:
        return []
    names = [name for name in statement.variants if name]
    single = statement.variants.get("")
    if not names and single is not None:
        names = enumeration(single, statement.tag) or []
    return names


def enumeration(model: type[BaseModel], name: str) -> list[str] | None:
    """The values an option may take when they are a closed set (Literal or bool), else None."""
    field = model.model_fields.get(name)
    if field is None:
        return None
    values = _closed_values(field.annotation)
    return values or None


def _closed_values(annotation: Any) -> list[str]:
    if annotation is bool:
        return ["true", "false"]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return [str(value) for value in typing.get_args(annotation)]
    if origin in (typing.Union, pytypes.UnionType):
        return [v for arg in typing.get_args(annotation) for v in _closed_values(arg)]
    return []


def describe_word(word: str, variant: str | None = None) -> str | None:
    """A word's meaning and its options, as Markdown, or None for a word that is not MDL's."""
    model = word_model(word, variant)
    if model is None:
        names = variant_names(word)
        if word in STATEMENTS and names:
            return f"**{word}** `{' | '.join(names)}`"
        return None
    shown = f"{word} {variant}" if variant and variant in STATEMENTS[word].variants else word
    lines = [f"**{shown}**: {doc(model)}"]
    names = option_names(model)
    if names:
        lines.append("")
        lines.extend(f"- {describe_option(model, name)}" for name in names)
    return "\n".join(lines)


def describe_option(model: type[BaseModel], name: str) -> str:
    """`name` (type, default, range): meaning, from the option's field."""
    field = model.model_fields[name]
    facts = [f"`{_type_name(field.annotation)}`"]
    if field.default is not PydanticUndefined:
        facts.append(f"default `{_value(field.default)}`")
    else:
        facts.append("required")
    for constraint in field.metadata:
        for attribute, symbol in _BOUNDS.items():
            bound = getattr(constraint, attribute, None)
            if bound is not None:
                facts.append(f"{symbol} {bound}")
    meaning = option_description(model, name)  # type: ignore[arg-type]
    return f"**{name}** ({', '.join(facts)}): {meaning}"


def _type_name(annotation: Any) -> str:
    values = _closed_values(annotation)
    if values and annotation is not bool:
        return " | ".join(values)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (tuple, typing.Union, pytypes.UnionType):
        parts = [_type_name(arg) for arg in typing.get_args(annotation)]
        return f"tuple[{', '.join(parts)}]" if origin is tuple else " | ".join(parts)
    if isinstance(annotation, type):
        return "none" if annotation is type(None) else annotation.__name__
    return str(annotation).replace("typing.", "")


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"' if value not in _ALL_LITERALS else value
    return str(value)


_ALL_LITERALS = {
    v
    for models in (*(s.variants.values() for s in STATEMENTS.values()), LAYERS.values())
    for model in models
    for name in model.model_fields
    for v in (enumeration(model, name) or [])
}
