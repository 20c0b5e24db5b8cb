"""The table of MDL's words, gathered from their entries (`layer_words`, `statement_words`).

Each table is filled where its words are defined (`@LAYERS.register`, `@LOSSES.register`,
`@OPTIMIZERS.register`, `@DATA_SOURCES.register`). The checker, the "did you mean"
suggestions, `--set` and sweep keys, the summary, the formatter and the docs read them;
nothing else names a word.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from minidl.lang.layer_words import LAYERS, LayerWord
from minidl.lang.nodes import Node, option_names
from minidl.lang.statement_words import (
    DATA_SOURCES,
    LOSSES,
    OPTIMIZERS,
    Schedule,
    Train,
)

__all__ = [
    "LAYERS",
    "LOSSES",
    "OPTIMIZERS",
    "SHORT_KEYS",
    "STATEMENTS",
    "LayerWord",
    "Statement",
    "doc",
    "full_key",
    "layer",
    "option_description",
    "option_names",
    "settable_keys",
    "statement_word",
]


@dataclass(frozen=True)
class Statement:
    """A statement word: the `Spec` field it fills and the model(s) of its options.

    `variants` maps the positional word (`loss MSE`, `data csv`) to its model; a statement
    without one has a single variant under the empty name. `tag` is the field that records
    the positional word (`name`, `kind`), or None.
    """

    field: str
    variants: Mapping[str, type[Node]]
    tag: str | None
    noun: str

    @property
    def positional(self) -> bool:
        """Whether the word takes a positional word that picks its variant."""
        return self.tag is not None


class _Statements(Mapping[str, Statement]):
    """Every statement word, made from the word tables and made again when one changes, so
    that an optimiser, loss or data source registered by a plug-in is a statement at once.
    `let` and the network are the grammar's own."""

    def __init__(self) -> None:
        self._made: dict[str, Statement] = {}
        self._changes: tuple[int, ...] = ()

    def _now(self) -> dict[str, Statement]:
        changes = (OPTIMIZERS.changes, LOSSES.changes, DATA_SOURCES.changes)
        if changes != self._changes:
            self._made = {
                "loss": Statement("loss", LOSSES, "name", "loss"),
                **{
                    word: Statement("optimizer", {"": model}, None, "optimiser")
                    for word, model in OPTIMIZERS.items()
                },
                "schedule": Statement("schedule", {"": Schedule}, "kind", "schedule"),
                "train": Statement("train", {"": Train}, None, "training statement"),
                "data": Statement("data", DATA_SOURCES, "kind", "data source"),
                "sweep": Statement("sweep", {}, None, "sweep"),
            }
            self._changes = changes
        return self._made

    def __getitem__(self, word: str) -> Statement:
        return self._now()[word]

    def __iter__(self) -> Iterator[str]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())


STATEMENTS: Mapping[str, Statement] = _Statements()
"""Every statement word; `let` and the network are the grammar's own."""

SHORT_KEYS = {"batch": "batch", "lr": "lr", "backend": "train.backend"}
"""Short sweep and `--set` keys: `lr` and `batch` are the optimiser's, whichever it is."""


def statement_word(node: Node) -> str:
    """The word that writes `node` as a statement: `sgd`, `adam`, `loss`, `data`, ..."""
    for word, statement in STATEMENTS.items():
        if type(node) in statement.variants.values():
            return word
    raise KeyError(type(node).__name__)


def settable_keys(fields: Mapping[str, Node]) -> list[str]:
    """The dotted keys that `--set` and `sweep` may assign, given the spec's statements.

    `fields` maps a `Spec` field (`loss`, `optimizer`, ...) to its node; a key is the
    statement's word and an option (`sgd.lr`, `adam.lr`, `loss.delta`, `data.normalize`).
    """
    keys: list[str] = []
    for node in fields.values():
        word = statement_word(node)
        keys.extend(f"{word}.{name}" for name in option_names(type(node)))
    return keys


def full_key(key: str, fields: Mapping[str, Node]) -> str:
    """A short key made full: `lr` is `sgd.lr` or `adam.lr`, whichever optimiser is used."""
    short = SHORT_KEYS.get(key)
    if short is None:
        return key
    if "." in short:
        return short
    return f"{statement_word(fields['optimizer'])}.{short}"


def doc(model: type[Node]) -> str:
    """A word's meaning: the first line of its entry's docstring."""
    return (model.__doc__ or "").strip().splitlines()[0]


def option_description(model: type[Node], name: str) -> str:
    """An option's meaning (its field's description, without type or default), for hover,
    help and the docs."""
    field = model.model_fields[name]
    return field.description or ""


def layer(name: str) -> type[LayerWord] | None:
    """The entry of a layer word, or None."""
    return LAYERS.get(name)
