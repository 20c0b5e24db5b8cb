"""No file under minidl/ passes 350 lines without saying why (issue 20: split by idea).

A module that has a reason to be longer says so in its docstring, naming the limit
("... longer than 350 lines because ..."), so that the reason is read where the length is.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

LIMIT = 350
PACKAGE = Path(__file__).parents[1] / "minidl"


def long_files() -> dict[str, int]:
    """Every module under minidl/ longer than the limit, by path, with its line count."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LIMIT:
            found[path.relative_to(PACKAGE).as_posix()] = lines
    return found


def says_why(path: str) -> bool:
    docstring = ast.get_docstring(ast.parse((PACKAGE / path).read_text(encoding="utf-8")))
    return docstring is not None and f"{LIMIT} lines" in docstring


def test_no_long_file_without_a_reason() -> None:
    unexplained = {path: lines for path, lines in long_files().items() if not says_why(path)}
    assert not unexplained, f"split these by idea, or say why in the docstring: {unexplained}"


def test_the_check_sees_a_long_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "long.py").write_text('"""A long module."""\n' + "x = 1\n" * LIMIT)
    (tmp_path / "explained.py").write_text(
        f'"""Longer than {LIMIT} lines because ..."""\n' + "x = 1\n" * LIMIT
    )
    (tmp_path / "short.py").write_text("x = 1\n" * LIMIT)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert long_files() == {"explained.py": LIMIT + 1, "long.py": LIMIT + 1}
    assert not says_why("long.py") and says_why("explained.py")
