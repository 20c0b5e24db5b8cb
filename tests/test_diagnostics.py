"""Golden diagnostics: each `tests/diagnostics/*.mdl` beside the exact text it must print.

Regenerate with `MINIDL_UPDATE_GOLDEN=1 pytest tests/test_diagnostics.py`, then read every
changed `.expected` file by eye before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from minidl.lang import SpecError, diagnose, parse
from minidl.lang.errors import render

HERE = Path(__file__).parent / "diagnostics"
CASES = sorted(HERE.glob("*.mdl"))
WARNINGS = sorted((HERE / "warnings").glob("*.mdl"))
UPDATE = os.environ.get("MINIDL_UPDATE_GOLDEN") == "1"
DOCS = Path(__file__).parents[1] / "docs" / "ERRORS.md"


def rendered(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        parse(path.read_text(encoding="utf-8"), filename=path.name)
    return str(caught.value) + "\n"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path) -> None:
    expected = path.with_suffix(".expected")
    text = rendered(path)
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", WARNINGS, ids=[p.stem for p in WARNINGS])
def test_golden_warnings(path: Path) -> None:
    """A valid spec's warnings, as `diagnose` returns them and the command line prints."""
    text = path.read_text(encoding="utf-8")
    spec, diagnostics = diagnose(text, path.name)
    assert spec is not None and diagnostics
    printed = "\n".join(render(d, text.splitlines()) for d in diagnostics) + "\n"
    expected = path.with_suffix(".expected")
    if UPDATE:
        expected.write_text(printed, encoding="utf-8")
    assert printed == expected.read_text(encoding="utf-8")


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
# unreadable spec file (test_language.py); E262 a data set too small to hold out from
# (test_validation.py).
ELSEWHERE = {"E106", "E110", "E150", "E230", "E262"} | {f"E3{n:02d}" for n in range(1, 18)}


def test_every_documented_code_has_a_golden_case() -> None:
    golden = set()
    for path in CASES:
        golden |= set(re.findall(r"error\[(E\d{3})\]", path.with_suffix(".expected").read_text()))
    codes = documented_codes()
    assert codes, "docs/ERRORS.md lists no codes"
    assert codes - ELSEWHERE <= golden, sorted(codes - ELSEWHERE - golden)
    assert golden <= codes, sorted(golden - codes)
