"""The one table of MDL's words: layers, losses, statements, and the keys a sweep may set.

The checker, the "did you mean" suggestions, the compiler and the docs all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from minidl.lang import ir

__all__ = [
    "ACTIVATIONS",
    "LAYERS",
    "LOSSES",
    "SHORT_KEYS",
    "STATEMENTS",
    "Layer",
    "Statement",
    "settable_keys",
]


@dataclass(frozen=True)
class Layer:
    """A stage word: whether it takes a shape `IN->OUT`, its options, what it does."""

    takes_shape: bool
    options: tuple[str, ...]
    doc: str


LAYERS: dict[str, Layer] = {
    "Linear": Layer(True, ("bias",), "affine layer `x W^T + b`; `bias=false` drops b"),
    "ReLU": Layer(False, (), "max(0, x), element-wise"),
    "Tanh": Layer(False, (), "tanh(x), element-wise"),
    "Sigmoid": Layer(False, (), "1 / (1 + exp(-x)), element-wise"),
}
ACTIVATIONS = tuple(name for name, layer in LAYERS.items() if not layer.takes_shape)

LOSSES = {"MSE": "mean squared error over the output features, per sample"}


@dataclass(frozen=True)
class Statement:
    """A statement word: the IR model of its options and its positional word, if any."""

    model: type[BaseModel] | dict[str, type[BaseModel]]
    positional: str | None
    doc: str


STATEMENTS: dict[str, Statement] = {
    "loss": Statement(ir.Loss, "name", "the loss: `loss MSE [reduction=sum|mean]`"),
    "sgd": Statement(
        ir.Sgd, None, "the optimiser: `sgd lr=F batch=N [momentum=F] [weight_decay=F]`"
    ),
    "train": Statement(
        ir.Train, None, "training: `train [epochs=N] [seed=N] [backend=...] [device=...]`"
    ),
    "data": Statement(
        {"disk": ir.DiskData, "csv": ir.CsvData},
        "kind",
        "the data: `data disk ...` or `data csv ...`",
    ),
    "sweep": Statement(ir.Sweep, None, "a grid of runs: `sweep KEY=[V, ...] ... [runs=N]`"),
}

SHORT_KEYS = {"batch": "sgd.batch", "lr": "sgd.lr", "backend": "train.backend"}


def option_names(model: type[BaseModel]) -> list[str]:
    """The options a statement's model takes: its fields but the span and the variant tag."""
    return [name for name in model.model_fields if name not in ("span", "kind", "name")]


def settable_keys(data_kind: str) -> list[str]:
    """The dotted keys that `--set` and `sweep` may assign, for a spec with this data kind."""
    models: dict[str, type[BaseModel]] = {"loss": ir.Loss, "sgd": ir.Sgd, "train": ir.Train}
    models["data"] = ir.CsvData if data_kind == "csv" else ir.DiskData
    keys = [f"{word}.{name}" for word, model in models.items() for name in option_names(model)]
    return keys
