"""Every diagnostic of a text: `diagnose` from scratch, and a `Diagnoser` for a text that
changes a little at a time, as an editor's does.

Statements end at `;`, so an edit changes few of them. A `Diagnoser` keeps each statement's
syntax nodes (or its syntax error) by the statement's text, parses only the statements it
has not seen, and moves the others to their new offsets; checking, which relates every
statement to the others, runs in full. Its answer is always `diagnose(text)`'s.

    diagnoser = Diagnoser("x.mdl")
    spec, diagnostics = diagnoser.diagnose(text)   # the first text: parsed whole
    spec, diagnostics = diagnoser.diagnose(edited) # only the changed statements parsed
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lark.exceptions import UnexpectedInput

from minidl.lang.check import check_spec
from minidl.lang.errors import Diagnostic, Reporter, SpecError, sort_diagnostics
from minidl.lang.ir import Spec
from minidl.lang.lint import spec_warnings
from minidl.lang.literals import literal_problems
from minidl.lang.lower import lower
from minidl.lang.parser import (
    MAX_TEXT_BYTES,
    SyntaxProblem,
    is_blank,
    parse_tree,
    parser,
    split_statements,
    syntax_diagnostics,
    syntax_error,
)
from minidl.lang.syntax import (
    Call,
    Distribution,
    Group,
    JoinOp,
    JoinStage,
    Let,
    Option,
    Pipeline,
    RepeatStage,
    Shape,
    Statement,
    SyntaxStage,
    Value,
)

__all__ = ["Diagnoser", "diagnose", "diagnose_statements", "no_garbage_collection"]

Diagnosis = tuple[Spec | None, list[Diagnostic]]

WHOLE_PARSE_AFTER = 16
"""Parse the whole text at once when more statements than this are new: one lark call
costs less than many once most of the text is new (the first version of a file)."""


@contextlib.contextmanager
def no_garbage_collection() -> Iterator[None]:
    """Parsing allocates many small objects and makes no reference cycles; the collector's
    passes over them cost about a tenth of the time on long networks."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def diagnose(text: str, filename: str = "<string>") -> Diagnosis:
    """Every diagnostic of `text`, errors and warnings, and its spec when it has no error.

    Never raises on a bad spec: the call an editor or another tool embeds.
    """
    try:
        with no_garbage_collection():
            statements = lower(parse_tree(text, filename))
    except SpecError as caught:
        return None, list(caught.diagnostics)
    return diagnose_statements(statements, text, filename)


def diagnose_statements(statements: Sequence[Statement], text: str, filename: str) -> Diagnosis:
    """Check statements lowered from `text`: the spec and its warnings, or its errors.

    The expanded network that checking works out is handed to the linter, not worked out twice.
    """
    reporter = Reporter(text, filename)
    with no_garbage_collection():
        spec, resolution = check_spec(statements, reporter)
    if reporter.diagnostics or spec is None:
        return None, sort_diagnostics(reporter.diagnostics)
    return spec, spec_warnings(spec, resolution)


@dataclass(frozen=True)
class _Parsed:
    """One statement's text parsed: its syntax nodes placed at `origin`, or its error.

    `statement` is None for a blank statement (only comments and space) and for one with an
    error; `error` holds offsets relative to the statement's start.
    """

    origin: int
    statement: Statement | None
    error: SyntaxProblem | None = None


class Diagnoser:
    """`diagnose` for successive versions of one file, reusing the statements that did not change.

    Not thread-safe: one document's versions are diagnosed one at a time.
    """

    def __init__(self, filename: str = "<string>") -> None:
        self.filename = filename
        self._known: dict[tuple[str, bool], _Parsed] = {}

    def diagnose(self, text: str) -> Diagnosis:
        """Every diagnostic of `text`, and its spec when it has no error: `diagnose(text)`."""
        bounds, deep, crowded = split_statements(text)
        size = len(text.encode("utf-8", "surrogatepass"))
        if deep is not None or crowded is not None or size > MAX_TEXT_BYTES:
            self._known = {}
            return diagnose(text, self.filename)  # an error about the whole text
        keys = [(text[start:end], end == len(text)) for start, end in bounds]
        if sum(key not in self._known for key in keys) > WHOLE_PARSE_AFTER:
            self._parse_whole(text, bounds, keys)
        known: dict[tuple[str, bool], _Parsed] = {}
        statements: list[Statement] = []
        errors: list[tuple[int, SyntaxProblem]] = []
        blank_inside = False  # an empty statement before the last: `;;`
        with no_garbage_collection():
            for index, ((start, _), key) in enumerate(zip(bounds, keys, strict=True)):
                parsed = known.get(key) or self._known.get(key) or _parse_one(*key, start)
                known[key] = parsed
                if parsed.error is not None:
                    errors.append((start, parsed.error))
                elif parsed.statement is not None:
                    statements.append(_moved(parsed.statement, start - parsed.origin))
                elif index < len(bounds) - 1:
                    blank_inside = True
        self._known = known
        if errors or blank_inside:
            return None, self._syntax_errors(text, bounds, errors)
        return diagnose_statements(statements, text, self.filename)

    def _parse_whole(
        self, text: str, bounds: list[tuple[int, int]], keys: list[tuple[str, bool]]
    ) -> None:
        """Parse all of `text` in one call and learn its statements, unless it has an error.

        Then every statement but a blank last one holds one statement of the tree, in order.
        """
        try:
            with no_garbage_collection():
                tree = parser().parse(text, start="spec")
        except UnexpectedInput:
            return
        if literal_problems(tree):
            return  # each statement alone then reports its own
        with no_garbage_collection():
            statements = iter(lower(tree))
        for (start, _), key in zip(bounds, keys, strict=True):
            blank = is_blank(key[0])
            self._known[key] = _Parsed(start, None if blank else next(statements))

    def _syntax_errors(
        self, text: str, bounds: list[tuple[int, int]], errors: list[tuple[int, SyntaxProblem]]
    ) -> list[Diagnostic]:
        """The diagnostics `parse_tree` gives a text with syntax errors, in its order."""
        problems = [
            (code, message, start + at, start + end, help)
            for start, (code, message, at, end, help) in errors
        ]
        return syntax_diagnostics(Reporter(text, self.filename), bounds, problems)


def _parse_one(chunk: str, last: bool, start: int) -> _Parsed:
    """Parse one statement's text alone, as `parse_tree` does after a syntax error."""
    try:
        tree = parser().parse(chunk, start="spec")
    except UnexpectedInput as caught:
        # What follows the statement matters to the message: its `;`, or the end of the file.
        context = chunk if last else chunk + ";"
        return _Parsed(0, None, syntax_error(caught, context, 0, len(chunk)))
    oversized = literal_problems(tree)
    if oversized:
        return _Parsed(0, None, oversized[0])
    statements = lower(tree)
    return _Parsed(start, _moved(statements[0], start) if statements else None)


# -- moving syntax nodes to new offsets --------------------------------------------------


def _moved(statement: Statement, by: int) -> Statement:
    if by == 0:
        return statement
    if isinstance(statement, Let):
        s = statement
        return Let(
            s.name,
            _pipeline(s.body, by),
            s.start + by,
            s.end + by,
            s.name_start + by,
            s.name_end + by,
        )
    return _pipeline(statement, by)


def _pipeline(pipeline: Pipeline, by: int) -> Pipeline:
    stages = tuple(_stage(s, by) for s in pipeline.stages)
    return Pipeline(stages, pipeline.start + by, pipeline.end + by)


def _stage(stage: SyntaxStage, by: int) -> SyntaxStage:
    if isinstance(stage, Call):
        return _call(stage, by)
    if isinstance(stage, JoinStage):
        branches = tuple(_operand(b, by) for b in stage.branches)
        ops = tuple(JoinOp(op.symbol, op.start + by, op.end + by) for op in stage.ops)
        return JoinStage(branches, ops, stage.start + by, stage.end + by)
    return _operand(stage, by)


def _operand(stage: Call | Group | RepeatStage, by: int) -> Call | Group | RepeatStage:
    if isinstance(stage, Call):
        return _call(stage, by)
    if isinstance(stage, Group):
        return Group(tuple(_stage(s, by) for s in stage.stages), stage.start + by, stage.end + by)
    inner = _operand(stage.stage, by)
    assert not isinstance(inner, RepeatStage)
    return RepeatStage(inner, stage.count, stage.start + by, stage.end + by, stage.count_start + by)


def _call(call: Call, by: int) -> Call:
    args = tuple(
        Shape(a.in_features, a.out_features, a.start + by, a.end + by)
        if isinstance(a, Shape)
        else _value(a, by)
        for a in call.args
    )
    options = tuple(
        Option(o.key, _value(o.value, by), o.start + by, o.end + by, o.key_end + by)
        for o in call.options
    )
    return Call(call.name, args, options, call.start + by, call.end + by, call.name_end + by)


def _value(value: Value, by: int) -> Value:
    inner = value.value
    if isinstance(inner, tuple):
        inner = tuple(_value(v, by) for v in inner)
    elif isinstance(inner, Distribution):
        args = tuple(_value(v, by) for v in inner.args)
        inner = Distribution(inner.name, args, inner.name_end + by)
    return Value(inner, value.start + by, value.end + by)
