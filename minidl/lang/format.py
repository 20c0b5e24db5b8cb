"""Stage 4: a `Spec` back to canonical text; `parse(format_spec(s)) == s` for every spec."""

from __future__ import annotations

import re

from minidl.lang import ir
from minidl.lang.nodes import Node
from minidl.lang.registry import STATEMENTS, statement_word

__all__ = [
    "format_axis",
    "format_spec",
    "format_stage",
    "format_statement",
    "format_sweep",
    "format_value",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"true", "false", "let"}


def format_spec(spec: ir.Spec) -> str:
    """The canonical text of `spec`: blocks, network, then every statement, defaults written out.

    The schedule is left out when it is the default one (a constant learning rate), so that
    a spec without one prints as it did before schedules existed.
    """
    lines = [f"let {b.name} = {_pipeline(b.stages)};" for b in spec.blocks]
    lines.append(_pipeline(spec.network) + ";")
    for node in (spec.loss, spec.optimizer, spec.schedule, spec.train, spec.data):
        if node is spec.schedule and node == ir.Schedule():
            continue
        lines.append(format_statement(node) + ";")
    if spec.sweep is not None:
        lines.append(format_sweep(spec.sweep) + ";")
    return "\n".join(lines) + "\n"


def format_statement(node: Node) -> str:
    """One statement with every option written out: `sgd lr=0.001 batch=16 ...`."""
    word = statement_word(node)
    tag = STATEMENTS[word].tag
    head = [word] if tag is None else [word, str(getattr(node, tag))]
    fields = type(node).model_fields
    quiet = getattr(node, "QUIET_DEFAULTS", ())
    options = [
        f"{name}={format_value(value)}"
        for name, value in node.options().items()
        if value is not None
        and not (name in quiet and value == fields[name].get_default(call_default_factory=True))
    ]
    return " ".join([*head, *options])


def format_sweep(sweep: ir.Sweep) -> str:
    """`sweep KEY=[V, ...] KEY=uniform(A, B) ... [samples=N] runs=N`."""
    axes = [f"{a.key}={format_axis(a)}" for a in sweep.axes]
    samples = [] if sweep.samples is None else [f"samples={sweep.samples}"]
    return " ".join(["sweep", *axes, *samples, f"runs={sweep.runs}"])


def format_axis(axis: ir.SweepAxis) -> str:
    """What one key is swept over: `[4, 8]`, or a distribution `loguniform(0.0001, 0.1)`."""
    if axis.distribution is None:
        return f"[{', '.join(format_value(v) for v in axis.values)}]"
    return f"{axis.distribution}({format_value(axis.low)}, {format_value(axis.high)})"


def format_stage(stage: ir.Stage) -> str:
    """One stage as MDL text: `Linear 2->25`, `(hidden | Tanh) * 3`, `(A | B) + Identity`."""
    if isinstance(stage, ir.LayerWord):
        parts = [stage.kind]
        if isinstance(stage, ir.ShapedWord):
            parts.append(
                f"{'' if stage.in_features is None else stage.in_features}->{stage.out_features}"
            )
        defaults = type(stage).model_fields
        parts.extend(
            f"{name}={format_value(value)}"
            for name, value in stage.options().items()
            if value != defaults[name].default
        )
        return " ".join(parts)
    if isinstance(stage, ir.BlockRef):
        return stage.name
    if isinstance(stage, ir.Group):
        return f"({_pipeline(stage.stages)})"
    if isinstance(stage, ir.Join):
        return (" + " if stage.op == "sum" else " & ").join(_branch(b) for b in stage.branches)
    inner = format_stage(stage.stage)
    return (
        f"({inner}) * {stage.count}"
        if isinstance(stage.stage, ir.Join)
        else f"{inner} * {stage.count}"
    )


def _branch(stages: tuple[ir.Stage, ...]) -> str:
    """A join's branch, in parentheses unless it is one stage that binds tighter than `+`."""
    if len(stages) == 1 and not isinstance(stages[0], ir.Group | ir.Join):
        return format_stage(stages[0])
    return f"({_pipeline(stages)})"


def format_value(value: ir.Scalar | None) -> str:
    """A value as MDL writes it: `true`, `16`, `0.001`, `sum`, `"a.csv"`, `[0.9, 0.999]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if value is None:
        return '""'
    if _NAME.fullmatch(value) and value not in _KEYWORDS:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def _pipeline(stages: tuple[ir.Stage, ...]) -> str:
    return " | ".join(format_stage(s) for s in stages)
