"""Wall time of the report's Table 1 sweep (60 runs of 100 epochs): minidl's stacked
ensembles in parallel workers, against the same 60 runs one at a time with the torch
backend (torch.nn + autograd), both through the command line, in this one invocation.

    python benchmarks/sweep.py [--quick]
    python benchmarks/sweep.py --ray

--quick trains 10 epochs instead of 100 (the ratio, not the table, is what it checks).
--ray times a 40-configuration random search × 3 runs × 20 epochs on the disk with
`--executor local`, with `--executor ray` (a Ray instance started on this machine, its
start-up included) and with `--executor ray --address` (a one-machine cluster already up);
the goal is Ray's overhead at most 25 % of the local wall time. It also prints the bytes a
task sends and receives.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import record

from minidl.cli.sweep_grid import Cell, Task

ROOT = Path(__file__).parents[1]


SEARCH = """Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh;
train epochs=20 seed=0; data disk;
sweep lr=loguniform(1e-3, 0.3) batch=randint(4, 64) sgd.momentum=uniform(0, 0.9) samples=40 runs=3
"""


def wall(
    args: list[str], spec: str = "specs/table1.mdl", env: dict[str, str] | None = None
) -> tuple[float, str]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "minidl.compile", spec, "--train",
                   "--quiet", "--out", out, *args]  # fmt: skip
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=True, env=env
        )
    return time.perf_counter() - started, result.stdout


def payload(spec_path: Path) -> tuple[int, int, int]:
    """Bytes pickled per task, both ways, for the search's tasks: the arguments that travel to
    the worker (smallest, largest) and one task's result coming back."""
    from minidl.cli.ray_executor import task_arguments
    from minidl.cli.sweep_grid import cells, tasks
    from minidl.cli.sweep_task import run_task
    from minidl.lang import parse_file

    spec = parse_file(spec_path)
    assert spec.sweep is not None
    work = tasks(cells(spec), spec.sweep.runs)
    sizes = [len(pickle.dumps(task_arguments(task))) for task in work]
    one = min(work, key=lambda task: task.cell.cost)
    spec = one.cell.spec
    brief = spec.model_copy(update={"train": spec.train.model_copy(update={"epochs": 1})})
    result = run_task(Task(Cell(one.cell.index, (), brief), one.first, one.count))  # same size
    return min(sizes), max(sizes), len(pickle.dumps(result))


@contextmanager
def ray_head(cpus: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A cluster of this one machine, started by `ray start --head` with a token of its own
    and stopped at the end: its address, and the environment that joins it. (`--block`:
    SIGTERM stops its processes; `ray stop` would stop every Ray instance on the machine.)"""
    ray_cli = str(Path(sys.executable).parent / "ray")
    with tempfile.TemporaryDirectory() as temp:
        token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        env = {**os.environ, "RAY_TMPDIR": temp, **token}
        start = [ray_cli, "start", "--head", "--block", "--num-cpus", str(cpus), "--port",
                 "6390", "--include-dashboard", "false", "--disable-usage-stats"]  # fmt: skip
        log = Path(temp) / "ray-start.log"
        with log.open("w") as output:
            head = subprocess.Popen(start, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            while "Ray runtime started" not in log.read_text():
                assert head.poll() is None, log.read_text()
                time.sleep(0.1)
            yield "127.0.0.1:6390", env
        finally:
            head.terminate()
            head.wait()


def sweep_wall(stdout: str) -> float:
    """The `wall time` the sweep prints: from its first cell to its last, no start-up."""
    found = re.search(r"^wall time ([0-9.]+) s", stdout, re.MULTILINE)
    assert found is not None, stdout
    return float(found.group(1))


def ray_against_local() -> None:
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "search.mdl"
        spec.write_text(SEARCH)
        local, table = wall([], str(spec))
        started_here, here_out = wall(["--executor", "ray"], str(spec))
        with ray_head(cpus) as (address, env):
            joined, joined_out = wall(["--executor", "ray", "--address", address], str(spec), env)
        sent_min, sent_max, back = payload(spec)
    rows = [
        ("--executor local (worker processes)", local, table),
        ("--executor ray, a Ray instance started here", started_here, here_out),
        ("--executor ray --address, a running `ray start --head`", joined, joined_out),
    ]
    lines = [
        "| 40 configurations × 3 runs × 20 epochs | command wall (s) | overhead | sweep wall (s) |",
        "|---|---|---|---|",
        *(
            f"| {name} | {seconds:.1f} | {(seconds - local) / local:+.0%} | {sweep_wall(out):.1f} |"
            for name, seconds, out in rows
        ),
        "",
        "Command wall: the whole process, from Python's start to its exit. Sweep wall: what the",
        "sweep prints, first task to last result. One task per configuration (its 3 runs",
        f"stacked): {sent_min}-{sent_max} bytes pickled to the worker (the spec in JSON, the spec",
        f"file's path, 3 integers), {back} bytes back (the runs' final records).",
        "",
        "```",
        "\n".join(table.strip().splitlines()[:6]),
        "...",
        "```",
    ]
    title = "Random search: --executor ray against local (benchmarks/sweep.py --ray)"
    record(title, "\n".join(lines))


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
