"""The language server's latency through a real stdio client: change to published diagnostics
for specs of 100, 1,000 and 10,000 lines; hover and completion at 1,000 lines.

Two edits: a digit flipped near the end (the statements before it keep their offsets), and a
digit typed then deleted in the middle (every statement after it moves).

python benchmarks/lsp.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from common import record
from lsprotocol import types

from minidl.lsp.client import SpecClient

SIZES = (100, 1_000, 10_000)
URI = "file:///tmp/minidl-lsp-bench/spec.mdl"


def spec_text(lines: int) -> str:
    """`lines` lines: commented `let` blocks, a network that uses them, the statements."""
    out = ["# generated: blocks, a network, statements"]
    blocks = max(1, (lines - 8) // 2)
    for i in range(blocks):
        out += [f"# block {i}: größe → 25", f"let b{i} = Linear ->25 | ReLU;"]
    uses = " | ".join(f"b{i}" for i in range(0, blocks, max(1, blocks // 50)))
    out.append(f"Linear 2->25 | {uses} | Linear ->1;")
    out += ["loss MSE reduction=mean;", "adam lr=0.01 batch=32;", "train epochs=10 seed=1;"]
    return "\n".join(out) + "\n"


def flip_near_the_end(text: str, i: int) -> tuple[str, types.Range]:
    """`adam lr=0.01 ...`: flip one digit back and forth."""
    line = text.count("\n") - 2
    return ("2" if i % 2 == 0 else "1"), types.Range(
        start=types.Position(line=line, character=11),
        end=types.Position(line=line, character=12),
    )


def type_in_the_middle(text: str, i: int) -> tuple[str, types.Range]:
    """`let bN = Linear ->25 | ReLU;` in the middle: type a `5` after the 25, then delete it."""
    line = (text.count("\n") // 2) & ~1  # even lines (from 2) hold the `let`s
    column = text.splitlines()[line].index("->25") + 4
    end = column + (i % 2)
    return ("5" if i % 2 == 0 else ""), types.Range(
        start=types.Position(line=line, character=column),
        end=types.Position(line=line, character=end),
    )


Edit = Callable[[str, int], tuple[str, types.Range]]


async def change_latency(client: SpecClient, text: str, repeat: int, edit: Edit) -> float:
    """Median seconds from a one-character change to the diagnostics of that version."""
    client.open(URI, text)
    await client.diagnostics(URI, 0)
    samples = []
    for i in range(repeat):
        new, where = edit(text, i)
        started = time.perf_counter()
        version = client.change(URI, new, where)
        await client.diagnostics(URI, version)
        samples.append(time.perf_counter() - started)
    client.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
    )
    return statistics.median(samples)


async def request_latency(client: SpecClient, method: str, line: int, column: int) -> float:
    """Median seconds of a position request against the cached analysis."""
    params = types.TextDocumentPositionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=column),
    )
    samples = []
    for _ in range(30):
        started = time.perf_counter()
        await client.request(method, params)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure() -> str:
    rows = [
        "| spec | change → diagnostics (ms, median): digit flipped near the end"
        " | digit typed and deleted in the middle |",
        "|---|---|---|",
    ]
    async with SpecClient(timeout=300) as client:
        for lines in SIZES:
            text, repeat = spec_text(lines), 21 if lines < 10_000 else 7
            near_end = await change_latency(client, text, repeat, flip_near_the_end)
            middle = await change_latency(client, text, repeat, type_in_the_middle)
            rows.append(f"| {lines:,} lines | {near_end * 1e3:.1f} | {middle * 1e3:.1f} |")
        text = spec_text(1_000)
        client.open(URI, text)
        await client.diagnostics(URI, 0)
        stage = text.count("\n") - 4  # the network's line; column 1 is its first `Linear`
        hover = await request_latency(client, types.TEXT_DOCUMENT_HOVER, stage, 1)
        completion = await request_latency(client, types.TEXT_DOCUMENT_COMPLETION, stage, 15)
    rows += [
        "",
        "| request at 1,000 lines | latency (ms, median of 30) |",
        "|---|---|",
        f"| hover on a stage | {hover * 1e3:.1f} |",
        f"| completion after `\\|` | {completion * 1e3:.1f} |",
    ]
    return "\n".join(rows)


def main() -> None:
    record("Language server latency (benchmarks/lsp.py)", asyncio.run(measure()))


if __name__ == "__main__":
    main()
