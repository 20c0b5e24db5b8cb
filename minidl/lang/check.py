"""Stage 3: syntax nodes to a checked `Spec`, reporting every error with its place and fix.

Names, blocks, repetition and duplicate statements are checked here; options and sweeps by
`minidl.lang.options`, shapes by `minidl.lang.shapes`, which this stage calls last.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache
from typing import Any, Literal

from minidl.lang import ir
from minidl.lang.dtype_limits import overflowing_option
from minidl.lang.errors import SpecError, did_you_mean
from minidl.lang.layer_words import LayerWord
from minidl.lang.memory import memory_problem
from minidl.lang.options import OptionChecker, _plain
from minidl.lang.registry import LAYERS, STATEMENTS, option_names
from minidl.lang.shapes import Resolution, data_shape, resolve
from minidl.lang.syntax import (
    Bare,
    Call,
    Group,
    Join,
    Let,
    Option,
    Pipeline,
    RepeatStage,
    Shape,
    Statement,
    SyntaxStage,
    Value,
)

__all__ = ["Checker", "check", "stopping_problem", "warmup_problem"]


def warmup_problem(schedule: ir.Schedule, train: ir.Train) -> tuple[str, str] | None:
    """A warm-up as long as the training, which leaves no epoch to schedule: (message, help)."""
    if schedule.warmup < train.epochs:
        return None
    return (
        f"a warm-up of {schedule.warmup} epoch{'s' * (schedule.warmup != 1)} leaves none of "
        f"the {train.epochs} to schedule",
        f"use `warmup={max(0, train.epochs - 1)}` or fewer, or train longer",
    )


def stopping_problem(
    train: ir.Train, data: ir.Data, swept: Collection[str] = ()
) -> tuple[str, str, str, str] | None:
    """Early stopping that cannot work: `patience` (set, or among the `swept` keys) with no
    validation set to watch (E260): (code, option, message, help)."""
    patience = train.patience is not None or "train.patience" in swept
    if patience and data.validation is None and "data.validation" not in swept:
        return (
            "E260",
            "patience",
            "`patience` stops on the validation loss, but the data has no `validation` set",
            "add `validation=0.2` to the `data` statement (or remove `patience`)",
        )
    return None


def _place(node: Option | Call) -> tuple[int, int]:
    return node.start, node.end


EXAMPLE = "Linear 2->25 | ReLU | Linear 25->1 | Tanh"
FIRST = "first defined here"
"""The note of a second definition's `related` place: where the first one is."""

_option_names = cache(option_names)
"""A word's options, looked up once per word: pydantic's `model_fields` is slow to read."""


def check(statements: Sequence[Statement], text: str, filename: str = "<string>") -> ir.Spec:
    """Give the statements their meaning; raise `SpecError` listing every error found."""
    checker = Checker(text, filename)
    spec = checker.spec(statements)
    if checker.diagnostics or spec is None:
        raise SpecError(checker.diagnostics, text)
    return spec


class Checker(OptionChecker):
    """Turns syntax nodes into IR nodes, collecting a diagnostic for every mistake."""

    def __init__(self, text: str, filename: str) -> None:
        super().__init__(text, filename)
        self.failed_blocks: set[str] = set()
        self.resolution: Resolution | None = None
        """The network expanded, once the spec has no other error (the linter reuses it)."""

    # -- the whole spec ------------------------------------------------------------------

    def spec(self, statements: Sequence[Statement]) -> ir.Spec | None:
        if not statements:
            self.error("E104", "the spec is empty", 0, 1, f"write a network, such as `{EXAMPLE}`")
            return None
        lets, network, words = self.partition(statements)
        blocks = self.blocks(lets, network)
        stages = None
        if network is not None:
            later = [let for let in lets if let.start > network.start]
            stages = self.stages(network.stages, blocks, None, later)
        fields: dict[str, Any] = {}
        for word, call in words.items():
            if word != "sweep":
                fields[STATEMENTS[word].field] = self.statement(call)
        if "sweep" in words:
            fields["sweep"] = self.sweep(words["sweep"], fields)
        self.across_statements(fields, words)
        if network is None:
            self.error("E122", "the spec has no network", 0, 1, f"add one, such as `{EXAMPLE}`")
        if self.diagnostics or stages is None or any(v is None for v in fields.values()):
            return None
        assert network is not None
        spec = ir.Spec(
            blocks=tuple(blocks.values()),
            network=stages,
            span=self.span(network.start, network.end),
            source=None if self.filename.startswith("<") else self.filename,
            **fields,
        )
        self.resolution = resolve(spec)
        self.diagnostics.extend(self.resolution.diagnostics)
        features = data_shape(spec)[0]
        if (
            isinstance(spec.data, ir.SeededData)
            and isinstance(features, int)
            and not self.diagnostics
        ):
            rows = max(spec.data.train, spec.data.test)
            problem = memory_problem(spec, features, rows, self.resolution)
            self.diagnostics.extend([problem] if problem is not None else [])
        return spec

    def across_statements(self, fields: dict[str, Any], words: dict[str, Call]) -> None:
        """Mistakes that involve two statements: a warm-up as long as the training, a
        table's columns named twice or a task its loss cannot learn, early stopping without
        a validation set."""
        schedule, train = fields.get("schedule"), fields.get("train")
        optimizer = fields.get("optimizer")
        overflow = optimizer and overflowing_option(optimizer, (train or ir.Train()).dtype)
        if overflow:
            name, message, help = overflow
            call = next(c for w, c in words.items() if STATEMENTS[w].field == "optimizer")
            option = next((o for o in call.options if o.key == name), None)
            self.error("E172", message, *_place(option or call), help)
        problem = warmup_problem(schedule or ir.Schedule(), train or ir.Train())
        if problem is not None:
            call = words["schedule"]
            option = next((o for o in call.options if o.key == "warmup"), None)
            where = (option.start, option.end) if option else (call.start, call.end)
            self.error("E136", *problem[:1], *where, problem[1])
        data, loss = fields.get("data"), fields.get("loss") or ir.MSE()
        if isinstance(data, ir.CsvData) and "data" in words:
            self.columns_once(words["data"])
            self.task_and_loss(data, loss, words["data"])
        train, sweep = fields.get("train"), fields.get("sweep")
        if train is None or data is None:
            return
        swept = [axis.key for axis in sweep.axes] if sweep is not None else []
        stopping = stopping_problem(train, data, swept)
        if stopping is not None:
            code, name, message, help = stopping
            calls = [words[w] for w in ("train", "sweep") if w in words]
            found = [o for c in calls for o in c.options if o.key in (name, f"train.{name}")]
            where = (found[0].start, found[0].end) if found else (calls[0].start, calls[0].end)
            self.error(code, message, *where, help)

    def columns_once(self, call: Call) -> None:
        """E330: a column named twice among `target`, `categorical` and `ignore`."""
        seen: dict[str, str] = {}
        for option in call.options:
            if option.key not in ("target", "categorical", "ignore"):
                continue
            items = option.value.value
            values = list(items) if isinstance(items, tuple) else [option.value]
            for value in values:
                name = str(value.plain())
                if name in seen:
                    where = "twice" if seen[name] == option.key else (
                        f"in `{seen[name]}` and in `{option.key}`"
                    )  # fmt: skip
                    self.error(
                        "E330",
                        f"column `{name}` is named {where}",
                        value.start,
                        value.end,
                        "name each column once: a target, a categorical feature or an ignored one",
                    )
                seen.setdefault(name, option.key)

    def task_and_loss(self, data: ir.CsvData, loss: Any, call: Call) -> None:
        """E331: values to predict (`task=regress`, several targets) with a loss over classes."""
        if loss.name in ("MSE", "L1", "Huber") or data.task == "classify":
            return
        if data.task != "regress" and len(data.targets) == 1:
            return
        key = "task" if data.task == "regress" else "target"
        option = next((o for o in call.options if o.key == key), None)
        where = (option.value.start, option.value.end) if option else (call.start, call.end)
        why = "`task=regress`" if key == "task" else "several target columns"
        self.error(
            "E331",
            f"{why} means numbers to predict, but `loss {loss.name}` compares classes",
            *where,
            "use `loss MSE`, `loss L1` or `loss Huber`, or `task=classify` with one target "
            "column of classes",
        )

    def partition(
        self, statements: Sequence[Statement]
    ) -> tuple[list[Let], Pipeline | None, dict[str, Call]]:
        """Split the statements into blocks, the network and the other statements."""
        lets: list[Let] = []
        network: Pipeline | None = None
        words: dict[str, Call] = {}
        for statement in statements:
            if isinstance(statement, Let):
                lets.append(statement)
                continue
            head = statement.stages[0]
            lone = isinstance(head, Call) and len(statement.stages) == 1
            if lone and isinstance(head, Call) and head.name in STATEMENTS:
                field = STATEMENTS[head.name].field
                twin = next((w for w in words if STATEMENTS[w].field == field), None)
                first = () if twin is None else ((words[twin].start, words[twin].end, FIRST),)
                if twin is not None and twin != head.name:
                    self.error(
                        "E121",
                        f"a second {STATEMENTS[head.name].noun} statement (`{twin}` is one)",
                        head.start,
                        head.end,
                        f"a spec has one {STATEMENTS[head.name].noun}: remove one",
                        related=first,
                    )
                    continue
                if twin is not None:
                    self.error(
                        "E121",
                        f"a second `{head.name}` statement",
                        head.start,
                        head.end,
                        "remove one: each statement appears at most once",
                        related=first,
                    )
                words[head.name] = head
            elif lone and isinstance(head, Call) and self.unknown_statement(head, lets):
                continue
            elif network is not None:
                self.error(
                    "E123",
                    "a second network",
                    statement.start,
                    statement.end,
                    "a spec has one network: join them with `|`, or remove one",
                )
            else:
                network = statement
        return lets, network, words

    def unknown_statement(self, call: Call, lets: list[Let]) -> bool:
        """Report a lone word that looks like a misspelt statement (`los MSE`, `sgd2 lr=1`)."""
        if call.name in LAYERS or any(let.name == call.name for let in lets):
            return False
        guess = did_you_mean(call.name, [*STATEMENTS, "let"])
        if guess is None and not call.options:
            return False
        help = f"did you mean `{guess}`?" if guess else "statements: " + ", ".join(STATEMENTS)
        message = f"unknown statement `{call.name}`"
        self.error("E120", message, call.start, call.name_end, help, replacement=guess)
        return True

    # -- blocks and stages ---------------------------------------------------------------

    def blocks(self, lets: list[Let], network: Pipeline | None) -> dict[str, ir.Block]:
        blocks: dict[str, ir.Block] = {}
        defined: dict[str, Let] = {}
        for position, let in enumerate(lets):
            if let.name in LAYERS or let.name in STATEMENTS:
                self.error(
                    "E212",
                    f"`{let.name}` is a built-in word and cannot name a block",
                    let.name_start,
                    let.name_end,
                    "choose another name",
                )
                continue
            if let.name in blocks:
                first = defined[let.name]
                self.error(
                    "E212",
                    f"block `{let.name}` is defined twice",
                    let.name_start,
                    let.name_end,
                    "rename or remove one of the two",
                    related=((first.name_start, first.name_end, FIRST),),
                )
                continue
            defined.setdefault(let.name, let)
            later = lets[position + 1 :]  # statements come in source order
            stages = self.stages(let.body.stages, blocks, let.name, later)
            if stages is None:
                self.failed_blocks.add(let.name)
            else:
                span = self.span(let.start, let.end)
                blocks[let.name] = ir.Block(name=let.name, stages=stages, span=span)
        if network is not None:
            for let in lets:
                if let.start > network.start and let.name in blocks:
                    del blocks[let.name]
        return blocks

    def stages(
        self,
        nodes: Sequence[SyntaxStage],
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> tuple[ir.Stage, ...] | None:
        stages = [self.stage(node, blocks, defining, later) for node in nodes]
        if any(stage is None for stage in stages):
            return None
        return tuple(s for s in stages if s is not None)

    def stage(
        self,
        node: SyntaxStage,
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> ir.Stage | None:
        if isinstance(node, Call):
            return self.call_stage(node, blocks, defining, later)
        if isinstance(node, Join):
            return self.join(node, blocks, defining, later)
        span = self.span(node.start, node.end)
        if isinstance(node, Group):
            stages = self.stages(node.stages, blocks, defining, later)
            return None if stages is None else ir.Group(stages=stages, span=span)
        inner = self.stage(node.stage, blocks, defining, later)
        count = self.repeat_count(node)
        if inner is None or count is None:
            return None
        assert not isinstance(inner, ir.Repeat)
        return ir.Repeat(stage=inner, count=count, span=span)

    def join(
        self,
        node: Join,
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> ir.Stage | None:
        """`A + B` or `A & B`: one operator at one level; each branch a stage or a group."""
        first = node.ops[0].symbol
        mixed = next((op for op in node.ops if op.symbol != first), None)
        if mixed is not None:
            self.error(
                "E216",
                f"`{first}` and `{mixed.symbol}` are mixed at one level",
                mixed.start,
                mixed.end,
                f"add parentheses: `(A {first} B) {mixed.symbol} C`"
                f" or `A {first} (B {mixed.symbol} C)`",
            )
        branches: list[tuple[ir.Stage, ...] | None] = []
        for operand in node.branches:
            if isinstance(operand, Group) and not operand.stages:
                self.error(
                    "E217",
                    f"an empty branch of `{first}`",
                    operand.start,
                    operand.end,
                    "put a stage in it: `Identity` passes its input on",
                )
                branches.append(None)
            elif isinstance(operand, Group):
                branches.append(self.stages(operand.stages, blocks, defining, later))
            else:
                stage = self.stage(operand, blocks, defining, later)
                branches.append(None if stage is None else (stage,))
        if mixed is not None or any(branch is None for branch in branches):
            return None
        op: Literal["sum", "concat"] = "sum" if first == "+" else "concat"
        kept = tuple(branch for branch in branches if branch is not None)
        return ir.Join(op=op, branches=kept, span=self.span(node.start, node.end))

    def repeat_count(self, node: RepeatStage) -> int | None:
        if node.count < 1:
            self.error(
                "E215",
                f"a stage repeated {node.count} times",
                node.count_start,
                node.end,
                "the count after `*` is at least 1",
            )
            return None
        if node.count > ir.MAX_REPEAT:
            self.error(
                "E113",
                f"repetition count {node.count:,} is over the limit of {ir.MAX_REPEAT:,}",
                node.count_start,
                node.end,
                "repeat a block that is itself repeated, within the limits",
            )
            return None
        return node.count

    def call_stage(
        self, call: Call, blocks: dict[str, ir.Block], defining: str | None, later: Sequence[Let]
    ) -> ir.Stage | None:
        span = self.span(call.start, call.end)
        word = LAYERS.get(call.name)
        if word is not None:
            return self.layer(call, word, span)
        if call.name in blocks:
            return ir.BlockRef(name=call.name, span=span) if self.no_arguments(call) else None
        self.unknown_stage(call, blocks, defining, later)
        return None

    def unknown_stage(
        self, call: Call, blocks: dict[str, ir.Block], defining: str | None, later: Sequence[Let]
    ) -> None:
        where = call.start, call.name_end
        if call.name in self.failed_blocks:
            return  # its `let` has an error of its own
        if call.name == defining:
            self.error(
                "E211",
                f"block `{call.name}` refers to itself",
                *where,
                "a block cannot contain itself; repeat it with `* N` instead",
            )
        elif any(let.name == call.name for let in later):
            self.error(
                "E213",
                f"block `{call.name}` is used before its `let`",
                *where,
                f"move `let {call.name} = ...` above this line",
            )
        elif call.name in STATEMENTS:
            self.error(
                "E124",
                f"`{call.name}` is a statement, not a stage",
                *where,
                f"end the network with `;` before `{call.name}`",
            )
        else:
            guess = did_you_mean(call.name, list(LAYERS) + list(blocks))
            help = f"did you mean `{guess}`?" if guess else "stages: " + ", ".join(LAYERS)
            message = f"unknown layer or block `{call.name}`"
            self.error("E200", message, *where, help, replacement=guess)

    def no_arguments(self, call: Call) -> bool:
        extras: list[Value | Shape | Option] = [*call.args, *call.options]
        if not extras:
            return True
        first = extras[0]
        if isinstance(first, Value) and isinstance(first.value, Bare) and first.value in STATEMENTS:
            help = f"a `;` is missing before `{first.value}`"
        else:
            help = f"remove `{self.text[first.start : extras[-1].end]}`"
        self.error("E206", f"`{call.name}` takes no arguments", first.start, extras[-1].end, help)
        return False

    def layer(self, call: Call, word: type[LayerWord], span: ir.Span) -> ir.Stage | None:
        """Check a layer word's shape and options against its entry; build its IR node."""
        known = _option_names(word)
        if not word.takes_shape and not known:
            return word.model_validate({"span": span}) if self.no_arguments(call) else None
        fields: dict[str, Any] = {}
        if word.takes_shape:
            shape = self.shape(call)
            if shape is None:
                return None
            fields = {"in_features": shape.in_features, "out_features": shape.out_features}
        else:
            stray = [a for a in call.args]
            for value in stray:
                self.stray_argument(call, value, known)
            if stray:
                return None
        options = self.options(call, known, quoted=False)
        if options is None:
            return None
        node = self.validate(word, {**fields, **_plain(options)}, call, options)
        return node if isinstance(node, LayerWord) else None

    def shape(self, call: Call) -> Shape | None:
        """The one shape `IN->OUT` of a shaped word, its widths in range."""
        shapes = [a for a in call.args if isinstance(a, Shape)]
        others = [a for a in call.args if isinstance(a, Value)]
        for value in others:
            if isinstance(value.value, int) and not isinstance(value.value, bool) and not shapes:
                self.error(
                    "E205",
                    f"{call.name} needs a shape `IN->OUT`",
                    value.start,
                    value.end,
                    f"write `{call.name} ->{value.value}` to infer IN",
                )
            else:
                self.stray_argument(call, value, _option_names(LAYERS[call.name]))
        if not shapes and not others:
            self.error(
                "E205",
                f"{call.name} needs a shape `IN->OUT`",
                call.start,
                call.end,
                f"write `{call.name} 2->25`, or `{call.name} ->25` to infer IN",
            )
            return None
        for extra in shapes[1:]:
            self.error(
                "E135", f"{call.name} takes one shape", extra.start, extra.end, "remove this one"
            )
        if not shapes or others or len(shapes) > 1:
            return None
        shape = shapes[0]
        widths = [w for w in (shape.in_features, shape.out_features) if w is not None]
        if any(w < 1 for w in widths):
            self.error(
                "E132",
                "a width must be at least 1",
                shape.start,
                shape.end,
                f"write positive widths, such as `{call.name} 2->25`",
            )
            return None
        if any(w > ir.MAX_WIDTH for w in widths):
            self.error(
                "E112",
                f"a width of {max(widths):,} is over the limit of {ir.MAX_WIDTH:,}",
                shape.start,
                shape.end,
                "use narrower layers",
            )
            return None
        return shape

    def stray_argument(self, call: Call, value: Value | Shape, known: Sequence[str]) -> None:
        """A value without `name=` after a layer word: a missing `;`, or a missing name."""
        if isinstance(value, Value) and isinstance(value.value, Bare) and value.value in STATEMENTS:
            self.error(
                "E206",
                f"`{value.value}` cannot follow a stage",
                value.start,
                value.end,
                f"a `;` is missing before `{value.value}`",
            )
            return
        if isinstance(value, Value) and isinstance(value.value, Bare) and value.value in LAYERS:
            help = f"a `|` is missing before `{value.value}`"
        elif len(known) == 1 and isinstance(value, Value) and not isinstance(value.value, Bare):
            help = f"write `{known[0]}={self.source(value)}`"
        else:
            shape = "a shape `IN->OUT`" if LAYERS[call.name].takes_shape else ""
            takes = " and ".join([shape] * bool(shape) + [f"`{k}=...`" for k in known])
            help = f"{call.name} takes " + (takes or "no arguments")
        self.error(
            "E135",
            f"unexpected `{self.source(value)}` after {call.name}",
            value.start,
            value.end,
            help,
        )
