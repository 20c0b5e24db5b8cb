"""Shape inference and checking: blocks and repetition expanded, every width known.

Runs on the IR before any tensor exists. Counting comes first, arithmetically, so that a
spec that would expand to millions of stages is refused without expanding it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from minidl.lang import ir
from minidl.lang.errors import Diagnostic
from minidl.lang.parser import MAX_NESTING, MAX_STAGES

__all__ = ["MAX_STAGES", "Layer", "Resolution", "resolve"]


@dataclass(frozen=True)
class Layer:
    """One stage of the expanded network, with its widths (None where not yet known)."""

    word: ir.LayerWord
    in_features: int | None
    out_features: int | None

    @property
    def kind(self) -> str:
        """The layer word's name: `Linear`, `ReLU`, ..."""
        return self.word.kind

    @property
    def span(self) -> ir.Span | None:
        """Where the stage is written."""
        return self.word.span

    @property
    def parameters(self) -> int | None:
        if self.in_features is None or self.out_features is None:
            # Unknown, unless the word never has parameters (it keeps LayerWord's count).
            learns = type(self.word).parameters is not ir.LayerWord.parameters
            return None if learns else 0
        return self.word.parameters(self.in_features, self.out_features)


@dataclass
class Resolution:
    """The expanded network, its parameter count, and what was wrong with its shapes."""

    layers: list[Layer] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def parameters(self) -> int | None:
        counts = [layer.parameters for layer in self.layers]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def data_shape(spec: ir.Spec) -> tuple[int | None, int | None]:
    """Features and targets that the spec's data gives, when known without reading files."""
    return (2, 1) if isinstance(spec.data, ir.DiskData) else (None, None)


def resolve(spec: ir.Spec, features: int | None = None, targets: int | None = None) -> Resolution:
    """Expand the network and infer and check every width.

    `features` and `targets` default to what the spec's data gives (2 and 1 for the disk;
    unknown for CSV data until the file is read).
    """
    known = data_shape(spec)
    features = known[0] if features is None else features
    targets = known[1] if targets is None else targets
    result = Resolution()
    filename = spec.source or "<string>"

    def error(code: str, message: str, span: ir.Span | None, help: str | None) -> None:
        d = Diagnostic.at(span or spec.span, code, message, help, filename)
        if d not in result.diagnostics:
            result.diagnostics.append(d)

    blocks = {block.name: block.stages for block in spec.blocks}
    size, depth = _measure(spec.network, blocks)
    if depth > MAX_NESTING:
        error(
            "E111",
            f"groups, blocks and repetitions nest {depth} deep, over the limit of {MAX_NESTING}",
            spec.span,
            "flatten the network",
        )
        return result
    if size > MAX_STAGES:
        error(
            "E115",
            f"the network expands to {size:,} stages, over the limit of {MAX_STAGES:,}",
            spec.span,
            "use fewer repetitions",
        )
        return result
    _infer(_expand(spec.network, blocks), features, targets, result, error)
    total = result.parameters
    if total is not None and total > ir.MAX_PARAMETERS:
        error(
            "E114",
            f"the network has {total:,} parameters, over the limit of {ir.MAX_PARAMETERS:,}",
            spec.span,
            "use narrower or fewer layers",
        )
    return result


def _measure(
    stages: tuple[ir.Stage, ...], blocks: dict[str, tuple[ir.Stage, ...]]
) -> tuple[int, int]:
    """(number of stages once expanded, nesting depth), without expanding anything."""

    @cache
    def block(name: str) -> tuple[int, int]:
        return sequence(blocks[name])

    def sequence(items: tuple[ir.Stage, ...]) -> tuple[int, int]:
        measures = [one(s) for s in items]
        return sum(m[0] for m in measures), max(m[1] for m in measures)

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
        return 1, 0

    return sequence(stages)


def _expand(
    stages: tuple[ir.Stage, ...], blocks: dict[str, tuple[ir.Stage, ...]]
) -> list[ir.LayerWord]:
    out: list[ir.LayerWord] = []

    def walk(stage: ir.Stage) -> None:
        if isinstance(stage, ir.LayerWord):
            out.append(stage)
        elif isinstance(stage, ir.BlockRef):
            for inner in blocks[stage.name]:
                walk(inner)
        elif isinstance(stage, ir.Group):
            for inner in stage.stages:
                walk(inner)
        else:
            for _ in range(stage.count):
                walk(stage.stage)

    for stage in stages:
        walk(stage)
    return out


def _infer(
    stages: list[ir.LayerWord],
    features: int | None,
    targets: int | None,
    result: Resolution,
    error: object,
) -> None:
    assert callable(error)
    width = features
    seen_shaped = False
    for stage in stages:
        if not isinstance(stage, ir.ShapedWord):
            result.layers.append(Layer(stage, width, width))
            continue
        n_in = stage.in_features if stage.in_features is not None else width
        if stage.in_features is not None and width is not None and stage.in_features != width:
            out, name = stage.out_features, stage.kind
            fix = f"write `{name} {width}->{out}`, or `{name} ->{out}` to infer it"
            expects = f"{name} expects {stage.in_features} inputs, but"
            if seen_shaped:
                error("E201", f"{expects} the stage before it gives {width}", stage.span, fix)
            else:
                error("E202", f"{expects} the data has {width} features", stage.span, fix)
        seen_shaped = True
        result.layers.append(Layer(stage, n_in, stage.out_features))
        width = stage.out_features
    if targets is not None and width is not None and width != targets and stages:
        noun = "target" if targets == 1 else "targets"
        error(
            "E203",
            f"the network gives {width} outputs, but the data has {targets} {noun}",
            stages[-1].span,
            f"end the network with `Linear ->{targets}`",
        )
