"""The Pygments lexer: every character of every spec gets a token, valid specs no `Error`."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Token,
    Whitespace,
    _TokenType,
)

from minidl.lang import SpecError, parse
from minidl.lang.highlight import MdlLexer
from minidl.lang.registry import STATEMENTS

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))
DIAGNOSTICS = sorted((ROOT / "tests" / "diagnostics").glob("*.mdl"))


def lex(text: str) -> list[tuple[_TokenType, str]]:
    """The tokens of `text`, which join back into it exactly."""
    tokens = list(MdlLexer(stripnl=False, ensurenl=False).get_tokens(text))
    assert "".join(value for _, value in tokens) == text
    return tokens


def parses(text: str) -> bool:
    try:
        parse(text)
    except SpecError:
        return False
    return True


@pytest.mark.parametrize("path", SPECS + DIAGNOSTICS, ids=lambda p: p.name)
def test_every_character_gets_a_token(path: Path) -> None:
    text = path.read_text("utf-8")
    tokens = lex(text)
    assert all(kind not in (Token, Text) for kind, _ in tokens), "an untyped token"
    errors = [value for kind, value in tokens if kind in Error]
    if path in SPECS:
        assert parses(text) and not errors
    elif parses(text):
        assert not errors


def test_characters_the_grammar_rejects_are_errors() -> None:
    for name, bad in [("bad_character", "@"), ("single_quotes", "'"), ("unterminated_string", '"')]:
        text = (ROOT / "tests" / "diagnostics" / f"{name}.mdl").read_text("utf-8")
        errors = [value for kind, value in lex(text) if kind in Error]
        assert errors and errors[0].startswith(bad), name


def test_each_kind_of_token() -> None:
    text = (
        "let hidden = Linear ->25 bias=false | ReLU;  # größe → 25\n"
        "Linear 2 -> 25 | hidden * 3 | (Tanh);\n"
        'sweep train.epochs=[1, 2.5, 1e-3] lr=[.5]; data csv train="a#b.csv" target=y'
    )
    kinds = [(kind, value) for kind, value in lex(text) if kind is not Whitespace]
    assert kinds == [
        (Keyword.Declaration, "let"),
        (Name.Function, "hidden"),
        (Operator, "="),
        (Name.Class, "Linear"),
        (Operator, "->"),
        (Number.Integer, "25"),
        (Name.Attribute, "bias"),
        (Operator, "="),
        (Keyword.Constant, "false"),
        (Operator, "|"),
        (Name.Class, "ReLU"),
        (Punctuation, ";"),
        (Comment.Single, "# größe → 25"),
        (Name.Class, "Linear"),
        (Number.Integer, "2"),
        (Operator, "->"),
        (Number.Integer, "25"),
        (Operator, "|"),
        (Name, "hidden"),
        (Operator, "*"),
        (Number.Integer, "3"),
        (Operator, "|"),
        (Punctuation, "("),
        (Name.Class, "Tanh"),
        (Punctuation, ")"),
        (Punctuation, ";"),
        (Keyword, "sweep"),
        (Name.Attribute, "train"),
        (Punctuation, "."),
        (Name.Attribute, "epochs"),
        (Operator, "="),
        (Punctuation, "["),
        (Number.Integer, "1"),
        (Punctuation, ","),
        (Number.Float, "2.5"),
        (Punctuation, ","),
        (Number.Float, "1e-3"),
        (Punctuation, "]"),
        (Name.Attribute, "lr"),
        (Operator, "="),
        (Punctuation, "["),
        (Number.Float, ".5"),
        (Punctuation, "]"),
        (Punctuation, ";"),
        (Keyword, "data"),
        (Name, "csv"),
        (Name.Attribute, "train"),
        (Operator, "="),
        (String.Double, '"a#b.csv"'),
        (Name.Attribute, "target"),
        (Operator, "="),
        (Name, "y"),
    ]


@pytest.mark.parametrize("word", sorted(STATEMENTS))
def test_every_statement_word_of_the_registry_is_a_keyword(word: str) -> None:
    assert lex(f"{word} x=1")[0] == (Keyword, word)
    assert lex(f"{word}s")[0] == (Name, f"{word}s")


def entry_point_installed() -> bool:
    return any(e.name == "mdl" for e in entry_points(group="pygments.lexers"))


@pytest.mark.skipif(
    not entry_point_installed(),
    reason='the entry point `mdl` of "pygments.lexers" is not installed yet: it goes in '
    "pyproject.toml, then `pip install -e .`",
)
def test_pygments_finds_the_lexer() -> None:
    assert isinstance(get_lexer_by_name("mdl"), MdlLexer)
    assert isinstance(get_lexer_for_filename("seed.mdl"), MdlLexer)
