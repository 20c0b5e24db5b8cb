"""MDL, the minidl model language: parse, check and format specs without importing torch.

    from minidl.lang import parse, parse_file, format_spec, Spec, SpecError
    spec = parse(text, filename="x.mdl")   # a validated, frozen pydantic model
    format_spec(spec)                      # canonical text; parse(format_spec(spec)) == spec

The pipeline, one module a stage: `parser` (text to lark tree), `lower` (tree to syntax
nodes), `check` (syntax nodes to the IR of `ir`, with `shapes` for widths), `format`.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

from minidl.lang.check import check
from minidl.lang.errors import Diagnostic, SpecError
from minidl.lang.format import format_spec
from minidl.lang.ir import Spec
from minidl.lang.lower import lower
from minidl.lang.parser import parse_tree
from minidl.lang.shapes import Layer, Resolution, resolve

__all__ = [
    "Diagnostic",
    "Layer",
    "Resolution",
    "Spec",
    "SpecError",
    "format_spec",
    "parse",
    "parse_file",
    "resolve",
]


def parse(text: str, filename: str = "<string>") -> Spec:
    """Parse and check MDL text; raise `SpecError` listing every error found."""
    with _no_garbage_collection():
        return check(lower(parse_tree(text, filename)), text, filename)


@contextlib.contextmanager
def _no_garbage_collection() -> Iterator[None]:
    # Parsing allocates many small objects and makes no reference cycles; the collector's
    # passes over them cost about a tenth of the time on long networks.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_file(path: str | os.PathLike[str]) -> Spec:
    """Read a `.mdl` file (UTF-8) and parse it; its path names it in diagnostics."""
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), filename=str(path))
