"""MDL, the minidl model language: parse, check and format specs without importing torch.

    from minidl.lang import parse, parse_file, format_spec, Spec, SpecError
    spec = parse(text, filename="x.mdl")   # a validated, frozen pydantic model
    format_spec(spec)                      # canonical text; parse(format_spec(spec)) == spec

The pipeline, one module a stage: `parser` (text to lark tree), `lower` (tree to syntax
nodes), `check` (syntax nodes to the IR of `ir`, with `shapes` for widths), `format`.
`diagnosis` runs them all and never raises: `diagnose`, and `Diagnoser` for an editor.
"""

from __future__ import annotations

import os
from pathlib import Path

from minidl.lang.check import check
from minidl.lang.diagnosis import Diagnoser, diagnose, no_garbage_collection
from minidl.lang.errors import Diagnostic, SpecError
from minidl.lang.format import format_spec
from minidl.lang.ir import Spec
from minidl.lang.lower import lower
from minidl.lang.nodes import Span
from minidl.lang.parser import parse_tree
from minidl.lang.reformat import format_text
from minidl.lang.shapes import Layer, Resolution, resolve

__all__ = [
    "Diagnoser",
    "Diagnostic",
    "Layer",
    "Resolution",
    "Spec",
    "SpecError",
    "diagnose",
    "format_spec",
    "format_text",
    "parse",
    "parse_file",
    "read_source",
    "resolve",
]


def parse(text: str, filename: str = "<string>") -> Spec:
    """Parse and check MDL text; raise `SpecError` listing every error found."""
    with no_garbage_collection():
        return check(lower(parse_tree(text, filename)), text, filename)


def parse_file(path: str | os.PathLike[str]) -> Spec:
    """Read a `.mdl` file (UTF-8) and parse it; its path names it in diagnostics.

    A file that is missing, a folder, binary or not UTF-8 is a `SpecError` too (E106).
    """
    name = str(path)
    return parse(read_source(name), filename=name)


def read_source(path: str) -> str:
    """The text of a spec file, or a `SpecError` (E106) that says why it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _unreadable(path, 1, "no such file", "check the path") from None
    except IsADirectoryError:
        raise _unreadable(path, 1, "is a directory, not a spec file", None) from None
    except OSError as caught:
        raise _unreadable(path, 1, f"cannot read: {caught.strerror}", None) from None
    if b"\0" in data:
        raise _unreadable(path, 1, "is a binary file, not an MDL spec", None)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as caught:
        line = data[: caught.start].count(b"\n") + 1
        byte = f"byte 0x{data[caught.start]:02x}"
        raise _unreadable(path, line, f"is not UTF-8 text ({byte})", "save it as UTF-8") from None


def _unreadable(path: str, line: int, message: str, help: str | None) -> SpecError:
    span = Span(line=line, column=1, end_line=line, end_column=2)
    return SpecError([Diagnostic.at(span, "E106", message, help, path)])
