"""Stage 3: syntax nodes to a checked `Spec`, reporting every error with its place and fix.

Names, blocks, repetition, option types and ranges, duplicate statements and sweep keys are
checked here; shapes are checked by `minidl.lang.shapes`, which this stage calls last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from minidl.lang import ir
from minidl.lang.errors import Diagnostic, LineIndex, SpecError, did_you_mean
from minidl.lang.registry import (
    LAYERS,
    LOSSES,
    SHORT_KEYS,
    STATEMENTS,
    option_names,
    settable_keys,
)
from minidl.lang.shapes import resolve
from minidl.lang.syntax import (
    Bare,
    Call,
    Group,
    Let,
    Option,
    Pipeline,
    RepeatStage,
    Shape,
    Statement,
    SyntaxStage,
    Value,
)

__all__ = ["Checker", "check"]

EXAMPLE = "Linear 2->25 | ReLU | Linear 25->1 | Tanh"


def check(statements: Sequence[Statement], text: str, filename: str = "<string>") -> ir.Spec:
    """Give the statements their meaning; raise `SpecError` listing every error found."""
    checker = Checker(text, filename)
    spec = checker.spec(statements)
    if checker.diagnostics or spec is None:
        raise SpecError(checker.diagnostics, text)
    return spec


class Checker:
    """Collects diagnostics while it turns syntax nodes into IR nodes."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.index = LineIndex(text)
        self.diagnostics: list[Diagnostic] = []
        self.failed_blocks: set[str] = set()

    # -- reporting -----------------------------------------------------------------------

    def error(self, code: str, message: str, start: int, end: int, help: str | None = None) -> None:
        line, column = self.index.position(start)
        end_line, end_column = self.index.position(max(end, start + 1))
        diagnostic = Diagnostic(
            code, message, line, column, end_line, end_column, help, self.filename
        )
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)

    def span(self, start: int, end: int) -> ir.Span:
        line, column = self.index.position(start)
        end_line, end_column = self.index.position(end)
        # Four ints just computed here: built without validation, which long networks feel.
        return ir.Span.model_construct(
            line=line, column=column, end_line=end_line, end_column=end_column
        )

    def source(self, node: Value | Option | Call) -> str:
        return self.text[node.start : node.end]

    # -- the whole spec ------------------------------------------------------------------

    def spec(self, statements: Sequence[Statement]) -> ir.Spec | None:
        if not statements:
            self.error("E104", "the spec is empty", 0, 1, f"write a network, such as `{EXAMPLE}`")
            return None
        lets, network, words = self.sort(statements)
        blocks = self.blocks(lets, network)
        stages = None
        if network is not None:
            later = [let for let in lets if let.start > network.start]
            stages = self.stages(network.stages, blocks, None, later)
        fields: dict[str, Any] = {}
        for word in ("loss", "sgd", "train", "data"):
            call = words.get(word)
            if call is not None:
                fields[word] = self.statement(call)
        data_kind = fields["data"].kind if fields.get("data") is not None else "disk"
        if "sweep" in words:
            fields["sweep"] = self.sweep(words["sweep"], data_kind, fields)
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
        spec.attach_text(self.text)
        self.diagnostics.extend(resolve(spec).diagnostics)
        return spec

    def sort(
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
                if head.name in words:
                    self.error(
                        "E121",
                        f"a second `{head.name}` statement",
                        head.start,
                        head.end,
                        "remove one: each statement appears at most once",
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
        self.error("E120", f"unknown statement `{call.name}`", call.start, call.name_end, help)
        return True

    # -- blocks and stages ---------------------------------------------------------------

    def blocks(self, lets: list[Let], network: Pipeline | None) -> dict[str, ir.Block]:
        blocks: dict[str, ir.Block] = {}
        for let in lets:
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
                self.error(
                    "E212",
                    f"block `{let.name}` is defined twice",
                    let.name_start,
                    let.name_end,
                    "rename or remove one of the two",
                )
                continue
            later = [other for other in lets if other.start > let.start]
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
        span = self.span(node.start, node.end)
        if isinstance(node, Group):
            stages = self.stages(node.stages, blocks, defining, later)
            return None if stages is None else ir.Group(stages=stages, span=span)
        if isinstance(node, RepeatStage):
            inner = self.stage(node.stage, blocks, defining, later)
            count = self.repeat_count(node)
            if inner is None or count is None:
                return None
            assert not isinstance(inner, ir.Repeat)
            return ir.Repeat(stage=inner, count=count, span=span)
        return self.call_stage(node, blocks, defining, later)

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
        if call.name == "Linear":
            return self.linear(call, span)
        if call.name in LAYERS or call.name in blocks:
            if not self.no_arguments(call):
                return None
            if call.name in LAYERS:
                return ir.Activation(kind=call.name, span=span)  # type: ignore[arg-type]
            return ir.BlockRef(name=call.name, span=span)
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
            self.error("E200", f"unknown layer or block `{call.name}`", *where, help)

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

    def linear(self, call: Call, span: ir.Span) -> ir.Linear | None:
        shapes = [a for a in call.args if isinstance(a, Shape)]
        others = [a for a in call.args if isinstance(a, Value)]
        ok = True
        for value in others:
            ok = False
            if isinstance(value.value, int) and not isinstance(value.value, bool) and not shapes:
                self.error(
                    "E205",
                    "Linear needs a shape `IN->OUT`",
                    value.start,
                    value.end,
                    f"write `Linear ->{value.value}` to infer IN",
                )
            elif isinstance(value.value, Bare) and value.value in STATEMENTS:
                self.error(
                    "E206",
                    f"`{value.value}` cannot follow a stage",
                    value.start,
                    value.end,
                    f"a `;` is missing before `{value.value}`",
                )
            else:
                self.error(
                    "E135",
                    f"unexpected `{self.source(value)}` after Linear",
                    value.start,
                    value.end,
                    "Linear takes a shape and `bias=true|false`",
                )
        if not shapes and not others:
            self.error(
                "E205",
                "Linear needs a shape `IN->OUT`",
                call.start,
                call.end,
                "write `Linear 2->25`, or `Linear ->25` to infer IN",
            )
            return None
        for extra in shapes[1:]:
            self.error("E135", "Linear takes one shape", extra.start, extra.end, "remove this one")
        bias = self.bias(call)
        if not shapes or not ok or len(shapes) > 1 or bias is None:
            return None
        shape = shapes[0]
        widths = [w for w in (shape.in_features, shape.out_features) if w is not None]
        if any(w < 1 for w in widths):
            self.error(
                "E132",
                "a width must be at least 1",
                shape.start,
                shape.end,
                "write positive widths, such as `Linear 2->25`",
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
        return ir.Linear(
            in_features=shape.in_features, out_features=shape.out_features, bias=bias, span=span
        )

    def bias(self, call: Call) -> bool | None:
        bias = True
        for option in call.options:
            if option.key != "bias":
                guess = did_you_mean(option.key, LAYERS["Linear"].options)
                help = f"did you mean `{guess}`?" if guess else "Linear's only option is `bias`"
                self.error(
                    "E130",
                    f"unknown option `{option.key}` for Linear",
                    option.start,
                    option.key_end,
                    help,
                )
                return None
            if not isinstance(option.value.value, bool):
                self.error(
                    "E131",
                    f"`bias` must be true or false, got `{self.source(option.value)}`",
                    option.value.start,
                    option.value.end,
                    "write `bias=false`",
                )
                return None
            bias = option.value.value
        return bias

    # -- statements ----------------------------------------------------------------------

    def statement(self, call: Call) -> BaseModel | None:
        """Check `loss`, `sgd`, `train` or `data` and build its IR node."""
        entry = STATEMENTS[call.name]
        fields: dict[str, Any] = {}
        model = entry.model if not isinstance(entry.model, dict) else None
        positional = [a for a in call.args if isinstance(a, Value)]
        for arg in [a for a in call.args if isinstance(a, Shape)] + positional[1:]:
            self.error(
                "E135",
                f"unexpected `{self.text[arg.start : arg.end]}` in `{call.name}`",
                arg.start,
                arg.end,
                "options are written `name=value`",
            )
        word = positional[0] if positional and entry.positional else None
        if positional and not entry.positional:
            self.error(
                "E135",
                f"unexpected `{self.source(positional[0])}` in `{call.name}`",
                positional[0].start,
                positional[0].end,
                "write options as `name=value`",
            )
        if isinstance(entry.model, dict):
            variant = self.variant(call, word, entry.model)
            if variant is None:
                return None
            model = variant
        elif word is not None:
            if word.value not in LOSSES:
                guess = did_you_mean(str(word.value), LOSSES)
                help = f"did you mean `{guess}`?" if guess else "losses: " + ", ".join(LOSSES)
                self.error(
                    "E140", f"unknown loss `{self.source(word)}`", word.start, word.end, help
                )
                return None
            fields["name"] = str(word.value)
        assert model is not None
        options = self.options(call, option_names(model))
        if options is None:
            return None
        return self.validate(model, {**fields, **_plain(options)}, call, options)

    def variant(
        self, call: Call, word: Value | None, models: dict[str, type[BaseModel]]
    ) -> type[BaseModel] | None:
        kinds = ", ".join(f"`{call.name} {k}`" for k in models)
        if word is None:
            self.error(
                "E133", f"`{call.name}` needs a source", call.start, call.end, f"write {kinds}"
            )
            return None
        if word.value not in models:
            guess = did_you_mean(str(word.value), models)
            help = f"did you mean `{guess}`?" if guess else f"write {kinds}"
            self.error(
                "E141", f"unknown data source `{self.source(word)}`", word.start, word.end, help
            )
            return None
        return models[str(word.value)]

    def options(self, call: Call, known: Sequence[str]) -> dict[str, Option] | None:
        options: dict[str, Option] = {}
        ok = True
        for option in call.options:
            if option.key in options:
                self.error(
                    "E134",
                    f"option `{option.key}` is given twice",
                    option.start,
                    option.end,
                    "remove one of the two",
                )
                ok = False
            elif option.key not in known:
                guess = did_you_mean(option.key, known)
                help = (
                    f"did you mean `{guess}`?"
                    if guess
                    else f"`{call.name}` takes " + ", ".join(f"`{k}`" for k in known)
                )
                self.error(
                    "E130",
                    f"unknown option `{option.key}` for `{call.name}`",
                    option.start,
                    option.key_end,
                    help,
                )
                ok = False
            options[option.key] = option
        return options if ok else None

    def validate(
        self, model: type[BaseModel], fields: dict[str, Any], call: Call, options: dict[str, Option]
    ) -> BaseModel | None:
        try:
            return model.model_validate({**fields, "span": self.span(call.start, call.end)})
        except ValidationError as caught:
            for problem in caught.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                option = options.get(name)
                node: Value | Call = option.value if option else call
                message, help = describe(problem, name, self.source(node), call.name)
                code = {"missing": "E133"}.get(
                    problem["type"], "E132" if _is_range(problem) else "E131"
                )
                self.error(code, message, node.start, node.end if option else call.name_end, help)
            return None

    # -- sweeps --------------------------------------------------------------------------

    def sweep(self, call: Call, data_kind: str, fields: dict[str, Any]) -> ir.Sweep | None:
        keys = settable_keys(data_kind)
        axes: list[ir.SweepAxis] = []
        runs: int | None = 1
        seen: set[str] = set()
        ok = not self.diagnostics_for(call)
        for option in call.options:
            if option.key == "runs":
                runs = self.validate_runs(option, call)
                continue
            key = SHORT_KEYS.get(option.key, option.key)
            if key in seen:
                self.error(
                    "E223",
                    f"`{key}` is swept twice",
                    option.start,
                    option.end,
                    "merge the two lists into one",
                )
                ok = False
                continue
            seen.add(key)
            axis = self.sweep_axis(option, key, keys, fields)
            ok = ok and axis is not None
            if axis is not None:
                axes.append(axis)
        if runs is None or not ok:
            return None
        return ir.Sweep(axes=tuple(axes), runs=runs, span=self.span(call.start, call.end))

    def diagnostics_for(self, call: Call) -> bool:
        for arg in call.args:
            self.error(
                "E135",
                f"unexpected `{self.text[arg.start : arg.end]}` in `sweep`",
                arg.start,
                arg.end,
                "write `KEY=[V, ...]`, as in `batch=[4, 8]`",
            )
        return bool(call.args)

    def validate_runs(self, option: Option, call: Call) -> int | None:
        swept = self.validate(ir.Sweep, {"runs": option.value.plain()}, call, {"runs": option})
        return swept.runs if isinstance(swept, ir.Sweep) else None

    def sweep_axis(
        self, option: Option, key: str, keys: list[str], fields: dict[str, Any]
    ) -> ir.SweepAxis | None:
        written = option.key.removeprefix("sweep.")
        if key not in keys:
            guess = did_you_mean(written, keys + list(SHORT_KEYS))
            help = f"did you mean `{guess}`?" if guess else "keys are dotted paths such as `sgd.lr`"
            self.error("E220", f"unknown sweep key `{written}`", option.start, option.key_end, help)
            return None
        items = option.value.value
        if not isinstance(items, tuple):
            self.error(
                "E131",
                f"a sweep takes a list of values for `{option.key}`",
                option.value.start,
                option.value.end,
                f"write `{option.key}=[{self.source(option.value)}]`",
            )
            return None
        if not items:
            self.error(
                "E221",
                f"the list for `{option.key}` is empty",
                option.value.start,
                option.value.end,
                "give at least one value",
            )
            return None
        values = [self.setting(key, item, fields) for item in items]
        if any(v is None for v in values):
            return None
        span = self.span(option.start, option.end)
        return ir.SweepAxis(key=key, values=tuple(v for v in values if v is not None), span=span)

    def setting(self, key: str, item: Value, fields: dict[str, Any]) -> ir.Scalar | None:
        """Check one value for a dotted key; return it as the spec would hold it."""
        value, problem = validate_setting(key, item.plain(), fields)
        if problem is not None:
            message, help = describe(problem, key, self.source(item), "sweep")
            self.error("E222", message, item.start, item.end, help)
        return value


def validate_setting(
    key: str, value: object, fields: dict[str, Any]
) -> tuple[ir.Scalar | None, Any]:
    """Validate `value` for `key` (`sgd.lr`) against the statement it belongs to.

    Returns the value as the IR holds it and None, or None and pydantic's error.
    """
    word, name = key.split(".", 1)
    current = fields.get(word) or ir.Spec.model_fields[word].default
    try:
        updated = type(current).model_validate(
            {**current.model_dump(exclude={"span"}), name: value}
        )
    except ValidationError as caught:
        return None, caught.errors()[0]
    return getattr(updated, name), None


def describe(problem: Any, name: str, found: str, word: str) -> tuple[str, str | None]:
    """Turn one pydantic error into a message and a help line, in MDL's words."""
    kind = problem["type"]
    context = problem.get("ctx") or {}
    if kind == "missing":
        return f"`{word}` needs `{name}=...`", f"add `{name}=...`"
    if kind.startswith("int"):
        return f"`{name}` must be an integer, got `{found}`", None
    if kind.startswith("float") or kind == "finite_number":
        return f"`{name}` must be a finite number, got `{found}`", None
    if kind.startswith("bool"):
        return f"`{name}` must be `true` or `false`, got `{found}`", None
    if kind.startswith("string"):
        return f"`{name}` must be a string, got `{found}`", f'write `{name}="..."`'
    if kind == "literal_error":
        choices = [
            c.strip(" '") for c in str(context.get("expected", "")).replace(" or ", ",").split(",")
        ]
        guess = did_you_mean(found.strip('"'), choices)
        help = f"did you mean `{guess}`?" if guess else None
        return f"`{name}` must be one of " + ", ".join(
            f"`{c}`" for c in choices
        ) + f", got `{found}`", help
    if kind in _BOUNDS:
        limit = next(iter(context.values()))
        limit = int(limit) if float(limit).is_integer() else limit
        return f"`{name}` must be {_BOUNDS[kind]} {limit}, got {found}", _RANGE_HELP.get(name)
    return f"`{name}`: {problem['msg'].lower()}", None


_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}
_RANGE_HELP = {
    "lr": "a learning rate is positive, such as `lr=0.001`",
    "batch": "a batch holds at least one sample, such as `batch=16`",
    "epochs": "train for at least one epoch",
    "momentum": "momentum lies in [0, 1), such as `momentum=0.9`",
}


def _is_range(problem: Any) -> bool:
    return str(problem["type"]).startswith(("greater", "less", "too_"))


def _plain(options: dict[str, Option]) -> dict[str, Any]:
    return {key: option.value.plain() for key, option in options.items()}
