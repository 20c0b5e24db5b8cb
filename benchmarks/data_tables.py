"""The tables case of benchmarks/data.py: 1,000,000 rows × 18 numeric + 2 text columns with
5 % missing cells (empty or `NA`), and a 0/1 label.

    python benchmarks/data.py --tables [--rows N]

Times, in this process and interleaved (median of rounds): minidl reading and encoding
the file into its train set (`csv_datasets`: missing cells imputed, text one-hot, labels;
what `--train` does before the network) against `pandas.read_csv` alone on the same file.
Each one's peak memory is measured in a child process, as in data.py. Goal: minidl
within 2x of pandas' time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import median_time, record

NUMBERS, MISSING = 18, 0.05
CITIES = [f"city{i:02d}" for i in range(20)]


def write_table(path: Path, rows: int) -> None:
    """Numbers in [-1, 1) with six significant digits, a city of 20 and a grade of 5, each
    cell missing with probability 5 % (half empty, half `NA`), a 0/1 label."""
    import pandas as pd

    generator = np.random.default_rng(0)
    with path.open("w") as file:
        for start in range(0, rows, 200_000):
            n = min(200_000, rows - start)
            columns: dict[str, object] = {
                f"x{i}": np.char.mod("%.6g", generator.uniform(-1, 1, n)) for i in range(NUMBERS)
            }
            columns["city"] = np.array(CITIES)[generator.integers(0, 20, n)]
            columns["grade"] = np.array(list("ABCDE"))[generator.integers(0, 5, n)]
            frame = pd.DataFrame(columns).astype(object)
            gaps = generator.random(frame.shape) < MISSING
            frame = frame.mask(gaps, np.where(generator.random(frame.shape) < 0.5, "", "NA"))
            frame["label"] = generator.integers(0, 2, n)
            frame.to_csv(file, index=False, header=start == 0)


def readers(path: Path) -> dict[str, Callable[[], object]]:
    import pandas as pd

    from minidl.data.csv_sets import csv_datasets

    def minidl_sets() -> object:
        generator = torch.Generator().manual_seed(0)
        return csv_datasets(path, "label", outputs=2, loss="classes", generator=generator)

    return {
        "minidl csv_datasets (read, impute, one-hot, labels)": minidl_sets,
        "pandas.read_csv (C engine)": lambda: pd.read_csv(path),
    }


def child(name: str, path: Path) -> None:
    function = readers(path)[name]
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _kib("VmRSS")
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mib": (_kib("VmHWM") - baseline) / 1024}))


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        write_table(path, rows)
        functions = readers(path)
        sets = next(iter(functions.values()))()
        width = sets.train.inputs.shape[1]  # type: ignore[attr-defined]
        returned = sets.train.inputs.nbytes  # type: ignore[attr-defined]
        times = median_time(functions, repeat=1, rounds=3)
        peaks = {}
        for name in functions:
            command = [sys.executable, __file__, "--child", name, str(path)]
            output = subprocess.run(command, capture_output=True, text=True, check=True)
            peaks[name] = json.loads(output.stdout.splitlines()[-1])["peak_mib"]
        size = path.stat().st_size / 2**20
    pandas = times["pandas.read_csv (C engine)"]
    lines = [
        f"{rows:,} rows × {NUMBERS} numeric + 2 text columns (20 and 5 categories), "
        f"{MISSING:.0%} of cells missing, a 0/1 label; {size:.0f} MiB of CSV. minidl returns "
        f"{width} inputs a row ({returned / 2**20:.0f} MiB of float64).",
        "",
        "| reader | time (s) | vs pandas | peak memory (MiB) |",
        "|---|---|---|---|",
    ]
    for name, seconds in times.items():
        lines.append(f"| {name} | {seconds:.2f} | {seconds / pandas:.2f}x | {peaks[name]:.0f} |")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines += [
        "",
        f"Median of 3 interleaved rounds. Load average (1, 5, 15 min) when done: {load}.",
    ]
    record(
        "Reading and encoding a table with text and gaps (benchmarks/data.py --tables)",
        "\n".join(lines),
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        name, where = sys.argv[sys.argv.index("--child") + 1 :]
        import pandas  # noqa: F401  (imports are part of the baseline, not the peak)

        child(name, Path(where))
