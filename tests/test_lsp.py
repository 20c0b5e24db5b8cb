"""The language server: positions, a real client over stdio, fuzzed edits, bad requests."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import specs

pytest.importorskip("pygls")
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from minidl.lang import Diagnoser, Diagnostic, diagnose, format_spec, ir
from minidl.lsp.analysis import analyze, to_lsp
from minidl.lsp.client import SpecClient
from minidl.lsp.fixes import quick_fixes
from minidl.lsp.positions import TextLines

URI = "file:///tmp/minidl-lsp-test/spec.mdl"
FUZZ_EDITS = int(os.environ.get("MINIDL_LSP_FUZZ_EDITS", "200"))


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def rng(line: int, column: int, end_line: int, end_column: int) -> types.Range:
    """An LSP range from 0-based lines and UTF-16 columns."""
    return types.Range(
        start=types.Position(line=line, character=column),
        end=types.Position(line=end_line, character=end_column),
    )


def at(line: int, character: int) -> types.TextDocumentPositionParams:
    return types.TextDocumentPositionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=character),
    )


# -- positions ----------------------------------------------------------------------------

NON_ASCII = (
    "# größe → 25\n"
    "# 😀 an emoji\n"
    "Linear ->25 | ReLU | Linear ->1;\n"
    'data csv train="😀größe.csv" target=y normalize=bad;\n'
)


def test_utf16_range_after_non_ascii_text() -> None:
    analysis = analyze(URI, 0, NON_ASCII, "spec.mdl")
    [diagnostic] = analysis.lsp_diagnostics
    line = NON_ASCII.splitlines()[3]
    start = line.index("bad")
    # "😀" is one Python character but two UTF-16 units: every column after it moves by one.
    assert diagnostic.range == rng(3, start + 1, 3, start + 4)
    assert diagnostic.code == "E131"
    assert diagnostic.source == "minidl"


def test_positions_round_trip_through_offsets() -> None:
    lines = TextLines("a😀b\nc")
    assert lines.position(1, 3) == types.Position(line=0, character=3)  # before "b"
    assert lines.offset(types.Position(line=0, character=3)) == 2
    assert lines.position_of(2) == types.Position(line=0, character=3)
    assert lines.end() == types.Position(line=1, character=1)


def test_help_and_related_spans_are_carried() -> None:
    from minidl.lang import Diagnostic
    from minidl.lang.nodes import Span

    related = ((Span(line=1, column=2, end_line=1, end_column=4), "first here"),)
    d = Diagnostic("E999", "msg", 1, 1, 1, 3, "do this", "x.mdl", "warning", related)
    lsp = to_lsp(d, TextLines("😀bcdef"), URI)
    assert lsp.message == "msg\nhelp: do this"
    assert lsp.severity == types.DiagnosticSeverity.Warning
    assert lsp.related_information is not None
    [info] = lsp.related_information
    assert info.location.range == rng(0, 2, 0, 4)
    assert info.message == "first here"


# -- end to end ---------------------------------------------------------------------------

TWO_ERRORS = (
    "# größe → 25 😀\n"
    "let hidden = Linear ->25 | ReLU;\n"
    "Linear 2->25 | hidden * 2 | Linaer ->1;\n"
    "adam lr=0.01 bach=32;\n"
)
FIXED = TWO_ERRORS.replace("Linaer", "Linear").replace("bach", "batch")


def test_end_to_end_over_stdio() -> None:
    run(_end_to_end())


async def _end_to_end() -> None:
    async with SpecClient(timeout=120) as client:
        client.open(URI, TWO_ERRORS)
        first = await client.diagnostics(URI, 0)
        assert [(d.code, d.range) for d in first] == [
            ("E200", rng(2, 28, 2, 34)),
            ("E130", rng(3, 13, 3, 17)),
        ]
        assert first[0].message == "unknown layer or block `Linaer`\nhelp: did you mean `Linear`?"

        # An incremental change fixes the first error and leaves the second.
        client.change(URI, "Linear", rng(2, 28, 2, 34))
        second = await client.diagnostics(URI)
        assert [(d.code, d.range) for d in second] == [("E130", rng(3, 13, 3, 17))]
        client.change(URI, FIXED)
        assert await client.diagnostics(URI) == []

        # Hover: a stage's widths; a block; an option.
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(2, 30))  # final Linear
        assert "25 → 1, 26 parameters" in hover.contents.value
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(1, 14))  # Linear in `hidden`
        assert "25 → 25, 650 parameters (×2)" in hover.contents.value
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(2, 16))  # `hidden`
        assert "expands to 2 stages: `Linear ->25 | ReLU`" in hover.contents.value
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(3, 6))  # `lr`
        assert "**lr** (`float`, default `0.001`, > 0): the learning rate" in hover.contents.value

        # Completion: options after a word, enumerated values, stages after `|`.
        extra = "train backend="
        client.change(URI, FIXED + extra)
        await client.diagnostics(URI)
        listing = await client.request(types.TEXT_DOCUMENT_COMPLETION, at(4, len(extra)))
        assert [i.label for i in listing.items] == ["minidl", "torch"]
        client.change(URI, FIXED + "train ")
        listing = await client.request(types.TEXT_DOCUMENT_COMPLETION, at(4, 6))
        train_options = ["epochs", "seed", "backend", "device", "dtype", "patience", "min_delta"]
        assert [i.label for i in listing.items] == train_options
        client.change(URI, FIXED + "Linear 2->4 | ")
        listing = await client.request(types.TEXT_DOCUMENT_COMPLETION, at(4, 14))
        labels = [i.label for i in listing.items]
        assert "ReLU" in labels and "hidden" in labels and "adam" not in labels
        client.change(URI, FIXED + "lo")
        listing = await client.request(types.TEXT_DOCUMENT_COMPLETION, at(4, 2))
        labels = [i.label for i in listing.items]
        assert "loss" in labels and "let" in labels and "Linear" in labels

        # Formatting: none with errors; one whole-document edit without.
        await client.diagnostics(URI)
        fmt = types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
        assert list(await client.request(types.TEXT_DOCUMENT_FORMATTING, fmt)) == []
        messy = FIXED.replace("adam lr=0.01 batch=32;", "adam   lr=0.01\n   batch=32 ;")
        client.change(URI, messy)
        [edit] = await client.request(types.TEXT_DOCUMENT_FORMATTING, fmt)
        from minidl.lang import format_text

        assert edit.new_text == format_text(messy) != messy
        assert edit.range == rng(0, 0, 5, 0)

        # Definition, references and symbols of `let` blocks.
        client.change(URI, FIXED)
        found = await client.request(types.TEXT_DOCUMENT_DEFINITION, at(2, 17))
        assert [loc.range for loc in found] == [rng(1, 4, 1, 10)]
        params = types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=1, character=5),
            context=types.ReferenceContext(include_declaration=True),
        )
        found = await client.request(types.TEXT_DOCUMENT_REFERENCES, params)
        assert [loc.range for loc in found] == [rng(1, 4, 1, 10), rng(2, 15, 2, 21)]
        symbols = await client.request(
            types.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
            types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=URI)),
        )
        assert [s.name for s in symbols] == ["hidden", "network", "adam"]
        assert symbols[0].selection_range == rng(1, 4, 1, 10)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with non-overlapping edits applied, the last first."""
    lines = TextLines(text)
    for edit in sorted(edits, key=lambda e: lines.offset(e.range.start), reverse=True):
        start, end = lines.offset(edit.range.start), lines.offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


def test_each_did_you_mean_is_a_quick_fix() -> None:
    analysis = analyze(URI, 0, TWO_ERRORS, "spec.mdl")
    everything = rng(0, 0, 4, 0)
    actions = quick_fixes(analysis, everything)
    assert [a.title for a in actions] == ["Change to `Linear`", "Change to `batch`"]
    assert all(a.kind == types.CodeActionKind.QuickFix and a.is_preferred for a in actions)
    assert [a.diagnostics for a in actions] == [[d] for d in analysis.lsp_diagnostics]
    edits = [e for a in actions for e in (a.edit.changes or {})[URI]]  # type: ignore[union-attr]
    assert apply_edits(TWO_ERRORS, edits) == FIXED
    # Only the diagnostics that the asked range meets: here the cursor at the end of `bach`.
    [only] = quick_fixes(analysis, rng(3, 17, 3, 17))
    assert only.title == "Change to `batch`"
    assert quick_fixes(analysis, rng(1, 0, 1, 5)) == []


def test_a_second_definition_carries_the_first_as_related() -> None:
    text = "let b = ReLU;\nlet b = Tanh;\nLinear 2->1 | b"
    [diagnostic] = analyze(URI, 0, text, "spec.mdl").lsp_diagnostics
    assert diagnostic.code == "E212" and diagnostic.range == rng(1, 4, 1, 5)
    [info] = diagnostic.related_information or []
    assert (info.message, info.location.range) == ("first defined here", rng(0, 4, 0, 5))


REPEATED = "let b = (Linear ->4 | ReLU) * 50;\nLinear 2->4 | b | Linear ->1;\n"


def test_quick_fixes_and_a_repeated_block_over_stdio() -> None:
    run(_quick_fixes_and_hover())


async def _quick_fixes_and_hover() -> None:
    async with SpecClient(timeout=120) as client:
        client.open(URI, TWO_ERRORS)
        published = await client.diagnostics(URI, 0)
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=rng(2, 30, 2, 30),  # the cursor inside `Linaer`
            context=types.CodeActionContext(diagnostics=published[:1]),
        )
        [action] = await client.request(types.TEXT_DOCUMENT_CODE_ACTION, params)
        assert action.kind == types.CodeActionKind.QuickFix
        assert action.diagnostics[0].code == "E200"
        [edit] = action.edit.changes[URI]
        assert (edit.range, edit.new_text) == (rng(2, 28, 2, 34), "Linear")

        # A block repeated 50 times expands to 100 stages (the first twelve shown).
        client.change(URI, REPEATED)
        assert await client.diagnostics(URI) == []
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(1, 14))  # `b`
        value = hover.contents.value
        assert "**b** = `(Linear ->4 | ReLU) * 50`" in value
        assert "expands to 100 stages: `Linear ->4 | ReLU | Linear ->4" in value
        assert value.count("Linear ->4") == 1 + 6 and value.endswith("| ReLU | …`")


def test_csv_spec_reads_its_header_relative_to_the_document(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text("a,b,c,y\n1,2,3,0\n", encoding="utf-8")
    spec = tmp_path / "spec.mdl"
    text = 'Linear ->4 | ReLU | Linear ->1;\ndata csv train="points.csv" target=y;\n'
    spec.write_text(text, encoding="utf-8")
    run(_csv(spec.as_uri(), text))


async def _csv(uri: str, text: str) -> None:
    async with SpecClient(timeout=120) as client:
        client.open(uri, text)
        assert await client.diagnostics(uri, 0) == []
        params = types.TextDocumentPositionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=1),
        )
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, params)
        assert "3 → 4, 16 parameters" in hover.contents.value


# -- robustness ---------------------------------------------------------------------------


def test_bad_requests_get_error_answers_and_the_server_goes_on() -> None:
    run(_bad_requests())


async def _bad_requests() -> None:
    async with SpecClient(timeout=120) as client:
        never = types.TextDocumentPositionParams(
            text_document=types.TextDocumentIdentifier(uri="file:///never/opened.mdl"),
            position=types.Position(line=0, character=0),
        )
        with pytest.raises(JsonRpcException) as caught:
            await client.request(types.TEXT_DOCUMENT_HOVER, never)
        assert caught.value.code == -32602
        for malformed in ({"position": "nowhere"}, {"textDocument": 5}, []):
            with pytest.raises(JsonRpcException) as caught:
                await client.raw_request(types.TEXT_DOCUMENT_HOVER, malformed)
            assert caught.value.code == -32602
        client.open(URI, FIXED)
        assert await client.diagnostics(URI, 0) == []
        hover = await client.request(types.TEXT_DOCUMENT_HOVER, at(3, 6))
        assert "learning rate" in hover.contents.value
        assert client.alive


def random_edit(text: str, chance: random.Random) -> tuple[int, int, str]:
    """A (start, end, replacement) in characters: an insertion, a deletion, or garbage."""
    start = chance.randint(0, len(text))
    end = min(len(text), start + chance.randint(0, 12))
    roll = chance.random()
    if roll < 0.35:
        pieces = [
            "Linear ->4",
            " | ",
            ";",
            "let b = ",
            "ReLU",
            "adam lr=",
            "0.1",
            "(",
            ")",
            "* 3",
            "# ü😀\n",
            "\n",
            "data csv ",
            "loss Huber ",
            "=",
            '"x',
            "😀",
        ]
        return start, start, chance.choice(pieces)
    if roll < 0.65:
        return start, end, ""
    garbage = "".join(
        chr(chance.choice([chance.randint(0, 0x7F), chance.randint(0x80, 0x1FFFF)]))
        for _ in range(chance.randint(1, 8))
    )
    garbage = "".join(c for c in garbage if not 0xD800 <= ord(c) <= 0xDFFF)
    return start, end, garbage


# -- diagnostics of edited text, statement by statement ------------------------------------

EDIT_PIECES = [
    ";",
    ";;",
    "\n",
    " ",
    "# a comment ; with a semicolon\n",
    '"a; string"',
    '"unterminated; ',
    "let b = ReLU;",
    "let ",
    "b",
    " | ",
    " + ",
    " & ",
    "()",
    "(",
    ")",
    "* 3",
    "Linear ->4",
    "Linear 2->",
    "->",
    "Softmax",
    "loss CrossEntropy;",
    "adam lr=0.1;",
    "sgd lr=",
    "=",
    "uniform(1, 2)",
    "[1, 2]",
    "Tanh",
    "größe😀",
]


@st.composite
def edited_texts(draw: st.DrawFn) -> list[str]:
    """A spec's text, then the texts that a few random edits (typing, deleting) make of it."""
    text = FIXED if draw(st.booleans()) else format_spec(draw(specs()))
    texts = [text]
    for _ in range(draw(st.integers(1, 8))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 30)))
        new = draw(st.sampled_from(EDIT_PIECES) | st.text(max_size=4))
        text = text[:start] + new + text[end:]
        texts.append(text)
    return texts


@settings(max_examples=150)
@given(edited_texts())
def test_a_diagnoser_of_edits_says_what_diagnose_says(texts: list[str]) -> None:
    diagnoser = Diagnoser("spec.mdl")
    for text in texts:
        assert_same(diagnoser.diagnose(text), diagnose(text, "spec.mdl"))


def assert_same(
    found: tuple[ir.Spec | None, list[Diagnostic]], wanted: tuple[ir.Spec | None, list[Diagnostic]]
) -> None:
    """The same diagnostics, and the same spec down to its spans (which `==` leaves out)."""
    assert found[1] == wanted[1]
    dump = [None if spec is None else spec.model_dump() for spec in (found[0], wanted[0])]
    assert dump[0] == dump[1]


def test_a_diagnoser_handles_limits_and_whole_texts() -> None:
    diagnoser = Diagnoser()
    long = "".join(f"let b{i} = ReLU;\n" for i in range(40)) + "Linear 2->3 | b7 | Linear ->1;\n"
    deep = "(" * 70 + "ReLU" + ")" * 70 + ";"
    for text in [long, long.replace("ReLU", "Relu", 1), deep, long, "", ";;", long + ";"]:
        assert_same(diagnoser.diagnose(text), diagnose(text))
    assert isinstance(diagnoser.diagnose(long)[0], ir.Spec)


def test_fuzzed_edits_never_kill_the_server() -> None:
    run(_fuzz(FUZZ_EDITS))


async def _fuzz(edits: int) -> None:
    chance = random.Random(20261128)
    text = FIXED
    async with SpecClient(timeout=120) as client:
        client.open(URI, text)
        await client.diagnostics(URI, 0)
        for step in range(edits):
            if step == edits // 2:
                start, end, new = len(text), len(text), "Linear ->4 | " * (1 << 20 // 13)
            else:
                start, end, new = random_edit(text, chance)
            lines = TextLines(text)
            client.change(
                URI, new, types.Range(start=lines.position_of(start), end=lines.position_of(end))
            )
            text = text[:start] + new + text[end:]
            if step % 10 == 0:
                position = TextLines(text).position_of(chance.randint(0, len(text)))
                params = types.TextDocumentPositionParams(
                    text_document=types.TextDocumentIdentifier(uri=URI), position=position
                )
                await client.request(types.TEXT_DOCUMENT_HOVER, params)
                await client.request(types.TEXT_DOCUMENT_COMPLETION, params)
            if step == edits // 2:
                await client.diagnostics(URI)
                client.change(URI, FIXED)  # take the paste back out: keep the run short
                text = FIXED
        published = await client.diagnostics(URI)
        assert client.alive
        _, expected = diagnose(text, "/tmp/minidl-lsp-test/spec.mdl")
        assert published == analyze(URI, 0, text, "").lsp_diagnostics
        assert [d.code for d in published] == [d.code for d in expected]


def test_the_server_never_imports_torch() -> None:
    code = "import minidl.lsp.server, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
