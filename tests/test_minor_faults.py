"""Small faults found by fuzzing (issue 27's minor items), each with the test that found it."""

from __future__ import annotations

import pytest

from minidl.lang import parse
from minidl.lang.errors import SpecError


def test_known_escapes_keep_their_meaning() -> None:
    spec = parse('Linear 2->1;\ndata csv train="a\\"b\\\\c\\n" target=y;\n')
    assert spec.data is not None
    assert spec.data.train == 'a"b\\c\n'


@pytest.mark.parametrize("value", ["-inf", "-nan", "-Infinity"])
def test_a_signed_infinity_is_not_a_finite_number(value: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(f"Linear 2->1;\nsgd lr={value};\n")
    [found] = caught.value.diagnostics
    assert found.code == "E131"
    assert "finite number" in found.message and value in found.message
