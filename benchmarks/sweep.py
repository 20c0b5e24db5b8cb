"""Wall time of the report's Table 1 sweep (60 runs of 100 epochs): minidl's stacked
ensembles in parallel workers, against the same 60 runs one at a time with the torch
backend (torch.nn + autograd), both through the command line, in this one invocation.

    python benchmarks/sweep.py [--quick]

--quick trains 10 epochs instead of 100 (the ratio, not the table, is what it checks).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import record

ROOT = Path(__file__).parents[1]


def wall(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "minidl.compile", "specs/table1.mdl", "--train",
                   "--quiet", "--out", out, *args]  # fmt: skip
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def main() -> None:
    epochs = ["--set", "train.epochs=10"] if "--quick" in sys.argv else []
    ours, table = wall(epochs)
    theirs, _ = wall([*epochs, "--set", "train.backend=torch", "--jobs", "1"])
    lines = [
        "| sweep | wall time (s) |",
        "|---|---|",
        f"| minidl, stacked ensembles, default jobs | {ours:.1f} |",
        f"| torch backend, one run at a time | {theirs:.1f} |",
        f"| ratio | {theirs / ours:.1f}x |",
        "",
        "```",
        table.strip(),
        "```",
    ]
    record(
        "Table 1 sweep: stacked minidl against one-by-one torch (benchmarks/sweep.py)",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
