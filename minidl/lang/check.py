"""Stage 3: syntax nodes to a checked `Spec`, reporting every error with its place and fix.

One `Reporter` collects the text's diagnostics and is handed to each part of the check:
the statements sorted out (`check_statements`), the blocks and the network
(`check_stages`, `layer_arguments`), each statement's options (`statement_options`,
`sweep_axes`), the mistakes between statements (`across_statements`), and last, once
nothing else is wrong, the shapes (`shapes`) and the memory the data needs (`memory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minidl.lang import ir
from minidl.lang.across_statements import check_across_statements
from minidl.lang.check_stages import StageChecker
from minidl.lang.check_statements import partition_statements
from minidl.lang.errors import Reporter, SpecError
from minidl.lang.memory import memory_problem
from minidl.lang.registry import STATEMENTS
from minidl.lang.shapes import Resolution, data_shape, resolve
from minidl.lang.statement_options import check_statement
from minidl.lang.sweep_axes import check_sweep
from minidl.lang.syntax import Statement

__all__ = ["check", "check_spec"]

EXAMPLE = "Linear 2->25 | ReLU | Linear 25->1 | Tanh"


def check(statements: Sequence[Statement], text: str, filename: str = "<string>") -> ir.Spec:
    """Give the statements their meaning; raise `SpecError` listing every error found."""
    reporter = Reporter(text, filename)
    spec, _ = check_spec(statements, reporter)
    if reporter.diagnostics or spec is None:
        raise SpecError(reporter.diagnostics, text)
    return spec


def check_spec(
    statements: Sequence[Statement], reporter: Reporter
) -> tuple[ir.Spec | None, Resolution | None]:
    """The spec the statements mean, or None; each mistake goes to `reporter`.

    With the spec comes its network expanded (the linter reuses it), once the spec has no
    other error.
    """
    if not statements:
        reporter.error("E104", "the spec is empty", 0, 1, f"write a network, such as `{EXAMPLE}`")
        return None, None
    lets, network, words = partition_statements(reporter, statements)
    checker = StageChecker(reporter)
    blocks = checker.blocks(lets, network)
    stages = None
    if network is not None:
        later = [let for let in lets if let.start > network.start]
        stages = checker.stages(network.stages, blocks, None, later)
    fields: dict[str, Any] = {}
    for word, call in words.items():
        if word != "sweep":
            fields[STATEMENTS[word].field] = check_statement(reporter, call)
    if "sweep" in words:
        fields["sweep"] = check_sweep(reporter, words["sweep"], fields)
    check_across_statements(reporter, fields, words)
    if network is None:
        reporter.error("E122", "the spec has no network", 0, 1, f"add one, such as `{EXAMPLE}`")
    if reporter.diagnostics or stages is None or any(v is None for v in fields.values()):
        return None, None
    assert network is not None
    spec = ir.Spec(
        blocks=tuple(blocks.values()),
        network=stages,
        span=reporter.span(network.start, network.end),
        source=None if reporter.filename.startswith("<") else reporter.filename,
        **fields,
    )
    resolution = resolve(spec)
    reporter.diagnostics.extend(resolution.diagnostics)
    features = data_shape(spec)[0]
    if (
        isinstance(spec.data, ir.SeededData)
        and isinstance(features, int)
        and not reporter.diagnostics
    ):
        rows = max(spec.data.train, spec.data.test)
        problem = memory_problem(spec, features, rows, resolution)
        reporter.diagnostics.extend([problem] if problem is not None else [])
    return spec, resolution
