"""How much memory training a spec asks for, worked out before any tensor exists.

The parameter limit (E114) alone lets `Linear 2->1000000 | ReLU | Linear ->1` through, whose
pass over 100,000 rows needs 800 GB of activations: the allocator then fails deep inside
torch. The estimate here counts, in the spec's dtype:

- each parameter four times: its value, its gradient and up to two optimiser slots (Adam);
- the activations of the largest pass: a training step keeps every stage's output for the
  backward and gets a gradient of the same size (batch x widths x 2), and scoring a whole
  set after each epoch keeps every stage's output of all its rows (rows x widths);

all times the runs of a sweep's ensemble (`runs=R`), which train side by side. Over
`MAX_MEMORY_BYTES` the spec is refused (E171) with the figure and the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from minidl.lang import ir
from minidl.lang.errors import Diagnostic
from minidl.lang.shapes import Joined, Layer, Resolution, Resolved, resolve

__all__ = ["MAX_MEMORY_BYTES", "estimate_bytes", "memory_problem"]

MAX_MEMORY_BYTES = 8 << 30
"""The most memory (8 GiB) a spec may ask for, by `estimate_bytes`."""

_BYTES = {"float32": 4, "float64": 8}


def estimate_bytes(spec: ir.Spec, resolution: Resolution, features: int, rows: int) -> int | None:
    """The bytes training `spec` (its network resolved for `features` inputs) asks for with
    `rows` in its largest set, or None when the widths are not all known (the shape checks
    speak then)."""
    if resolution.diagnostics or resolution.parameters is None:
        return None
    widths = _widths(resolution.network)
    if widths is None:
        return None
    size = _BYTES.get(spec.train.dtype, 8)
    runs = spec.sweep.runs if spec.sweep is not None else 1
    kept = features + widths
    activations = max(spec.optimizer.batch * kept * 2, rows * kept)
    return runs * size * (4 * resolution.parameters + activations)


def memory_problem(
    spec: ir.Spec, features: int, rows: int, resolution: Resolution | None = None
) -> Diagnostic | None:
    """E171 at the network when `estimate_bytes` is over the limit, else None. Without a
    `resolution`, the network is resolved for `features` inputs and the spec's outputs."""
    if resolution is None:
        resolution = resolve(spec, features, None)
    estimate = estimate_bytes(spec, resolution, features, rows)
    if estimate is None or estimate <= MAX_MEMORY_BYTES:
        return None
    return Diagnostic.at(
        spec.span,
        "E171",
        f"training this network would take about {_gib(estimate)} of memory "
        f"(parameters, and the activations of {rows:,} rows), over the limit of "
        f"{_gib(MAX_MEMORY_BYTES)}",
        "use narrower or fewer layers, fewer rows, or a smaller batch",
        spec.source,
    )


def _widths(stages: Iterable[Resolved]) -> int | None:
    """The sum of every stage's output width (each is kept for the backward)."""
    total = 0
    for stage in stages:
        if stage.out_features is None:
            return None
        total += _size(stage.out_features)
        if isinstance(stage, Joined):
            inner = [_widths(branch) for branch in stage.branches]
            if any(width is None for width in inner):
                return None
            total += sum(width for width in inner if width is not None)
        else:
            assert isinstance(stage, Layer)
    return total


def _size(carried: int | tuple[int, int, int]) -> int:
    """The values one sample holds: a width, or an image's C*H*W."""
    return carried if isinstance(carried, int) else math.prod(carried)


def _gib(count: int) -> str:
    return f"{count / (1 << 30):,.1f} GiB"
