"""Stage 1: text to lark trees, with syntax errors turned into diagnostics.

The grammar (`grammar/mdl.lark`) is loaded once, as an LALR parser. A file with a syntax error
is split at its `;` and each statement parsed alone, so that one typo does not hide the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import lark.lexer
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from minidl.lang.errors import Diagnostic, Reporter, SpecError, sort_diagnostics
from minidl.lang.literals import literal_problems

__all__ = [
    "MAX_NESTING",
    "MAX_STAGES",
    "MAX_TEXT_BYTES",
    "SyntaxProblem",
    "grammar_text",
    "is_blank",
    "parse_tree",
    "parser",
    "split_statements",
    "syntax_diagnostics",
    "syntax_error",
]

MAX_TEXT_BYTES = 1 << 20
MAX_NESTING = 64
MAX_STAGES = 100_000

TERMINALS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "SHAPE": "a shape `IN->OUT`",
    "SEMI": "`;`",
    "BAR": "`|`",
    "STAR": "`*`",
    "PLUS": "`+`",
    "AMP": "`&`",
    "EQUAL": "`=`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "LET": "`let`",
    "$END": "the end of the file",
}
ORDER = list(TERMINALS)
VALUE_TERMINALS = {"NAME", "INT", "FLOAT", "STRING", "LSQB"}

# Strings, comments, and the characters that delimit statements and groups.
_STRUCTURE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[;()|]')


def grammar_text() -> str:
    """The text of `mdl.lark`: from the installed package, else from the source tree."""
    try:
        return resources.files("minidl.grammar").joinpath("mdl.lark").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        source_tree = Path(__file__).resolve().parents[2] / "grammar" / "mdl.lark"
        return source_tree.read_text("utf-8")


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The MDL parser, built once: LALR, starts `spec` and `assignment`.

    MDL's tokens do not depend on context, so the basic lexer does: it builds ten times
    faster than lark's contextual one, which matters to a command that answers in 0.3 s.
    For the same reason lark's check of terminal collisions (with interegular, when it is
    installed: over 100 ms) is left to the test suite, which builds the grammar in strict
    mode; the grammar cannot change between that test and this call.
    """
    saved = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        return Lark(
            grammar_text(),
            start=["spec", "assignment"],
            parser="lalr",
            lexer="basic",
            maybe_placeholders=True,
        )
    finally:
        lark.lexer.has_interegular = saved


def parse_tree(text: str, filename: str = "<string>") -> Tree[Token]:
    """Parse a whole spec into a lark tree; raise `SpecError` with every syntax error found."""
    reporter = Reporter(text, filename)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise SpecError(
            [
                reporter.diagnostic(
                    "E110",
                    f"the spec is {size:,} bytes, over the limit of {MAX_TEXT_BYTES:,}",
                    0,
                    1,
                    "split it, or use blocks (`let`) and repetition (`* N`)",
                )
            ],
            text,
        )
    statements, deep, crowded = split_statements(text)
    if deep is not None:
        message = f"groups nest deeper than {MAX_NESTING} levels"
        found = reporter.diagnostic("E111", message, deep, deep + 1, "flatten the groups")
        raise SpecError([found], text)
    if crowded is not None:
        message = f"the spec writes more than {MAX_STAGES:,} stages"
        help = "use blocks (`let`) and repetition (`* N`), within the limits"
        raise SpecError([reporter.diagnostic("E115", message, crowded, crowded + 1, help)], text)
    try:
        tree = parser().parse(text, start="spec")
    except UnexpectedInput:
        pass
    else:
        oversized = literal_problems(tree)
        if oversized:
            raise SpecError([reporter.diagnostic(*problem) for problem in oversized], text)
        return tree
    problems = []
    for start, end in statements:
        try:
            parser().parse(text[start:end], start="spec")
        except UnexpectedInput as caught:
            problems.append(syntax_error(caught, text, start, end))
    raise SpecError(syntax_diagnostics(reporter, statements, problems), text)


SyntaxProblem = tuple[str, str, int, int, str | None]
"""What `syntax_error` says of a statement: (code, message, start, end, help)."""


def syntax_diagnostics(
    reporter: Reporter, bounds: list[tuple[int, int]], problems: Iterable[SyntaxProblem]
) -> list[Diagnostic]:
    """The diagnostics of a text that does not parse, in their order: each statement's
    problem (offsets into the whole text), an extra `;` for each blank statement before
    the last, and a bare `syntax error` when neither is found."""
    found = [reporter.diagnostic(*problem) for problem in problems]
    for start, end in bounds[:-1]:
        if is_blank(reporter.text[start:end]):
            found.append(
                reporter.diagnostic(
                    "E105", "empty statement: an extra `;`", end, end + 1, "remove the extra `;`"
                )
            )
    return sort_diagnostics(found or [reporter.diagnostic("E100", "syntax error", 0, 1, None)])


def syntax_error(
    caught: UnexpectedInput, text: str, offset: int = 0, stop: int | None = None
) -> SyntaxProblem:
    """Describe a lark error as (code, message, start, end, help), offsets into `text`.

    The parser saw `text[offset:stop]`; its positions are relative to `offset`.
    """
    if isinstance(caught, UnexpectedCharacters):
        at = offset + (caught.pos_in_stream or 0)
        char = text[at]
        if char == '"':
            return ("E102", "unterminated string", at, at + 1, 'close it with `"` on the same line')
        if text.startswith("->", at):
            return ("E103", "`->` needs a width after it", at, at + 2, "write `Linear 2->25`")
        infinite = _signed_non_finite(text, at)
        if infinite is not None:
            return infinite
        return ("E101", f"unexpected character `{char}`", at, at + 1, _character_help(char))
    assert isinstance(caught, UnexpectedToken)
    token = caught.token
    expected = sorted((t for t in caught.expected if t in TERMINALS), key=ORDER.index)
    if set(expected) == {"PLUS", "AMP"}:
        # Only a join's operand may be `()` (the checker calls it an empty branch).
        limit = len(text) if stop is None else stop
        if token.type != "$END" and token.start_pos is not None:
            limit = offset + token.start_pos
        at = text.rfind(")", offset, limit)
        help = "put a stage in the group, or remove the `()`"
        return ("E100", "unexpected `)`; expected a stage", at, at + 1, help)
    if token.type == "$END":
        if stop is not None and text[stop : stop + 1] == ";":
            at, found = stop, "end of statement"
        else:
            at, found = offset + len(_strip_comments(text[offset:stop]).rstrip()), "end of file"
        end = at + 1
    else:
        at = offset + (token.start_pos or 0)
        end = offset + (token.end_pos if token.end_pos is not None else at + 1)
        found = f"`{token.value}`"
    message = f"unexpected {found}"
    words = [TERMINALS[t] for t in expected]
    if set(expected) == {"NAME", "LPAR"}:
        words = ["a stage"]
    if set(expected) >= VALUE_TERMINALS:
        words = ["a value"] + [TERMINALS[t] for t in expected if t not in VALUE_TERMINALS]
    if words and len(words) <= 6:
        message += "; expected " + _one_of(words)
    return ("E100", message, at, end, _token_help(token.type, set(expected)))


def split_statements(text: str) -> tuple[list[tuple[int, int]], int | None, int | None]:
    """Split `text` at its `;` (outside strings and comments): each statement's (start, end).

    Also returns where groups first nest too deep, and where the written stages (one more
    than the `|`) first pass the limit on stages, so that neither costs a parse.
    """
    bounds: list[tuple[int, int]] = []
    start, depth, bars = 0, 0, 0
    for match in _STRUCTURE.finditer(text):
        symbol = match.group()
        if symbol == "|":
            bars += 1
            if bars >= MAX_STAGES:
                return bounds, None, match.start()
        elif symbol == ";":
            bounds.append((start, match.start()))
            start, depth = match.end(), 0
        elif symbol == "(":
            depth += 1
            if depth > MAX_NESTING:
                return bounds, match.start(), None
        elif symbol == ")":
            depth = max(0, depth - 1)
    bounds.append((start, len(text)))
    return bounds, None, None


def _strip_comments(chunk: str) -> str:
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), chunk)


def is_blank(chunk: str) -> bool:
    """Whether a statement's text holds nothing but comments and white space."""
    return not _strip_comments(chunk).strip()


_NON_FINITE = re.compile(r"-(inf|infinity|nan)(?![A-Za-z0-9_])", re.IGNORECASE)
_KEY_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*$")


def _signed_non_finite(text: str, at: int) -> SyntaxProblem | None:
    """`lr=-inf` (a sign before `inf` or `nan`): the same diagnostic as `lr=inf`, E131."""
    found = _NON_FINITE.match(text, at)
    if found is None:
        return None
    value = found.group()
    key = _KEY_BEFORE.search(text[max(0, at - 200) : at])
    name = f"`{key.group(1).split('.')[-1]}`" if key else "a value"
    message = f"{name} must be a finite number, got `{value}`"
    return ("E131", message, at, found.end(), "write a finite number, such as `0.01`")


def _one_of(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _character_help(char: str) -> str | None:
    if char == "-":
        return "write a shape as `IN->OUT`, such as `Linear 2->25`"
    if char in "{}<>":
        return "groups use `(` and `)`"
    if char == "'":
        return 'strings use double quotes: "a.csv"'
    return None


def _token_help(found: str, expected: set[str]) -> str | None:
    if found == "SEMI":
        return "remove the extra `;`" if "NAME" in expected else "a statement is missing here"
    if found == "BAR":
        return "remove the extra `|`, or put a stage before it"
    if found == "RPAR":
        return "remove the unmatched `)`"
    if found == "EQUAL":
        if expected == {"NAME"}:
            return "name the block: `let hidden = Linear ->25 | ReLU`"
        return "each option needs a value: `name=value`, as in `sgd lr=0.01`"
    if found == "STAR":
        return "repeat a stage once, as in `Tanh * 6`, or group it: `(Tanh * 2) * 3`"
    if "RPAR" in expected and found in ("$END", "SEMI"):
        return "close the group with `)`"
    if found == "$END" and expected & {"NAME", "INT", "LSQB"}:
        return "the statement ends too early: add the missing stage or value"
    return None
