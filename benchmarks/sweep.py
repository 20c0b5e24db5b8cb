"""Wall time of the report's Table 1 sweep (60 runs of 100 epochs): minidl's stacked
ensembles in parallel workers, against the same 60 runs one at a time with the torch
backend (torch.nn + autograd), both through the command line, in this one invocation.

    python benchmarks/sweep.py [--quick]
    python benchmarks/sweep.py --ray

--quick trains 10 epochs instead of 100 (the ratio, not the table, is what it checks).
--ray times a 40-configuration random search × 3 runs × 20 epochs on the disk with
`--executor ray` (a Ray instance started on this machine, its start-up included) against
`--executor local`; the goal is Ray's overhead at most 25 % of the local wall time.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import record

ROOT = Path(__file__).parents[1]


SEARCH = """Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;
train epochs=20 seed=0; data disk;
sweep lr=loguniform(1e-3, 0.3) batch=randint(4, 64) sgd.momentum=uniform(0, 0.9) samples=40 runs=3
"""


def wall(args: list[str], spec: str = "specs/table1.mdl") -> tuple[float, str]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "minidl.compile", spec, "--train",
                   "--quiet", "--out", out, *args]  # fmt: skip
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def ray_against_local() -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "search.mdl"
        spec.write_text(SEARCH)
        local, table = wall([], str(spec))
        ray, _ = wall(["--executor", "ray"], str(spec))
    lines = [
        "| 40 configurations × 3 runs × 20 epochs | wall time (s) |",
        "|---|---|",
        f"| --executor local (worker processes) | {local:.1f} |",
        f"| --executor ray (a Ray instance started here, start-up included) | {ray:.1f} |",
        f"| Ray's overhead | {ray - local:+.1f} s ({(ray - local) / local:+.0%}) |",
        "",
        "```",
        "\n".join(table.strip().splitlines()[:6]),
        "...",
        "```",
    ]
    record("Random search: --executor ray against local (benchmarks/sweep.py --ray)", "\n".join(lines))


def main() -> None:
    if "--ray" in sys.argv:
        ray_against_local()
        return
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
