"""Tables of words, each filled where its words are defined, and IR fields that look a word up.

A `WordTable` holds the words of one kind (layers, losses, optimisers, data sources) by the
tag that names them (`kind` or `name`); a word joins it with the table's `register`
decorator, in the module that defines it, as thinc's `@registry.layers` does. An IR field
typed `table.field()` accepts a node of any word registered at the time of validation, or
the node's JSON form (a dict, looked up by its tag): adding a word never rebuilds a pydantic
model, so a word registered by a plug-in is valid wherever its kind is (inside a join, a
group, a block). `spec_schema` writes the JSON Schema with every registered word.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from pydantic import PlainValidator, SerializeAsAny, ValidationInfo
from pydantic.json_schema import CoreRef, GenerateJsonSchema
from pydantic_core import core_schema

from minidl.lang.nodes import Node

__all__ = ["WordSchema", "WordTable"]

_W = TypeVar("_W", bound=Node)
_M = TypeVar("_M", bound=type[Node])


class WordTable(dict[str, type[_W]], Generic[_W]):
    """The words of one kind by their tag's value, filled by `register`."""

    def __init__(self, noun: str, tag: str, *also: Mapping[str, type[Node]]) -> None:
        super().__init__()
        self.noun, self.tag = noun, tag
        self.also = also
        """Further tables whose nodes the field also takes (a stage: the structural ones)."""
        self.changes = 0
        """How many times a word was set, so that what is made from the table can be kept
        until it changes (`registry.STATEMENTS`)."""

    def __setitem__(self, word: str, model: type[_W]) -> None:
        super().__setitem__(word, model)
        self.changes += 1

    def __delitem__(self, word: str) -> None:
        super().__delitem__(word)
        self.changes += 1

    def register(self, model: _M) -> _M:
        """Make `model` a word of this table (a class decorator); its tag's default is the word."""
        word = model.__pydantic_fields__[self.tag].default
        if not isinstance(word, str) or not word:
            raise TypeError(f"{model.__name__}: a {self.noun} needs a default `{self.tag}`")
        self[word] = model  # type: ignore[assignment]
        return model

    def models(self) -> dict[str, type[Node]]:
        """Every model the field takes, by its tag's value."""
        found: dict[str, type[Node]] = dict(self)
        for table in self.also:
            found.update(table)
        return found

    def validate(self, value: object, info: ValidationInfo) -> Node:
        """`value` as one of the table's nodes: a node is kept, a dict is looked up by its tag
        (and validated as JSON when the whole is read from JSON, so that lists are tuples)."""
        models = self.models()
        if isinstance(value, Node):
            if models.get(str(getattr(value, self.tag, ""))) is type(value):
                return value
            raise ValueError(f"`{type(value).__name__}` is not a known {self.noun}")
        if isinstance(value, Mapping):
            word = value.get(self.tag)
            model = models.get(word) if isinstance(word, str) else None
            if model is None:
                raise ValueError(f"unknown {self.noun} {word!r}: known are {', '.join(models)}")
            if info.mode == "json":
                return model.model_validate_json(json.dumps(value))
            return model.model_validate(value)
        raise ValueError(f"a {self.noun} must be an object with `{self.tag}`")

    def field(self) -> Any:
        """The annotation of an IR field that holds one of the table's nodes."""
        return Annotated[SerializeAsAny[Node], PlainValidator(self.validate)]


class WordSchema(GenerateJsonSchema):
    """JSON Schema generation that writes a word field as `oneOf` its registered words
    (`Spec.model_json_schema(schema_generator=WordSchema)`)."""

    def function_plain_schema(self, schema: core_schema.PlainValidatorFunctionSchema) -> Any:
        function = schema["function"]["function"]
        table = getattr(function, "__self__", None)
        if not isinstance(table, WordTable):
            return super().function_plain_schema(schema)
        busy: set[str] = self.__dict__.setdefault("_busy", set())
        choices = []
        for model in table.models().values():
            model_schema = model.__pydantic_core_schema__
            reference = CoreRef(model_schema["ref"])
            if reference in busy:  # a word inside itself (a group in a group): its $ref
                choices.append(self.get_cache_defs_ref_schema(reference)[1])
                continue
            busy.add(reference)
            try:
                choices.append(self.generate_inner(model_schema))
            finally:
                busy.discard(reference)
        mapping = {
            word: choice["$ref"] for word, choice in zip(table.models(), choices, strict=True)
        }
        return {"oneOf": choices, "discriminator": {"propertyName": table.tag, "mapping": mapping}}
