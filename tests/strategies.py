"""Hypothesis strategies for valid `Spec`s (shape-consistent, so that they check)."""

from __future__ import annotations

from hypothesis import strategies as st

from minidl.lang import ir
from minidl.lang.registry import LAYERS, STATEMENTS

NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n not in LAYERS and n not in STATEMENTS and n not in ("let", "true", "false")
)
ACTIVATION = st.sampled_from(["ReLU", "Tanh", "Sigmoid"]).map(lambda k: ir.Activation(kind=k))
INFERRED_LINEAR = st.builds(
    ir.Linear, in_features=st.none(), out_features=st.integers(1, 32), bias=st.booleans()
)


def stages(blocks: list[str], depth: int = 2) -> st.SearchStrategy[ir.Stage]:
    """Stages whose Linears infer their IN, so that any order of them checks."""
    leaves = [ACTIVATION, INFERRED_LINEAR]
    if blocks:
        leaves.append(st.sampled_from(blocks).map(lambda n: ir.BlockRef(name=n)))
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf
    inner = stages(blocks, depth - 1)
    group = st.lists(inner, min_size=1, max_size=3).map(lambda s: ir.Group(stages=tuple(s)))
    repeated = st.one_of(leaf, group)
    repeat = st.builds(ir.Repeat, stage=repeated, count=st.integers(1, 3))
    return st.one_of(leaf, group, repeat)


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
    last = ir.Linear(in_features=draw(st.sampled_from([None])), out_features=1)
    tail = draw(st.lists(ACTIVATION, max_size=1))
    network = (first, *middle, last, *tail)
    finite = dict(allow_nan=False, allow_infinity=False)
    loss = ir.Loss(reduction=draw(st.sampled_from(["sum", "mean"])))
    sgd = ir.Sgd(
        lr=draw(st.floats(1e-6, 10, **finite)),
        batch=draw(st.integers(1, 512)),
        momentum=draw(st.floats(0, 0.99, **finite)),
        weight_decay=draw(st.floats(0, 1, **finite)),
    )
    train = ir.Train(
        epochs=draw(st.integers(1, 1000)),
        seed=draw(st.integers(0, 2**40)),
        backend=draw(st.sampled_from(["minidl", "torch"])),
        device=draw(st.sampled_from(["cpu", "cuda"])),
        dtype=draw(st.sampled_from(["float32", "float64"])),
    )
    data = draw(
        st.one_of(
            st.builds(
                ir.DiskData,
                train=st.integers(1, 5000),
                test=st.integers(1, 5000),
                radius=st.floats(0.01, 1, **finite),
            ),
            st.builds(
                ir.CsvData,
                train=st.text(min_size=1, max_size=12),
                test=st.none() | st.text(min_size=1, max_size=12),
                target=st.text(min_size=1, max_size=8),
            ),
        )
    )
    sweep = draw(st.none() | sweeps())
    return ir.Spec(
        blocks=tuple(blocks),
        network=network,
        loss=loss,
        sgd=sgd,
        train=train,
        data=data,
        sweep=sweep,
    )


@st.composite
def sweeps(draw: st.DrawFn) -> ir.Sweep:
    choices = {
        "sgd.batch": st.integers(1, 256),
        "sgd.lr": st.floats(1e-5, 1, allow_nan=False),
        "train.backend": st.sampled_from(["minidl", "torch"]),
        "loss.reduction": st.sampled_from(["sum", "mean"]),
        "train.epochs": st.integers(1, 50),
    }
    keys = draw(st.lists(st.sampled_from(sorted(choices)), max_size=3, unique=True))
    axes = tuple(
        ir.SweepAxis(key=k, values=tuple(draw(st.lists(choices[k], min_size=1, max_size=4))))
        for k in keys
    )
    return ir.Sweep(axes=axes, runs=draw(st.integers(1, 20)))
