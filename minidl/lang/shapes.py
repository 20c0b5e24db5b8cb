"""Shape inference and checking: blocks and repetition expanded, every width known.

Runs on the IR before any tensor exists. Counting comes first, arithmetically, so that a
spec that would expand to millions of stages is refused without expanding it. What it
gives, a `Resolution`, is defined in `minidl.lang.resolution` (its names are re-exported
here, where the importers found them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from minidl.lang import ir
from minidl.lang.carried import Carried, Image, ShapeFault, channels, describe_shape
from minidl.lang.errors import Diagnostic
from minidl.lang.parser import MAX_NESTING, MAX_STAGES
from minidl.lang.resolution import Joined, Layer, Resolution, Resolved
from minidl.lang.walk import Blocks, expand, measure

__all__ = [
    "MAX_STAGES",
    "Carried",
    "Joined",
    "Layer",
    "Resolution",
    "Resolved",
    "data_shape",
    "resolve",
]


def data_shape(spec: ir.Spec) -> tuple[Carried | None, int | None]:
    """Features and targets that the spec's data gives, when known without reading files:
    seeded data (the disk) has its named features and 2 classes, one output each for a loss
    over classes; data with `shape=[C, H, W]`, or images of a given `size` and `channels`,
    give that image."""
    image = spec.data.image()
    if image is not None:
        return image, None
    if not isinstance(spec.data, ir.SeededData):
        return None, None
    return len(spec.data.features), (2 if spec.loss.targets == "classes" else 1)


def resolve(
    spec: ir.Spec, features: Carried | None = None, targets: int | None = None
) -> Resolution:
    """Expand the network and infer and check every width and image.

    `features` and `targets` default to what the spec's data gives (2 and 1 for the disk;
    unknown for CSV data until the file is read). Data that the spec itself shapes as an
    image (`shape=[C, H, W]`) gives that image whatever feature count is passed.
    """
    known = data_shape(spec)
    features = known[0] if features is None or not isinstance(known[0], int | None) else features
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
    features: Carried | None,
    targets: int | None,
    result: Resolution,
    error: Report,
) -> None:
    inference = _Inference(result, error)
    result.network, width, _ = inference.sequence(stages, features, False)
    result.out_features = width
    last = (
        (stages[-1].join if isinstance(stages[-1], _Branches) else stages[-1]) if stages else None
    )
    if last is not None and width is not None and not isinstance(width, int):
        error(
            "E275",
            f"the network ends with the image {describe_shape(width)}, but the loss needs a width",
            last.span,
            "end the network with `Flatten | Linear ->K`",
        )
        return
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
        self, stages: list[ir.LayerWord | _Branches], width: Carried | None, seen_shaped: bool
    ) -> tuple[list[Resolved], Carried | None, bool]:
        """The resolved stages, what comes after them, and whether a shaped word came yet."""
        out: list[Resolved] = []
        for stage in stages:
            if isinstance(stage, _Branches):
                joined, seen_shaped = self.join(stage, width, seen_shaped)
                out.append(joined)
                width = joined.out_features
                continue
            if isinstance(stage, ir.ShapedWord):
                self.check_input(stage, width, seen_shaped)
            layer = self.layer(self.word(stage, width))
            seen_shaped = seen_shaped or isinstance(stage, ir.ShapedWord)
            out.append(layer)
            width = layer.out_features
        return out, width, seen_shaped

    def word(self, word: ir.LayerWord, value: Carried | None) -> Layer:
        """The layer of `word` receiving `value`, its fault (if any) reported at the stage."""
        if value is None:
            if isinstance(word, ir.Linear):  # a width out whatever comes in
                return Layer(word, word.in_features, word.out_features)
            return Layer(word, None, None)
        if isinstance(word, ir.ShapedWord) and word.in_features is not None:
            if isinstance(value, int) and isinstance(word, ir.Linear):
                value = word.in_features
            elif not isinstance(value, int) and not isinstance(word, ir.Linear):
                value = (word.in_features, *value[1:])
        given = word.output(value)
        if isinstance(given, ShapeFault):
            self.error(given.code, given.message, word.span, given.help)
            return Layer(word, value, None)
        return Layer(word, value, given)

    def layer(self, layer: Layer) -> Layer:
        self.result.layers.append(layer)
        return layer

    def check_input(self, stage: ir.ShapedWord, width: Carried | None, seen_shaped: bool) -> None:
        if stage.in_features is None or width is None:
            return
        image = not isinstance(width, int)
        if image != (not isinstance(stage, ir.Linear)) or stage.in_features == channels(width):
            return  # a width where an image is needed (or the reverse) is the word's own fault
        given = channels(width)
        out, name = stage.out_features, stage.kind
        fix = f"write `{name} {given}->{out}`, or `{name} ->{out}` to infer it"
        noun = "channels" if image else "inputs"
        expects = f"{name} expects {stage.in_features} {noun}, but"
        if seen_shaped:
            self.error("E201", f"{expects} the stage before it gives {given}", stage.span, fix)
        else:
            plural = "" if given == 1 else "s"
            images = f"the data's images have {given} channel{plural}"
            data = images if image else f"the data has {given} features"
            self.error("E202", f"{expects} {data}", stage.span, fix)

    def join(
        self, stage: _Branches, width: Carried | None, seen_shaped: bool
    ) -> tuple[Joined, bool]:
        """Each branch from the join's input; `+` needs equal shapes, `&` adds widths (or an
        image's channels)."""
        join = stage.join
        # An unknown entering width is the CSV data's feature count (v3): checked once the
        # file's header gives it, as a first `Linear ->OUT`'s.
        branches: list[tuple[Resolved, ...]] = []
        outs: list[Carried | None] = []
        shaped = seen_shaped
        for branch in stage.branches:
            resolved, out, saw = self.sequence(branch, width, seen_shaped)
            branches.append(tuple(resolved))
            outs.append(out)
            shaped = shaped or saw
        known = [w for w in outs if w is not None]
        total: Carried | None = None
        if len(known) == len(outs):
            total = self.concat(join, known) if join.op == "concat" else known[0]
        if join.op == "sum" and len(set(known)) > 1:
            listed = (
                ", ".join(describe_shape(w) for w in known[:-1])
                + f" and {describe_shape(known[-1])}"
            )
            which = "both branches" if len(outs) == 2 else "every branch"
            fix = (
                f"`+` adds equal widths: end {which} with `Linear ->{known[0]}`"
                if all(isinstance(w, int) for w in known)
                else f"`+` adds equal shapes: make {which} give {describe_shape(known[0])}"
            )
            noun = "widths" if all(isinstance(w, int) for w in known) else "shapes"
            self.error(
                "E204", f"the branches of `+` give different {noun}: {listed}", join.span, fix
            )
        return Joined(join, tuple(branches), width, total), shaped

    def concat(self, join: ir.Join, outs: list[Carried]) -> Carried | None:
        """`&` of widths adds them; of images of one size, adds their channels."""
        widths = [w for w in outs if isinstance(w, int)]
        if len(widths) == len(outs):
            return sum(widths)
        images = [w for w in outs if not isinstance(w, int)]
        sizes = {image[1:] for image in images}
        if len(widths) or len(sizes) > 1:
            listed = (
                ", ".join(describe_shape(w) for w in outs[:-1]) + f" and {describe_shape(outs[-1])}"
            )
            self.error(
                "E274",
                f"`&` joins images of one height and width along their channels, but its "
                f"branches give {listed}",
                join.span,
                "make every branch give an image of one size (pool or pad alike), or "
                "`Flatten` each branch",
            )
            return None
        first: Image = images[0]
        return (sum(image[0] for image in images), first[1], first[2])
