"""The network's expansion: blocks inlined, groups opened, repetitions unrolled, written once.

Shape inference, the linter and the language server's hover read the same expansion:
`walk` visits its stages in order (a join whole; its branches are expanded by whoever needs
them) and stops when told, so that a reader that shows the first few stages never unrolls a
repetition of ten thousand; `measure` counts the stages without expanding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from minidl.lang import ir

__all__ = ["Blocks", "Visit", "measure", "walk"]

Blocks = Mapping[str, tuple[ir.Stage, ...]]
"""The spec's blocks: each name's stages."""

Visit = Callable[[ir.LayerWord | ir.Join], bool]
"""Called on each stage of the expansion; False stops the walk."""


def walk(stages: tuple[ir.Stage, ...], blocks: Blocks, visit: Visit) -> bool:
    """Visit each layer and join of the expanded `stages` in order; False if `visit` stopped it."""
    for stage in stages:
        if isinstance(stage, ir.LayerWord | ir.Join):
            if not visit(stage):
                return False
        elif isinstance(stage, ir.BlockRef):
            if not walk(blocks[stage.name], blocks, visit):
                return False
        elif isinstance(stage, ir.Group):
            if not walk(stage.stages, blocks, visit):
                return False
        else:
            for _ in range(stage.count):
                if not walk((stage.stage,), blocks, visit):
                    return False
    return True


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
