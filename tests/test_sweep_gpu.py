"""A sweep with device=cuda: its cells run in threads of one process (minidl.cli.sweep_gpu),
checked on the CPU (the threads and their results) and, with a CUDA device, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import torch

import minidl.cli.sweep as sweep
from minidl.cli.sweep_gpu import run_on_gpu
from minidl.cli.sweep_grid import cells, tasks
from minidl.cli.sweep_task import run_task
from minidl.compile import main
from minidl.lang import parse

SWEEP = (
    "Linear ->8 | ReLU | Linear ->1 | Tanh; sgd lr=0.01 batch=16; "
    "train epochs=2 seed=0 device={device}; data disk train=100 test=20; "
    "sweep batch=[8, 16, 32] runs=3"
)


def work(device: str = "cpu") -> list[Any]:
    spec = parse(SWEEP.format(device=device))
    assert spec.sweep is not None
    return tasks(cells(spec), spec.sweep.runs)


def test_threads_give_each_task_its_own_result() -> None:
    reports: list[tuple[tuple[int, int], int]] = []
    got = dict(
        (task.cell.index, result.finals)
        for task, result in run_on_gpu(work(), 3, lambda key, done: reports.append((key, done)))
    )
    expected = {task.cell.index: run_task(task).finals for task in work()}
    assert got == expected
    assert sorted({key for key, _ in reports}) == [(0, 0), (1, 0), (2, 0)]
    assert max(done for _, done in reports) == 2 * 3  # epochs × runs of a task


def test_an_interrupted_gpu_sweep_stops_its_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the generator (Ctrl-C in the parent) ends the running tasks at their next
    epoch, and the tasks not started never start."""
    epochs: list[int] = []

    def endless(task: Any, report: Any) -> Any:
        if task.cell.index != 0:
            for epoch in range(10_000):  # stopped long before the end
                epochs.append(epoch)
                report((task.cell.index, 0), epoch)
                time.sleep(0.001)
        return run_task(task)

    import minidl.cli.sweep_gpu as sweep_gpu

    monkeypatch.setattr(sweep_gpu, "run_task", endless)
    runner = run_on_gpu(sorted(work(), key=lambda t: t.cell.index), 1, lambda *_: None)
    first, _ = next(runner)  # the first task done, the second running in its thread
    while not epochs:
        time.sleep(0.001)
    runner.close()
    assert first.cell.index == 0 and 0 < len(epochs) < 10_000


def test_a_cuda_sweep_does_not_start_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[int] = []

    def threads(work: list[Any], jobs: int, report: Any) -> Any:
        called.append(jobs)
        return iter(())

    def no_pool(*_: Any, **__: Any) -> None:
        raise AssertionError("a process pool for a CUDA sweep")

    monkeypatch.setattr(sweep, "run_on_gpu", threads)
    monkeypatch.setattr(sweep.multiprocessing, "get_context", no_pool)
    assert list(sweep._run_all(work("cuda"), 4, lambda *_: None)) == []
    assert called == [3]  # no more threads than tasks


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_sweep_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "sweep.mdl"
    spec.write_text(SWEEP.format(device="cuda"))
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path)]) == 0
    assert "3 cells × 3 runs" in capsys.readouterr().out
