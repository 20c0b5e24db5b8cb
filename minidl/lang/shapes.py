"""Shape inference and checking: blocks and repetition expanded, every width known.

Runs on the IR before any tensor exists. Counting comes first, arithmetically, so that a
spec that would expand to millions of stages is refused without expanding it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from minidl.lang import ir
from minidl.lang.errors import Diagnostic
from minidl.lang.parser import MAX_NESTING, MAX_STAGES
from minidl.lang.walk import Blocks, expand, measure

__all__ = ["MAX_STAGES", "Joined", "Layer", "Resolution", "Resolved", "resolve"]


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


@dataclass(frozen=True)
class Joined:
    """A join of the expanded network: each branch's resolved stages, and the join's widths."""

    join: ir.Join
    branches: tuple[tuple[Resolved, ...], ...]
    in_features: int | None
    out_features: int | None

    @property
    def op(self) -> str:
        """`sum` or `concat`."""
        return self.join.op

    @property
    def span(self) -> ir.Span | None:
        """Where the join is written."""
        return self.join.span


Resolved = Layer | Joined
"""One stage of the expanded network: a layer, or a join of branches."""


@dataclass
class Resolution:
    """The expanded network, its parameter count, and what was wrong with its shapes.

    `network` is the expanded network as a tree (joins hold their branches); `layers` is
    every layer of it in spec order, depth first through the branches; `out_features` is
    the network's output width.
    """

    layers: list[Layer] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    network: list[Resolved] = field(default_factory=list)
    out_features: int | None = None

    @property
    def parameters(self) -> int | None:
        counts = [layer.parameters for layer in self.layers]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def data_shape(spec: ir.Spec) -> tuple[int | None, int | None]:
    """Features and targets that the spec's data gives, when known without reading files:
    the disk has 2 features and 2 classes, one output each for a loss over classes."""
    if not isinstance(spec.data, ir.DiskData):
        return None, None
    return 2, (2 if spec.loss.targets == "classes" else 1)


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
    size, depth = measure(spec.network, blocks)
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
    if spec.loss.targets == "classes" and result.out_features == 1 and targets is None:
        error(
            "E208",
            f"{spec.loss.name} needs one output per class, at least 2, but the network gives 1",
            spec.network[-1].span,
            "end the network with `Linear ->K` for K classes, or use `loss BCE` for two",
        )
    total = result.parameters
    if total is not None and total > ir.MAX_PARAMETERS:
        error(
            "E114",
            f"the network has {total:,} parameters, over the limit of {ir.MAX_PARAMETERS:,}",
            spec.span,
            "use narrower or fewer layers",
        )
    return result


@dataclass(frozen=True)
class _Branches:
    """A join with its branches expanded."""

    join: ir.Join
    branches: list[list[ir.LayerWord | _Branches]]


def _expand(
    stages: tuple[ir.Stage, ...], blocks: Blocks, known: dict[int, _Branches] | None = None
) -> list[ir.LayerWord | _Branches]:
    """The expansion, each join's branches expanded too: once for each join written, however
    often a repetition or a block repeats it (`known`, by the node's id; the spec holds them)."""
    known = {} if known is None else known

    def branches(join: ir.Join) -> _Branches:
        found = known.get(id(join))
        if found is None:
            expanded = [_expand(branch, blocks, known) for branch in join.branches]
            found = known[id(join)] = _Branches(join, expanded)
        return found

    return expand(stages, blocks, join=branches)


Report = Callable[[str, str, "ir.Span | None", "str | None"], None]


def _infer(
    stages: list[ir.LayerWord | _Branches],
    features: int | None,
    targets: int | None,
    result: Resolution,
    error: Report,
) -> None:
    inference = _Inference(result, error)
    result.network, width, _ = inference.sequence(stages, features, False)
    result.out_features = width
    if targets is not None and width is not None and width != targets and stages:
        noun = "target" if targets == 1 else "targets"
        outputs = "output" if width == 1 else "outputs"
        error(
            "E203",
            f"the network gives {width} {outputs}, but the data has {targets} {noun}",
            (stages[-1].join if isinstance(stages[-1], _Branches) else stages[-1]).span,
            f"end the network with `Linear ->{targets}`",
        )


@dataclass
class _Inference:
    """Widths through a sequence of stages; each branch of a join starts from its input."""

    result: Resolution
    error: Report

    def sequence(
        self, stages: list[ir.LayerWord | _Branches], width: int | None, seen_shaped: bool
    ) -> tuple[list[Resolved], int | None, bool]:
        """The resolved stages, the width after them, and whether a shaped word came yet."""
        out: list[Resolved] = []
        for stage in stages:
            if isinstance(stage, _Branches):
                joined, seen_shaped = self.join(stage, width, seen_shaped)
                out.append(joined)
                width = joined.out_features
            elif not isinstance(stage, ir.ShapedWord):
                out.append(self.layer(Layer(stage, width, width)))
            else:
                self.check_input(stage, width, seen_shaped)
                n_in = stage.in_features if stage.in_features is not None else width
                seen_shaped = True
                out.append(self.layer(Layer(stage, n_in, stage.out_features)))
                width = stage.out_features
        return out, width, seen_shaped

    def layer(self, layer: Layer) -> Layer:
        self.result.layers.append(layer)
        return layer

    def check_input(self, stage: ir.ShapedWord, width: int | None, seen_shaped: bool) -> None:
        if stage.in_features is None or width is None or stage.in_features == width:
            return
        out, name = stage.out_features, stage.kind
        fix = f"write `{name} {width}->{out}`, or `{name} ->{out}` to infer it"
        expects = f"{name} expects {stage.in_features} inputs, but"
        if seen_shaped:
            self.error("E201", f"{expects} the stage before it gives {width}", stage.span, fix)
        else:
            self.error("E202", f"{expects} the data has {width} features", stage.span, fix)

    def join(self, stage: _Branches, width: int | None, seen_shaped: bool) -> tuple[Joined, bool]:
        """Each branch from the join's input; `+` needs equal widths, `&` adds them."""
        join = stage.join
        symbol = "+" if join.op == "sum" else "&"
        if width is None:
            self.error(
                "E207",
                f"the width entering this `{symbol}` is unknown: the data's features are "
                "known only once its file is read",
                join.span,
                "start the network with `Linear ->N`, so that the join's input width is known",
            )
        branches: list[tuple[Resolved, ...]] = []
        outs: list[int | None] = []
        shaped = seen_shaped
        for branch in stage.branches:
            resolved, out, saw = self.sequence(branch, width, seen_shaped)
            branches.append(tuple(resolved))
            outs.append(out)
            shaped = shaped or saw
        known = [w for w in outs if w is not None]
        total: int | None = None
        if len(known) == len(outs):
            total = sum(known) if join.op == "concat" else known[0]
        if join.op == "sum" and len(set(known)) > 1:
            listed = ", ".join(str(w) for w in known[:-1]) + f" and {known[-1]}"
            which = "both branches" if len(outs) == 2 else "every branch"
            self.error(
                "E204",
                f"the branches of `+` give different widths: {listed}",
                join.span,
                f"`+` adds equal widths: end {which} with `Linear ->{known[0]}`",
            )
        return Joined(join, tuple(branches), width, total), shaped
