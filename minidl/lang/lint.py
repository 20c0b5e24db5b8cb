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
    train = spec.train
    if train.min_delta is not None and train.patience is None:
        warnings.append(
            Diagnostic.at(
                train.span,
                "W221",
                "`min_delta` does nothing without `patience`: nothing stops early",
                "add `patience=10` to stop on the validation loss, or remove `min_delta`",
                spec.source,
                "warning",
            )
        )
    return warnings
