"""Golden files: a text compared with the file that holds what it must be.

Under `MINIDL_UPDATE_GOLDEN=1` a file that differs is rewritten and its test fails, so that
an update never passes unread: read the change, then run the tests again without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["check_golden"]


def check_golden(expected: Path, text: str) -> None:
    """Assert that `text` is what `expected` holds (rewrite it and fail, in update mode)."""
    old = expected.read_text(encoding="utf-8") if expected.exists() else None
    if os.environ.get("MINIDL_UPDATE_GOLDEN") == "1" and text != old:
        expected.write_text(text, encoding="utf-8")
        pytest.fail(f"{expected.name} rewritten: read the change, then run again without update")
    assert text == old, f"{expected.name} differs (MINIDL_UPDATE_GOLDEN=1 rewrites it)"
