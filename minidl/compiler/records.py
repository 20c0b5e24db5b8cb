"""The compiler's records of one kind of word, by the word (`minidl.compiler.words.LAYERS`,
`LOSSES`, `OPTIMIZERS`, `minidl.compiler.data.DATA_SOURCES`). A word of the language that has
no record here is named with the line that adds one, instead of a bare `KeyError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["MissingRecord", "Records"]

_E = TypeVar("_E")


class MissingRecord(LookupError):
    """A word of the language that this side has no record for (a plug-in's word registered
    with `@LAYERS.register` and the like, without its compiler record)."""


class Records(dict[str, _E]):
    """The compiler's records of one kind of word, by the word. A word without one is named
    with the line that adds it, instead of a bare `KeyError`."""

    def __init__(self, noun: str, name: str, entries: Mapping[str, _E]) -> None:
        super().__init__(entries)
        self.noun, self.name = noun, name

    def __missing__(self, word: str) -> _E:
        raise MissingRecord(
            f"the {self.noun} `{word}` is a word of the language with no compiler record: "
            f"add `{self.name}[{word!r}] = ...` beside its `@...register` "
            f'(docs/LANGUAGE.md, "New words: one record per side")'
        )
