"""Parse-plus-check time of specs of 10, 100, 1,000 and 10,000 stages (no torch involved).

python benchmarks/parse.py
"""

from __future__ import annotations

import time

from common import record

from minidl.lang import parse
from minidl.lang.parser import parser

SIZES = (10, 100, 1_000, 10_000)


def spec_text(stages: int) -> str:
    """`Linear 2->25 | ReLU | Linear 25->25 | ... | Linear 25->1`: `stages` stages in all."""
    middle = ["ReLU", "Linear 25->25"] * ((stages - 2) // 2)
    return " | ".join(["Linear 2->25", *middle, "Linear 25->1"][:stages]) + ";"


def best_of(text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        parse(text)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    started = time.perf_counter()
    parser()
    build = time.perf_counter() - started
    lines = ["| stages | parse + check (ms) | growth |", "|---|---|---|"]
    previous = None
    for stages in SIZES:
        seconds = best_of(spec_text(stages), 5 if stages < 10_000 else 3)
        growth = "" if previous is None else f"{seconds / previous:.1f}x"
        lines.append(f"| {stages:,} | {seconds * 1e3:.1f} | {growth} |")
        previous = seconds
    lines.append(f"\nBuilding the LALR parser once per process: {build * 1e3:.0f} ms.")
    record("Parse and check (benchmarks/parse.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
