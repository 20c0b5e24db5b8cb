"""Warnings: specs that are valid but probably not what was meant (`warning[WNNN]`)."""

from __future__ import annotations

from minidl.lang import ir
from minidl.lang.errors import Diagnostic
from minidl.lang.shapes import Layer, Resolution, resolve

__all__ = ["spec_warnings"]


def spec_warnings(spec: ir.Spec, resolution: Resolution | None = None) -> list[Diagnostic]:
    """Every warning about `spec`; `resolution` is its expanded network, if already known."""
    network = (resolution or resolve(spec)).network
    warnings: list[Diagnostic] = []
    last = network[-1].word if network and isinstance(network[-1], Layer) else None
    applies = spec.loss.applies
    if last is not None and applies is not None and last.kind == applies:
        warnings.append(
            Diagnostic.at(
                last.span,
                "W101",
                f"`{last.kind}` right before `{spec.loss.name}`, which applies it itself",
                f"remove `{last.kind}`: {spec.loss.name} takes logits",
                spec.source,
                "warning",
            )
        )
    return warnings
