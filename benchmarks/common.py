"""Helpers shared by the benchmarks: timing by interleaved rounds, and RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


def median_time(
    functions: dict[str, Callable[[], object]], repeat: int, rounds: int
) -> dict[str, float]:
    """Seconds per call of each function: the median over `rounds` rounds of `repeat` calls.

    The functions take turns within each round, so that a slow moment of the machine
    falls on all of them alike; only ratios measured in one run are compared.
    """
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():  # warm up
        for _ in range(max(3, repeat // 10)):
            function()
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(repeat):
                function()
            samples[name].append((time.perf_counter() - started) / repeat)
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        import torch

        threads = f", torch {torch.__version__}, {torch.get_num_threads()} threads by default"
    except ImportError:
        threads = ""
    python = platform.python_version()
    return f"{platform.system()} {cpu}, {os.cpu_count()} cores, Python {python}{threads}"


def record(title: str, table: str) -> None:
    """Print the table and append it, with date, machine and command, to RESULTS.md."""
    print(table)
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n## {title}\n\n{stamp} · {machine()}\n\n    {command}\n\n{table}\n"
    with RESULTS.open("a", encoding="utf-8") as file:
        file.write(entry)
