"""Wall time of the summary command against `python -c "import torch"`.

    python benchmarks/cli.py

Both run as fresh processes, alternately, 10 times each; medians are compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import record

ROOT = Path(__file__).parents[1]
COMMANDS = {
    "python -m minidl.compile specs/seed.mdl": [
        sys.executable,
        "-m",
        "minidl.compile",
        "specs/seed.mdl",
    ],
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
}


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(10):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            samples[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    summary, torch_import = medians.values()
    lines = ["| command | median wall time (s) |", "|---|---|"]
    lines += [f"| `{name}` | {seconds:.3f} |" for name, seconds in medians.items()]
    lines.append(f"| ratio | {torch_import / summary:.1f}x |")
    record("Summary command against importing torch (benchmarks/cli.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
