"""The network's expansion: blocks inlined, groups opened, repetitions unrolled, written once.

Shape inference and the language server's hover read the same expansion: `expand` lists its
stages in order (a join whole; its branches are expanded by whoever needs them), only the
first few when asked, so that a hover never unrolls a repetition of ten thousand; `measure`
counts the stages and the nesting without expanding anything.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar, overload

from minidl.lang import ir

__all__ = ["Blocks", "Flat", "expand", "measure"]

Blocks = Mapping[str, tuple[ir.Stage, ...]]
"""The spec's blocks: each name's stages."""

Flat = ir.LayerWord | ir.Join
"""A stage of the expansion: a layer, or a join (whole: its branches are expanded apart)."""

T = TypeVar("T")


@overload
def expand(
    stages: tuple[ir.Stage, ...], blocks: Blocks, limit: int | None = None
) -> list[Flat]: ...


@overload
def expand(
    stages: tuple[ir.Stage, ...],
    blocks: Blocks,
    limit: int | None = None,
    *,
    join: Callable[[ir.Join], T],
) -> list[ir.LayerWord | T]: ...


def expand(
    stages: tuple[ir.Stage, ...],
    blocks: Blocks,
    limit: int | None = None,
    *,
    join: Callable[[ir.Join], Any] | None = None,
) -> list[Any]:
    """The layers and joins of the expanded `stages`, in order; only the first `limit` of
    them when a limit is given (the rest is never unrolled). `join`, when given, stands
    for each join in the list what it makes of it (shapes expand the branches)."""
    out: list[Any] = []
    most = sys.maxsize if limit is None else limit

    # `type(...) is`, not isinstance: the structural nodes have no subclasses, and this runs
    # once for each stage of the network's expansion, up to 100,000.
    def walk(items: tuple[ir.Stage, ...]) -> bool:
        """Append the expansion of `items`; False once `out` holds `most` stages."""
        for stage in items:
            if type(stage) is ir.Group:
                if not walk(stage.stages):
                    return False
            elif type(stage) is ir.Repeat:
                inner = (stage.stage,)
                for _ in range(stage.count):
                    if not walk(inner):
                        return False
            elif type(stage) is ir.BlockRef:
                if not walk(blocks[stage.name]):
                    return False
            else:
                out.append(join(stage) if join is not None and type(stage) is ir.Join else stage)
                if len(out) >= most:
                    return False
        return True

    if most > 0:
        walk(stages)
    return out


def measure(stages: tuple[ir.Stage, ...], blocks: Blocks) -> tuple[int, int]:
    """(number of layers once expanded, those of joins' branches included; nesting depth),
    without expanding anything."""

    @cache
    def block(name: str) -> tuple[int, int]:
        return sequence(blocks[name])

    def sequence(items: tuple[ir.Stage, ...]) -> tuple[int, int]:
        measures = [one(s) for s in items]
        return sum(m[0] for m in measures), max((m[1] for m in measures), default=0)

    def one(stage: ir.Stage) -> tuple[int, int]:
        if isinstance(stage, ir.BlockRef):
            size, depth = block(stage.name)
            return size, depth + 1
        if isinstance(stage, ir.Group):
            size, depth = sequence(stage.stages)
            return size, depth + 1
        if isinstance(stage, ir.Repeat):
            size, depth = one(stage.stage)
            return size * stage.count, depth + 1
        if isinstance(stage, ir.Join):
            measures = [sequence(branch) for branch in stage.branches]
            return sum(m[0] for m in measures), max(m[1] for m in measures) + 1
        return 1, 0

    return sequence(stages)
