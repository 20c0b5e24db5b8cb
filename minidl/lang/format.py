"""Stage 4: a `Spec` back to canonical text; `parse(format_spec(s)) == s` for every spec."""

from __future__ import annotations

import re

from pydantic import BaseModel

from minidl.lang import ir
from minidl.lang.registry import option_names

__all__ = ["format_spec", "format_stage", "format_value"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"true", "false", "let"}


def format_spec(spec: ir.Spec) -> str:
    """The canonical text of `spec`: blocks, network, then every statement, defaults written out."""
    lines = [f"let {b.name} = {_pipeline(b.stages)};" for b in spec.blocks]
    lines.append(_pipeline(spec.network) + ";")
    lines.append(f"loss {spec.loss.name} {_options(spec.loss)};")
    lines.append(f"sgd {_options(spec.sgd)};")
    lines.append(f"train {_options(spec.train)};")
    lines.append(f"data {spec.data.kind} {_options(spec.data)};")
    if spec.sweep is not None:
        axes = [
            f"{a.key}=[{', '.join(format_value(v) for v in a.values)}]" for a in spec.sweep.axes
        ]
        lines.append(" ".join(["sweep", *axes, f"runs={spec.sweep.runs}"]) + ";")
    return "\n".join(lines) + "\n"


def format_stage(stage: ir.Stage) -> str:
    """One stage as MDL text: `Linear 2->25`, `ReLU`, `(hidden | Tanh) * 3`."""
    if isinstance(stage, ir.Linear):
        shape = f"{'' if stage.in_features is None else stage.in_features}->{stage.out_features}"
        return f"Linear {shape}" + ("" if stage.bias else " bias=false")
    if isinstance(stage, ir.Activation):
        return stage.kind
    if isinstance(stage, ir.BlockRef):
        return stage.name
    if isinstance(stage, ir.Group):
        return f"({_pipeline(stage.stages)})"
    return f"{format_stage(stage.stage)} * {stage.count}"


def format_value(value: ir.Scalar | None) -> str:
    """A value as MDL writes it: `true`, `16`, `0.001`, `sum`, `"a.csv"`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return '""'
    if _NAME.fullmatch(value) and value not in _KEYWORDS:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def _pipeline(stages: tuple[ir.Stage, ...]) -> str:
    return " | ".join(format_stage(s) for s in stages)


def _options(node: BaseModel) -> str:
    values = [(name, getattr(node, name)) for name in option_names(type(node))]
    return " ".join(f"{name}={format_value(value)}" for name, value in values if value is not None)
