"""Peak memory of training the report's network, and of the full Table 1 sweep.

    python benchmarks/memory.py

Each command runs as a child; every 20 ms the proportional set size (PSS, from
/proc/PID/smaps_rollup, so that pages shared by forked workers count once) of the child
and all its descendants is summed, and the peak is reported.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import record

ROOT = Path(__file__).parents[1]


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    highest = 0
    while process.poll() is None:
        highest = max(highest, sum(pss_kib(pid) for pid in descendants(process.pid)))
        time.sleep(0.02)
    if process.returncode != 0:
        raise SystemExit(f"{command} failed")
    return highest / 1024, time.perf_counter() - started


def main() -> None:
    lines = ["| run | peak memory (MiB, PSS summed over processes) | wall (s) |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as out:
        for spec in ("specs/seed.mdl", "specs/table1.mdl"):
            command = [
                sys.executable,
                "-m",
                "minidl.compile",
                spec,
                "--train",
                "--quiet",
                "--out",
                out,
            ]
            mib, seconds = peak(command)
            lines.append(f"| `{spec} --train` | {mib:.0f} | {seconds:.1f} |")
    record("Peak memory (benchmarks/memory.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
