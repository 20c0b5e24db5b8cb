"""The comment-keeping formatter: every comment kept, idempotent, the same spec back."""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.lang import SpecError, parse
from minidl.lang.parser import parser
from minidl.lang.reformat import format_text

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))
DIAGNOSTICS = sorted((ROOT / "tests" / "diagnostics").glob("*.mdl"))
# Quick, for the property test; the shipped files are checked with the grammar's lexer.
COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def lexed_comments(text: str) -> Counter[str]:
    """The comments the grammar's lexer finds, without trailing spaces."""
    tokens = parser().lex(text, dont_ignore=True)
    return Counter(str(t).rstrip() for t in tokens if t.type == "COMMENT")


def scanned_comments(text: str) -> Counter[str]:
    return Counter(m[0].rstrip() for m in COMMENT_OR_STRING.finditer(text) if m[0][0] == "#")


def assert_formats(text: str, comments: Counter[str]) -> str:
    formatted = format_text(text)
    assert scanned_comments(formatted) == comments, formatted
    assert format_text(formatted) == formatted, formatted
    assert parse(formatted) == parse(text), formatted
    return formatted


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_the_shipped_specs_keep_their_comments(path: Path) -> None:
    text = path.read_text("utf-8")
    comments = lexed_comments(text)
    assert comments, "each shipped spec opens with a comment"
    formatted = assert_formats(text, comments)
    assert lexed_comments(formatted) == comments


@pytest.mark.parametrize("path", DIAGNOSTICS, ids=lambda p: p.name)
def test_the_diagnostics_cases(path: Path) -> None:
    """A case that parses is formatted as any spec; one that does not raises parse's errors."""
    text = path.read_text("utf-8")
    try:
        parse(text, filename=path.name)
    except SpecError as expected:
        with pytest.raises(SpecError) as caught:
            format_text(text, filename=path.name)
        assert caught.value.diagnostics == expected.diagnostics
        assert str(caught.value) == str(expected)
    else:
        assert_formats(text, lexed_comments(text))


def test_a_spec_with_errors_is_not_formatted() -> None:
    for text in ("Linear 2->25 | | ReLU  # two bars", "Linear 2->25 | relu;  # a typo"):
        with pytest.raises(SpecError) as caught:
            format_text(text, filename="broken.mdl")
        assert caught.value.diagnostics
        assert all(d.filename == "broken.mdl" for d in caught.value.diagnostics)


GOLDEN = [
    (
        # Comments on stages: the network is written one stage a line; no blank line inside.
        "Linear 2->25 | # first\nReLU |\n\n# own line\nLinear 25 -> 1 |Tanh # out\n;"
        "loss   MSE ; sgd lr = 1e-3",
        "Linear 2->25 |  # first\n"
        "    ReLU |\n"
        "    # own line\n"
        "    Linear 25->1 |\n"
        "    Tanh;  # out\n"
        "loss MSE;\n"
        "sgd lr=0.001;\n",
    ),
    (
        # Blank lines kept (one at most), comments on their own lines above what follows
        # them, a group and a list with comments inside, a comment at the end of the file.
        "\n\n# the header\n\n\n# the block\nlet hidden=Linear ->25|ReLU;# widen\n"
        "hidden*3|(Linear ->8|Tanh # last\n)* 2|Linear ->1;\n\n"
        'sweep batch=[4,8, # small\n16]   train.epochs = [1]; data csv train="a#b.csv" '
        'target="y"\n\n\n# the end\n',
        "# the header\n"
        "\n"
        "# the block\n"
        "let hidden = Linear ->25 | ReLU;  # widen\n"
        "hidden * 3 |\n"
        "    (Linear ->8 |\n"
        "        Tanh  # last\n"
        "    ) * 2 |\n"
        "    Linear ->1;\n"
        "\n"
        "sweep batch=[4, 8,  # small\n"
        "    16] train.epochs=[1];\n"
        'data csv train="a#b.csv" target="y";\n'
        "\n"
        "# the end\n",
    ),
    (
        # Source formatting, not IR printing: no defaults written, no statement moved.
        "sgd momentum=.9 lr=2. batch=8 ; # before the network\n"
        "Linear 2->1 bias=false|Sigmoid   # out\n",
        "sgd momentum=0.9 lr=2.0 batch=8;  # before the network\n"
        "Linear 2->1 bias=false | Sigmoid;  # out\n",
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_golden_layouts(text: str, expected: str) -> None:
    assert format_text(text) == expected
    assert_formats(text, scanned_comments(text))


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'Linear 2->1; data csv train="runs#1.csv"   target="#"  # the data\n'
    expected = 'Linear 2->1;\ndata csv train="runs#1.csv" target="#";  # the data\n'
    assert format_text(text) == expected


# -- specs as text from a small grammar of valid stages and statements, with comments ------

ACTIVATIONS = ["ReLU", "Tanh", "Sigmoid"]
BLOCK_NAMES = ["hidden", "mlp", "b_2"]
FLOATS = ["0.1", "1e-3", "1E-2", ".5", "2.", "0.001", "5e-4"]
COMMENT_TEXTS = st.sampled_from([" größe → 25", " ;|() = [", ' "quoted', " # twice", "", "x"])
COMMENT_TEXTS |= st.text(
    st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=20
)


def joined(pipelines: list[list[str]], separator: str = "|") -> list[str]:
    tokens = list(pipelines[0])
    for stage in pipelines[1:]:
        tokens += [separator, *stage]
    return tokens


def linear(width: int, bias: bool, spaced: bool) -> list[str]:
    shape = f"-> {width}" if spaced else f"->{width}"
    return ["Linear", shape] + ([] if bias else ["bias", "=", "false"])


@functools.lru_cache
def stages(blocks: tuple[str, ...], depth: int) -> st.SearchStrategy[list[str]]:
    """The tokens of one stage whose Linears infer their IN, so that any order checks."""
    leaves = [
        st.sampled_from(ACTIVATIONS).map(lambda name: [name]),
        st.builds(linear, st.integers(1, 16), st.booleans(), st.booleans()),
    ]
    if blocks:
        leaves.append(st.sampled_from(blocks).map(lambda name: [name]))
    leaf = st.one_of(leaves)
    if depth == 0:
        return leaf
    inner = st.lists(stages(blocks, depth - 1), min_size=1, max_size=3)
    group = inner.map(lambda body: ["(", *joined(body), ")"])
    term = leaf | group
    repeat = st.builds(lambda t, n: [*t, "*", str(n)], term, st.integers(1, 3))
    return leaf | group | repeat


def option(key: str, value: str) -> list[str]:
    """`key=value` as tokens, a dotted key as three: `train . epochs = [1]`."""
    return [*key.replace(".", " . ").split(), "=", value]


SWEEP = ["sweep", "batch", "=", "[", "4", ",", "8", "]", *option("train.epochs", "[")]
SWEEP += ["1", "]", *option("runs", "2")]


@st.composite
def statements(draw: st.DrawFn) -> list[list[str]]:
    """The tokens of each statement of a valid spec, blocks first, the rest in any order."""
    blocks = draw(st.lists(st.sampled_from(BLOCK_NAMES), max_size=2, unique=True))
    lets = []
    for i, name in enumerate(blocks):
        body = draw(st.lists(stages(tuple(blocks[:i]), 1), min_size=1, max_size=3))
        lets.append(["let", name, "=", *joined(body)])
    first = draw(st.sampled_from([["Linear", "2->8"], ["Linear", "->8"], ["Linear", "2 -> 8"]]))
    middle = draw(st.lists(stages(tuple(blocks), 2), max_size=4))
    tail = draw(st.lists(st.sampled_from(ACTIVATIONS).map(lambda name: [name]), max_size=1))
    others = [joined([first, *middle, ["Linear", "->1"], *tail])]
    if draw(st.booleans()):
        others.append(["loss", "MSE", *option("reduction", draw(st.sampled_from(["sum", "mean"])))])
    if draw(st.booleans()):
        sgd = ["sgd", *option("lr", draw(st.sampled_from(FLOATS)))]
        others.append(sgd + (option("momentum", ".5") if draw(st.booleans()) else []))
    if draw(st.booleans()):
        others.append(["train", *option("epochs", "3"), *option("seed", "0")])
    if draw(st.booleans()):
        csv = ["data", "csv", *option("train", '"a#b.csv"'), *option("target", '"y"')]
        disk = ["data", "disk", *option("train", "100"), *option("radius", ".3")]
        others.append(draw(st.sampled_from([csv, disk])))
    if draw(st.booleans()):
        others.append(SWEEP)
    return lets + draw(st.permutations(others))


COMMENTS = st.tuples(
    st.integers(0, 1000),  # where, modulo the number of places
    COMMENT_TEXTS,
    st.sampled_from(["", " ", "\n", "\n\n", "\t"]),  # before it: trailing, or on its own line
    st.sampled_from(["", "  ", "\n\n"]),  # after its newline
)


@st.composite
def commented_specs(draw: st.DrawFn) -> tuple[str, Counter[str]]:
    """A valid spec's text, comments sprinkled between its tokens; and those comments."""
    parts = draw(statements())
    tokens = [token for part in parts for token in [*part, ";"]]
    if draw(st.booleans()):
        tokens.pop()  # the last `;` may be left out
    spaces = draw(st.randoms(use_true_random=False))
    gaps = [spaces.choice([" ", " ", " ", "\n", "\n\n\n", "\t"]) for _ in range(len(tokens) + 1)]
    comments = Counter[str]()
    for where, body, before, after in draw(st.lists(COMMENTS, max_size=8)):
        comment = "#" + body
        comments[comment.rstrip()] += 1
        gaps[where % len(gaps)] += f"{before}{comment}\n{after}"
    text = "".join(gap + token for gap, token in zip(gaps, [*tokens, ""], strict=True))
    return text, comments


@settings(max_examples=1000, deadline=None)
@given(commented_specs())
def test_generated_specs_keep_their_comments(case: tuple[str, Counter[str]]) -> None:
    text, comments = case
    assert scanned_comments(text) == comments  # the generator's own account is right
    assert_formats(text, comments)
