"""The MDL language: LANGUAGE.md's examples, round trips, fuzzing, limits, no torch import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_cases import grammar_specs, mutated_specs
from hypothesis import given, settings
from lark import Lark
from strategies import specs

from minidl.lang import Spec, SpecError, format_spec, ir, parse, resolve
from minidl.lang.parser import grammar_text, parser
from minidl.lang.walk import expand, measure

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))

REPORT_MULTILINE = """\
# 2 inputs, 3 hidden layers of 25 units, 1 output (report, section 4)
Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;
loss MSE;
sgd lr=0.001 batch=16;
train epochs=100 seed=0;
data disk train=1000 test=1000;
"""
REPORT_ONE_LINE = (
    "Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;"
    " loss MSE; sgd lr=0.001 batch=16"
)
REPORT_BLOCKS = """\
let hidden = Linear ->25 | ReLU;
hidden * 3 | Linear 25->1 | Tanh;
"""


def layers(spec: Spec) -> list[tuple[str, int | None, int | None, int | None]]:
    return [
        (layer.kind, layer.in_features, layer.out_features, layer.parameters)
        for layer in resolve(spec).layers
    ]


def test_the_three_forms_of_the_report_network_are_equal() -> None:
    forms = [parse(text) for text in (REPORT_MULTILINE, REPORT_ONE_LINE, REPORT_BLOCKS)]
    expected = [
        ("Linear", 2, 25, 75),
        ("ReLU", 25, 25, 0),
        ("Linear", 25, 25, 650),
        ("ReLU", 25, 25, 0),
        ("Linear", 25, 25, 650),
        ("ReLU", 25, 25, 0),
        ("Linear", 25, 1, 26),
        ("Tanh", 1, 1, 0),
    ]
    for spec in forms:
        assert layers(spec) == expected
    assert forms[0] == forms[1]  # every setting of the first is the default


def test_defaults_are_the_reports_setting() -> None:
    spec = parse("Linear 2->1")
    assert (spec.loss.name, spec.loss.reduction) == ("MSE", "sum")
    assert (
        spec.optimizer.lr,
        spec.optimizer.batch,
        spec.optimizer.momentum,
        spec.optimizer.weight_decay,
    ) == (
        0.001,
        16,
        0,
        0,
    )
    assert (spec.train.epochs, spec.train.seed, spec.train.backend, spec.train.device) == (
        100,
        0,
        "minidl",
        "cpu",
    )
    assert spec.data.kind == "disk" and spec.data.train == 1000 and spec.data.test == 1000
    assert spec.data.radius == 0.3989422804014327
    assert spec.sweep is None


def test_every_statement_form_of_the_contract() -> None:
    spec = parse(
        "let b = Linear ->4 bias=false | Sigmoid;\n"
        "(b | Tanh) * 2 | Linear 4->1;\n"
        "loss MSE reduction=mean; sgd lr=1e-3 batch=8 momentum=0.9 weight_decay=0.01;\n"
        "train epochs=3 seed=7 backend=torch device=cpu;\n"
        "data disk train=50 test=20 radius=0.3;\n"
        "sweep batch=[4, 8] lr=[0.1, 1e-2] backend=[minidl, torch] train.epochs=[1] runs=2\n"
    )
    assert spec.loss.reduction == "mean" and spec.optimizer.momentum == 0.9
    assert spec.train.backend == "torch" and spec.data.radius == 0.3
    assert spec.sweep is not None and spec.sweep.runs == 2
    keys = [axis.key for axis in spec.sweep.axes]
    assert keys == ["sgd.batch", "sgd.lr", "train.backend", "train.epochs"]
    assert spec.sweep.axes[1].values == (0.1, 0.01)
    assert [x.word.bias for x in resolve(spec).layers if isinstance(x.word, ir.Linear)] == [
        False,
        False,
        True,
    ]
    csv = parse('Linear ->3 | Linear ->1; data csv train="a.csv" test="b.csv" target=label')
    assert csv.data.kind == "csv" and csv.data.target == "label" and csv.data.test == "b.csv"


def test_values_lexical_forms() -> None:
    spec = parse('Linear 2->1 bias=true; sgd lr=1; data csv train="dir/a \\"b\\".csv" target=y')
    assert spec.optimizer.lr == 1.0 and isinstance(spec.optimizer.lr, float)
    assert spec.data.train == 'dir/a "b".csv'  # type: ignore[union-attr]
    assert parse("Linear 2->1;").network == parse("Linear 2 -> 1  # comment\n").network


def test_spans_and_equality() -> None:
    a = parse("Linear 2->1 | Tanh")
    b = parse("\n\n   Linear 2->1 |\n Tanh;")
    assert a == b and hash(a) == hash(b)
    assert a.network[1].span is not None and b.network[1].span is not None
    assert (a.network[1].span.line, b.network[1].span.line) == (1, 4)
    assert a != parse("Linear 2->1 | Sigmoid")


def test_spec_is_frozen_and_strict() -> None:
    spec = parse("Linear 2->1")
    with pytest.raises(Exception, match="frozen"):
        spec.optimizer.lr = 1.0  # type: ignore[misc]
    with pytest.raises(Exception, match="Extra inputs"):
        Spec.model_validate({"network": [{"kind": "ReLU"}], "bogus": 1})


@settings(max_examples=1000)
@given(specs())
def test_format_round_trip(spec: Spec) -> None:
    text = format_spec(spec)
    assert parse(text) == spec, text
    assert Spec.model_validate_json(spec.model_dump_json()) == spec


def test_format_is_canonical_for_the_shipped_specs() -> None:
    for path in SPECS:
        spec = parse(path.read_text(), filename=str(path))
        text = format_spec(spec)
        assert format_spec(parse(text)) == text


def parses_or_reports(text: str) -> None:
    """A `Spec` or a `SpecError` with well-formed diagnostics; nothing else may escape."""
    try:
        parse(text, filename="fuzz.mdl")
    except SpecError as caught:
        assert caught.diagnostics
        for d in caught.diagnostics:
            assert d.line >= 1 and d.column >= 1 and d.code.startswith("E")
        rendered = str(caught)
        assert "__ANON" not in rendered and "$END" not in rendered and "Traceback" not in rendered


@settings(max_examples=500)
@given(grammar_specs())
def test_fuzz_grammar_strings(text: str) -> None:
    parses_or_reports(text)


@settings(max_examples=1500)
@given(mutated_specs())
def test_fuzz_mutated_specs(text: str) -> None:
    parses_or_reports(text)


def test_grammar_has_no_conflicts_in_strict_mode() -> None:
    Lark(grammar_text(), start=["spec", "assignment"], parser="lalr", strict=True)
    assert parser() is parser()  # loaded once


def test_size_limit_is_checked_before_parsing() -> None:
    text = "Linear 2->1 | " + "Tanh | " * 150_000 + "Tanh"
    with pytest.raises(SpecError) as caught:
        parse(text)
    assert [d.code for d in caught.value.diagnostics] == ["E110"]


def test_a_spec_just_under_the_size_limit_parses() -> None:
    text = "Linear 2->1 | (" + "Tanh | " * 14_000 + "Tanh) * 7"
    assert len(text.encode()) < 1 << 20
    assert len(resolve(parse(text)).layers) == 1 + 14_001 * 7


def test_diagnostic_fields() -> None:
    with pytest.raises(SpecError) as caught:
        parse("Linear 2->10 | ReLU | Linear 25->1 | Tanh", filename="x.mdl")
    (d,) = caught.value.diagnostics
    assert d.as_dict() == {
        "code": "E201",
        "message": "Linear expects 25 inputs, but the stage before it gives 10",
        "file": "x.mdl",
        "line": 1,
        "column": 23,
        "end_line": 1,
        "end_column": 35,
        "help": "write `Linear 10->1`, or `Linear ->1` to infer it",
        "severity": "error",
    }


def test_parsing_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from minidl.lang import parse, format_spec, parse_file\n"
        "from minidl.lang.summary import summarize\n"
        f"spec = parse_file({str(ROOT / 'specs' / 'seed.mdl')!r})\n"
        "format_spec(spec); summarize(spec, 'x'); spec.model_dump_json()\n"
        "try:\n    parse('Linear 2->3 | Linear 4->1')\nexcept Exception: pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parse_file_turns_unreadable_files_into_spec_errors(tmp_path: Path) -> None:
    """An embedding tool gets a `SpecError` with a diagnostic, not an OSError or a
    UnicodeDecodeError, for a missing file, a folder, or a file that is not UTF-8."""
    from minidl.lang import parse_file

    latin = tmp_path / "latin.mdl"
    latin.write_bytes(b"Linear 2->1;\n# gr\xf6\xdfe\n")
    for path, message in (
        (tmp_path / "missing.mdl", "no such file"),
        (tmp_path, "is a directory"),
        (latin, "is not UTF-8 text (byte 0xf6)"),
    ):
        with pytest.raises(SpecError) as caught:
            parse_file(path)
        (d,) = caught.value.diagnostics
        assert d.code == "E106" and message in d.message and d.filename == str(path)
    assert caught.value.diagnostics[0].line == 2  # the line of the first bad byte


def test_every_bad_set_is_reported() -> None:
    from minidl.lang.settings import SettingsError, apply_settings

    spec = parse("Linear 2->1")
    with pytest.raises(SettingsError) as caught:
        apply_settings(spec, ["sgd.lr=abc", "train.epoch=3", "train.seed=1"])
    codes = [d.code for d in caught.value.diagnostics]
    assert codes == ["E222", "E220"]
    text = caught.value.render()
    assert "sgd.lr=abc" in text and "did you mean `train.epochs`?" in text


def test_the_expansion_stops_where_asked_and_counts_without_expanding() -> None:
    spec = parse(
        "let b = (Linear ->4 | ReLU) * 50;\nLinear 2->4 | b | (Tanh + Identity) | Linear ->1"
    )
    blocks = {block.name: block.stages for block in spec.blocks}
    everything = expand(spec.network, blocks)
    assert len(everything) == 1 + 100 + 1 + 1 and isinstance(everything[-2], ir.Join)
    assert [s.kind for s in expand(spec.network, blocks, 4)] == [
        "Linear",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert expand(spec.network, blocks, 0) == []
    # Layers inside a join count, one level of nesting for each block, repetition and group.
    assert measure(spec.network, blocks) == (1 + 100 + 2 + 1, 3)
    assert expand(spec.network, blocks, join=lambda join: join.op)[-2] == "sum"
