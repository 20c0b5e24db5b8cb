"""What the compiler refuses before it builds a spec, as diagnostics at the statement to fix:
a CUDA device that is not there, an optimiser value the dtype cannot hold, a last
mini-batch of one sample for BatchNorm."""

from __future__ import annotations

import torch

from minidl.lang import Resolution, Spec, SpecError, resolve
from minidl.lang.dtype_limits import overflowing_option
from minidl.lang.errors import Diagnostic

__all__ = ["check_device", "check_dtype_range", "check_last_batch"]


def check_last_batch(spec: Spec, rows: int, resolution: Resolution | None = None) -> None:
    """A stage with batch statistics (BatchNorm) cannot train on a last mini-batch of one
    (`resolution`: the spec's network, resolved already)."""
    batch = spec.optimizer.batch
    if rows % batch != 1:
        return
    layers = (resolution or resolve(spec, None, None)).layers
    if not any(layer.word.batch_statistics for layer in layers):
        return
    diagnostic = Diagnostic.at(
        spec.optimizer.span,
        "E317",
        f"{rows} training rows in batches of {batch} leave a last batch of one sample, "
        "and BatchNorm needs two",
        f"use `batch={batch + 1}` or `batch={batch - 1}`" if batch > 2 else "use a larger batch",
        spec.source,
    )
    raise SpecError([diagnostic])


def check_dtype_range(spec: Spec) -> None:
    """An optimiser value the dtype cannot hold (a sweep's `lr=1e300` with float32): E172."""
    overflow = overflowing_option(spec.optimizer, spec.train.dtype)
    if overflow is not None:
        _, message, help = overflow
        raise SpecError([Diagnostic.at(spec.optimizer.span, "E172", message, help, spec.source)])


def check_device(spec: Spec) -> None:
    """`device=cuda` without a CUDA device is the spec's mistake: say so where it is written."""
    if spec.train.device != "cuda" or torch.cuda.is_available():
        return
    diagnostic = Diagnostic.at(
        spec.train.span,
        "E150",
        "device=cuda, but torch sees no CUDA device here",
        "use `train device=cpu` (or `--set train.device=cpu`), or a CUDA build of torch",
        spec.source,
    )
    raise SpecError([diagnostic])
