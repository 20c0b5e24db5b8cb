"""Reading a CSV of 1,000,000 rows × 20 numeric features + a label: minidl against pandas.

    python benchmarks/data.py [--rows N]
    python benchmarks/data.py --tables [--rows N]   (text columns and gaps: data_tables.py)

Times, in this process and interleaved (median of rounds): `minidl.data.read_csv` to
float32 tensors, `pandas.read_csv` (C engine, a DataFrame), and the candidates weighed
for the reader, `numpy.loadtxt` and `pyarrow.csv` (if installed). Each reader's peak
memory is measured in a child process of its own, as the growth of its peak resident set
over the baseline after imports, and set against the float32 tensors that minidl returns.
The old reader (v1's Python loop over `csv.reader`, copied below) is timed once, in its
child. Goals: minidl within 1.5x of pandas' time, its peak within 3x of its tensors.
"""

from __future__ import annotations

import csv
import io
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

from minidl.data import read_csv

FEATURES = 20


def write_csv(path: Path, rows: int) -> None:
    """Features in [-1, 1) with six significant digits, a 0/1 label, as real files have."""
    generator = np.random.default_rng(0)
    header = ",".join([*(f"x{i}" for i in range(FEATURES)), "label"])
    with path.open("w") as file:
        file.write(header + "\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            table = np.column_stack(
                [generator.uniform(-1, 1, (n, FEATURES)), generator.integers(0, 2, n)]
            )
            np.savetxt(file, table, delimiter=",", fmt=["%.6g"] * FEATURES + ["%d"])


def old_load_csv(path: Path, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """v1's reader (minidl/data.py before v2), its diagnostics left out: a Python loop."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = [cell.strip() for cell in rows[0]]
    column = header.index(target)
    values: list[list[float]] = []
    for row in rows[1:]:
        if not row or not any(cell.strip() for cell in row):
            continue
        values.append([float(cell) for cell in row])
    table = torch.tensor(values, dtype=torch.float64)
    features = torch.cat([table[:, :column], table[:, column + 1 :]], dim=1)
    return features, table[:, column : column + 1]


def readers(path: Path) -> dict[str, Callable[[], object]]:
    import pandas as pd

    found: dict[str, Callable[[], object]] = {
        "minidl read_csv (float32 tensors)": lambda: read_csv(path, "label", dtype=torch.float32),
        "pandas.read_csv (C engine)": lambda: pd.read_csv(path),
        "numpy.loadtxt": lambda: np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32),
    }
    try:
        import pyarrow.csv as arrow  # type: ignore[import-untyped, unused-ignore]

        found["pyarrow.csv.read_csv"] = lambda: arrow.read_csv(path)
    except ImportError:
        pass
    return found


OLD = "old minidl (Python loop, float64)"


def child(name: str, path: Path) -> None:
    """Run one reader once; print its seconds and peak growth (MiB) as JSON.

    The kernel's record of the peak resident set is reset first (`clear_refs`), so that the
    peak is the reader's, not that of the imports before it.
    """
    function = (lambda: old_load_csv(path, "label")) if name == OLD else readers(path)[name]
    Path("/proc/self/clear_refs").write_text("5")
    baseline = resident_kib("VmRSS")
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    peak = resident_kib("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mib": (peak - baseline) / 1024}))


def resident_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure_child(name: str, path: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", name, str(path)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(output.splitlines()[-1])
    return result


def main() -> None:
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        write_csv(path, rows)
        table = read_csv(path, "label", dtype=torch.float32)
        returned = table.inputs.nbytes + table.target.codes.nbytes
        functions = readers(path)
        times = median_time(functions, repeat=1, rounds=5)
        peaks = {name: measure_child(name, path)["peak_mib"] for name in functions}
        old = measure_child(OLD, path)
        size = path.stat().st_size / 2**20
    pandas = times["pandas.read_csv (C engine)"]
    lines = [
        f"{rows:,} rows × {FEATURES} features + a label, {size:.0f} MiB of CSV; minidl returns "
        f"{returned / 2**20:.0f} MiB of tensors (float32 inputs, int64 label codes).",
        "",
        "| reader | time (s) | vs pandas | peak memory (MiB) | vs minidl's tensors |",
        "|---|---|---|---|---|",
    ]
    for name, seconds in [*times.items(), (OLD, old["seconds"])]:
        peak = old["peak_mib"] if name == OLD else peaks[name]
        lines.append(
            f"| {name} | {seconds:.2f} | {seconds / pandas:.2f}x | {peak:.0f} "
            f"| {peak * 2**20 / returned:.2f}x |"
        )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines += [
        "",
        "The old reader is timed once; the others are the median of 5 interleaved rounds.",
        f"Load average (1, 5, 15 min) when done: {load}; other work on the machine slows",
        "every reader, and the threads of minidl and pandas most.",
    ]
    record("Reading a large CSV file (benchmarks/data.py)", "\n".join(lines))


if __name__ == "__main__":
    if "--tables" in sys.argv:
        from data_tables import main as tables_main

        tables_main(
            int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
        )
    elif "--child" in sys.argv:
        name, where = sys.argv[sys.argv.index("--child") + 1 :]
        if name != OLD:
            import pandas  # noqa: F401  (imports are part of the baseline, not the peak)
        child(name, Path(where))
    else:
        main()
