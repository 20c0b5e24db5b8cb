"""Hypothesis strategies for valid `Spec`s (shape-consistent, so that they check).

Every word is drawn from its entry: a new layer, loss, optimiser or option is covered
without touching this file.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

import annotated_types as at
import numpy as np
import torch
from hypothesis import strategies as st
from pydantic import BaseModel

from minidl.lang import ir
from minidl.lang.nodes import option_names
from minidl.lang.registry import LAYERS, STATEMENTS
from minidl.lang.statement_words import DATA_SOURCES, LOSSES, OPTIMIZERS

NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n not in LAYERS and n not in STATEMENTS and n not in ("let", "true", "false")
)
FINITE = dict(allow_nan=False, allow_infinity=False)
DEPENDENT = (
    "data.test",
    "data.split",
    "schedule.warmup",
    "train.patience",
    "data.target",
    "data.task",
    "data.categorical",
    "data.ignore",
)
"""Options that a sweep leaves alone: each depends on others (tested on their own)."""


def value_strategy(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """Values that a field of this type and these constraints accepts."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(value_strategy(a, metadata) for a in typing.get_args(annotation)))
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return value_strategy(inner, [*metadata, *extra])
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:  # a list of column names
            least = max((m.min_length for m in metadata if isinstance(m, at.MinLen)), default=0)
            return st.lists(NAMES, min_size=least, max_size=3, unique=True).map(tuple)
        parts = [value_strategy(a, []) for a in args]
        return st.tuples(*parts)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is str:
        return st.text(min_size=1, max_size=12)
    bounds: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(at, name.capitalize())):
                bounds[name] = getattr(item, name)
        for constraint in getattr(item, "metadata", []):
            for name in ("ge", "gt", "le", "lt"):
                if isinstance(constraint, getattr(at, name.capitalize())):
                    bounds[name] = getattr(constraint, name)
    if annotation is int:
        low = bounds.get("ge", bounds.get("gt", -1_000) + 1 if "gt" in bounds else -1_000)
        high = bounds.get("le", bounds.get("lt", 1_001) - 1 if "lt" in bounds else 1_000)
        return st.integers(int(low), int(min(high, low + 1_000)))
    low = bounds.get("ge", bounds.get("gt", -10.0))
    high = bounds.get("le", bounds.get("lt", 10.0))
    return st.floats(
        float(low),
        float(min(high, low + 10.0)),
        exclude_min="gt" in bounds,
        exclude_max="lt" in bounds and high <= low + 10.0,
        **FINITE,
    )


@functools.cache
def statement_strategy(*models: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Any of these statement models, built once."""
    return st.one_of(*(node_strategy(m) for m in models))


def node_strategy(model: type[BaseModel], **fixed: Any) -> st.SearchStrategy[Any]:
    """Nodes of `model` with every option drawn from its type and range."""
    fields = {
        name: value_strategy(model.model_fields[name].annotation, model.model_fields[name].metadata)
        for name in option_names(model)
        if name not in fixed
    }
    return st.builds(model, **fields, **{k: st.just(v) for k, v in fixed.items()}).filter(
        lambda node: not getattr(node, "problems", list)() and not _names_twice(node)
    )


def _names_twice(node: BaseModel) -> bool:
    """A CSV column named twice among target, categorical and ignore (E330)."""
    if not isinstance(node, ir.CsvData):
        return False
    names = [*node.targets, *node.categorical, *node.ignore]
    return len(names) != len(set(names))


@functools.cache
def layer_stage() -> st.SearchStrategy[ir.Stage]:
    """Any layer word that takes a width (see `image_specs` for images); shaped ones infer
    their IN, so that any order of them checks."""
    shaped = [
        st.integers(1, 32).flatmap(
            lambda out, w=w: node_strategy(w, in_features=None, out_features=out)
        )  # type: ignore[misc]
        for w in LAYERS.values()
        if w.takes_shape and not w.needs_image
    ]
    keep = [node_strategy(w) for w in LAYERS.values() if not w.takes_shape and not w.needs_image]
    return st.one_of(*shaped, *keep)


def stages(blocks: list[str], depth: int = 2) -> st.SearchStrategy[ir.Stage]:
    """Stages built from every word, blocks, groups and repetitions."""
    return _stages(len(blocks), depth).map(lambda s: _rename(s, blocks))


def _rename(stage: ir.Stage, blocks: list[str]) -> ir.Stage:
    """Replace the placeholder block names `0`, `1`, ... by the drawn ones."""
    if isinstance(stage, ir.BlockRef):
        return ir.BlockRef(name=blocks[int(stage.name)])
    if isinstance(stage, ir.Group):
        return ir.Group(stages=tuple(_rename(s, blocks) for s in stage.stages))
    if isinstance(stage, ir.Repeat):
        return ir.Repeat(stage=_rename(stage.stage, blocks), count=stage.count)
    if isinstance(stage, ir.Join):
        branches = tuple(tuple(_rename(s, blocks) for s in b) for b in stage.branches)
        return ir.Join(op=stage.op, branches=branches)
    return stage


@functools.cache
def _stages(blocks: int, depth: int) -> st.SearchStrategy[ir.Stage]:
    leaves = [layer_stage()]
    if blocks:
        leaves.append(st.integers(0, blocks - 1).map(lambda n: ir.BlockRef(name=str(n))))
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf
    inner = _stages(blocks, depth - 1)
    group = st.lists(inner, min_size=1, max_size=3).map(lambda s: ir.Group(stages=tuple(s)))
    repeated = st.one_of(leaf, group)
    repeat = st.builds(ir.Repeat, stage=repeated, count=st.integers(1, 3))
    branch = st.lists(inner, min_size=1, max_size=2).map(tuple)
    concat = st.lists(branch, min_size=2, max_size=3).map(
        lambda b: ir.Join(op="concat", branches=tuple(b))
    )
    # `+` needs equal widths: each branch ends with a Linear of one width.
    summed = st.tuples(st.integers(1, 32), st.lists(branch, min_size=2, max_size=3)).map(
        lambda t: ir.Join(
            op="sum", branches=tuple((*b, ir.Linear(out_features=t[0])) for b in t[1])
        )
    )
    return st.one_of(leaf, group, repeat, concat, summed)


@st.composite
def specs(draw: st.DrawFn) -> ir.Spec:
    block_names = draw(st.lists(NAMES, max_size=3, unique=True))
    blocks: list[ir.Block] = []
    for i, name in enumerate(block_names):
        body = draw(st.lists(stages(block_names[:i], 1), min_size=1, max_size=3))
        blocks.append(ir.Block(name=name, stages=tuple(body)))
    first = draw(
        st.sampled_from([ir.Linear(in_features=2, out_features=8), ir.Linear(out_features=8)])
    )
    middle = draw(st.lists(stages(block_names), max_size=4))
    loss = draw(statement_strategy(*LOSSES.values()))
    outputs = 2 if loss.targets == "classes" else 1  # the disk's two classes, or one value
    last = ir.Linear(
        in_features=draw(st.sampled_from([None, 8])) if not middle else None,
        out_features=outputs,
    )
    tail = draw(st.lists(layer_stage().filter(lambda s: not s.takes_shape), max_size=1))
    network = (first, *middle, last, *tail)
    train = draw(statement_strategy(ir.Train))
    schedule = draw(statement_strategy(ir.Schedule))
    if schedule.warmup >= train.epochs:
        schedule = schedule.model_copy(update={"warmup": 0})
    # The network is flat: data that the spec itself shapes as images would not fit it.
    data = draw(statement_strategy(*DATA_SOURCES.values()).filter(_flat_data))
    if train.patience is not None and data.validation is None:  # E260: nothing to watch
        train = train.model_copy(update={"patience": None})
    if isinstance(data, ir.CsvData):
        data = _columns_once(data, loss)
    spec = ir.Spec(
        blocks=tuple(blocks),
        network=network,
        loss=loss,
        optimizer=draw(statement_strategy(*OPTIMIZERS.values())),
        schedule=schedule,
        train=train,
        data=data,
    )
    sweep = draw(st.none() | sweeps(spec))
    return spec.model_copy(update={"sweep": sweep})


def _flat_data(data: ir.Node) -> bool:
    image = getattr(data, "image", None)
    return image is None or image() is None


def _columns_once(data: ir.CsvData, loss: Any) -> ir.CsvData:
    """A table's options as the checker takes them: each column named once (E330), and
    several targets or `task=regress` only with a loss over values (E331)."""
    targets = data.targets
    task = data.task
    if loss.name not in ("MSE", "L1", "Huber"):
        targets, task = targets[:1], "classify" if task == "regress" else task
    categorical = tuple(c for c in data.categorical if c not in targets)
    ignore = tuple(c for c in data.ignore if c not in targets and c not in categorical)
    target = targets[0] if len(targets) == 1 and isinstance(data.target, str) else targets
    update = {"target": target, "task": task, "categorical": categorical, "ignore": ignore}
    return data.model_copy(update=update)


@st.composite
def sweeps(draw: st.DrawFn, spec: ir.Spec) -> ir.Sweep:
    """Sweeps over keys of the spec's own statements, with values their options accept."""
    nodes = [spec.loss, spec.optimizer, spec.schedule, spec.train, spec.data]
    choices: dict[str, st.SearchStrategy[Any]] = {}
    for node in nodes:
        word = next(w for w, s in STATEMENTS.items() if type(node) in s.variants.values())
        for name in option_names(type(node)):
            if f"{word}.{name}" in DEPENDENT:
                continue  # these depend on other options; checked in their own tests
            if f"{word}.{name}" in (
                "data.target",
                "data.categorical",
                "data.ignore",
                "data.size",
                "data.shape",
            ):
                continue  # lists of column names: a sweep's values are scalars or numbers
            field = type(node).model_fields[name]
            strategy = value_strategy(field.annotation, field.metadata).filter(
                lambda v: v is not None
            )
            choices[f"{word}.{name}"] = strategy
    keys = draw(st.lists(st.sampled_from(sorted(choices)), max_size=3, unique=True))
    axes = tuple(
        ir.SweepAxis(key=k, values=tuple(draw(st.lists(choices[k], min_size=1, max_size=4))))
        for k in keys
    )
    return ir.Sweep(axes=axes, runs=draw(st.integers(1, 20)))


def independent_generators(seed: int, count: int) -> list[torch.Generator]:
    """`count` torch generators whose streams are independent of one another and of
    `torch.manual_seed(seed)`'s: parameters drawn from one never equal inputs drawn from
    another (`numpy.random.SeedSequence` spawns the seeds)."""
    children = np.random.SeedSequence([seed, 0x6D696E69]).spawn(count)
    return [torch.Generator().manual_seed(int(c.generate_state(1, np.uint64)[0])) for c in children]
