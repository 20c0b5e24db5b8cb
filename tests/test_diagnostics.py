"""Golden diagnostics: each `tests/diagnostics/*.mdl` beside the exact text it must print.

Regenerate with `MINIDL_UPDATE_GOLDEN=1 pytest tests/test_diagnostics.py` (each rewritten
case fails), then read every changed `.expected` file by eye before committing it.
Also: the structured parts of a diagnostic (`related` places, `suggestions`).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from golden import check_golden

from minidl.lang import Diagnostic, SpecError, diagnose, parse
from minidl.lang.errors import render
from minidl.lang.nodes import Span
from minidl.lang.summary import summarize

HERE = Path(__file__).parent / "diagnostics"
CASES = sorted(HERE.glob("*.mdl"))
WARNINGS = sorted((HERE / "warnings").glob("*.mdl"))
DOCS = Path(__file__).parents[1] / "docs" / "ERRORS.md"


def rendered(path: Path) -> str:
    """What the summary prints: the parser's errors, or those found once a CSV case's header
    (a file beside it) is read."""
    text = path.read_text(encoding="utf-8")
    with pytest.raises(SpecError) as caught, contextlib.chdir(HERE):
        summarize(parse(text, filename=path.name), path.name)
    return caught.value.render(None if caught.value.text else text) + "\n"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path) -> None:
    check_golden(path.with_suffix(".expected"), rendered(path))


@pytest.mark.parametrize("path", WARNINGS, ids=[p.stem for p in WARNINGS])
def test_golden_warnings(path: Path) -> None:
    """A valid spec's warnings, as `diagnose` returns them and the command line prints.

    (tests/test_diagnostics.py's golden cases expect a `SpecError`, which a warning is not.)
    """
    text = path.read_text(encoding="utf-8")
    spec, diagnostics = diagnose(text, path.name)
    assert spec is not None and diagnostics
    assert all(d.severity == "warning" for d in diagnostics)
    printed = "\n".join(render(d, text.splitlines()) for d in diagnostics) + "\n"
    check_golden(path.with_suffix(".expected"), printed)


def test_an_update_rewrites_a_changed_golden_file_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tmp_path / "case.expected"
    expected.write_text("old\n", encoding="utf-8")
    monkeypatch.setenv("MINIDL_UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="rewritten"):
        check_golden(expected, "new\n")
    assert expected.read_text(encoding="utf-8") == "new\n"
    check_golden(expected, "new\n")  # unchanged: passes, even in update mode
    monkeypatch.delenv("MINIDL_UPDATE_GOLDEN")
    with pytest.raises(AssertionError):
        check_golden(expected, "other\n")


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_no_internals_leak() -> None:
    for path in CASES:
        text = path.with_suffix(".expected").read_text(encoding="utf-8")
        for internal in ("__ANON", "$END", "loc=", "Traceback", "pydantic", "Token(", "lark"):
            assert internal not in text, (path.name, internal)


def documented_codes() -> set[str]:
    return set(re.findall(r"^\| `(E\d{3})`", DOCS.read_text(encoding="utf-8"), flags=re.M))


# Codes exercised by other tests: CSV faults need files (tests/test_data.py,
# test_compile.py), E110 a 1 MiB text, E230 `--set`, E150 a machine without CUDA, E106 an
# unreadable spec file (test_language.py), E320 a test file beside its train file and E321
# a number too large for float32 (test_csv_cli.py), E262 a data set too small to hold out
# from (test_validation.py).
ELSEWHERE = {"E106", "E110", "E150", "E230", "E262", "E320", "E321"}
ELSEWHERE |= {f"E3{n:02d}" for n in range(1, 18)}
ELSEWHERE |= {f"E3{n}" for n in range(32, 38)}  # tables' faults need files: test_tables.py
# Image data faults need folders and files (tests/test_images.py).
ELSEWHERE |= {f"E3{n}" for n in range(70, 79)}


def test_every_documented_code_has_a_golden_case() -> None:
    golden = set()
    for path in CASES:
        golden |= set(re.findall(r"error\[(E\d{3})\]", path.with_suffix(".expected").read_text()))
    codes = documented_codes()
    assert codes, "docs/ERRORS.md lists no codes"
    assert codes - ELSEWHERE <= golden, sorted(codes - ELSEWHERE - golden)
    assert golden <= codes, sorted(golden - codes)


# -- diagnostics as data: related places and suggested fixes ------------------------------


def errors_of(text: str) -> list[Diagnostic]:
    spec, diagnostics = diagnose(text, "x.mdl")
    assert spec is None, text
    return diagnostics


def place(text: str, span: Span) -> str:
    """The text under a one-line span."""
    return text.splitlines()[span.line - 1][span.column - 1 : span.end_column - 1]


@pytest.mark.parametrize(
    ("text", "second", "first"),
    [
        ("let b = ReLU;\nlet b = Tanh;\nLinear 2->1 | b", (2, 5), "b"),
        ("Linear 2->1;\nsgd lr=0.1;\nsgd lr=0.2", (3, 1), "sgd lr=0.1"),
        ("Linear 2->1;\nadam;\n  sgd lr=0.2", (3, 3), "adam"),
    ],
)
def test_a_second_definition_points_at_the_first(
    text: str, second: tuple[int, int], first: str
) -> None:
    (d,) = errors_of(text)
    assert d.code in ("E121", "E212") and (d.line, d.column) == second
    ((span, note),) = d.related
    assert note == "first defined here"
    assert place(text, span) == first and span.line < d.line


FIXABLE = [
    ("Linear 2->1 | Tahn", "E200", "Tanh"),
    ("let hidden = ReLU;\nLinear 2->1 | hiden", "E200", "hidden"),
    ("Linear 2->1; los MSE", "E120", "loss"),
    ("Linear 2->1; sgd lr=0.1 bach=4", "E130", "batch"),
    ("Linear 2->1 | Dropout pp=0.1", "E130", "p"),
    ("Linear 2->1; loss mse", "E140", "MSE"),
    ("Linear 2->1; schedule cosin", "E131", "cosine"),
    ("Linear 2->1; data disc", "E141", "disk"),
    ("Linear 2->1; train device=gpu", "E131", "cuda"),
    ('Linear 2->1; train device="gpu"', "E131", '"cuda"'),
    ("Linear 2->1; sweep sgd.lrr=[0.1]", "E220", "sgd.lr"),
    ("Linear 2->1; sweep backend=[minidl, toch]", "E222", "torch"),
    ("Linear 2->1; sweep lr=unifrom(0.1, 1) samples=3", "E225", "uniform"),
]


@pytest.mark.parametrize(("text", "code", "replacement"), FIXABLE)
def test_each_did_you_mean_is_a_fix_that_removes_its_error(
    text: str, code: str, replacement: str
) -> None:
    (d,) = errors_of(text)
    assert d.code == code and d.help is not None and "did you mean" in d.help
    ((fix,),) = [d.suggestions]
    assert fix.replacement == replacement and (fix.span.line, fix.span.column) == (d.line, d.column)
    lines = text.splitlines()
    row = lines[fix.span.line - 1]
    lines[fix.span.line - 1] = (
        row[: fix.span.column - 1] + fix.replacement + row[fix.span.end_column - 1 :]
    )
    assert all(after.code != code for after in diagnose("\n".join(lines))[1])


def test_an_error_without_a_guess_suggests_nothing() -> None:
    (d,) = errors_of("Linear 2->1 | Zzzzzz")
    assert d.code == "E200" and d.suggestions == () and d.related == ()


DATA_WARNINGS = sorted((HERE / "data_warnings").glob("*.mdl"))


@pytest.mark.parametrize("path", DATA_WARNINGS, ids=[p.stem for p in DATA_WARNINGS])
def test_golden_data_warnings(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warnings found while loading a CSV beside the spec, as `--train` prints them to stderr
    (they were computed and never shown)."""
    from minidl.compile import main

    monkeypatch.chdir(path.parent)
    assert main([path.name, "--train", "--quiet", "--out", str(tmp_path)]) == 0
    check_golden(path.with_suffix(".expected"), capsys.readouterr().err)
