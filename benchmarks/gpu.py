"""GPU figures: minidl's training step as a CUDA graph, against torch autograd.

- the seed network's step (batch 16): minidl and torch, eager and captured as a CUDA graph
  (minidl's through the training loop's own `GraphEpochs`, gathering its batches inside);
- stacked runs of the seed network, R = 10, 100 and 1,000, captured;
- the wide net 784-2048-2048-2048-10 (cross-entropy, SGD) at batch 256 and 8,192, eager,
  minidl against torch autograd;
- the report's Table 1 sweep (60 runs × 100 epochs) through the command line with
  `device=cuda`, and with `device=cpu` on every core of the same machine.

Times are medians of device-event timings over repeated rounds, after warm-up, on random
data. Needs a CUDA device.

    python benchmarks/gpu.py [--quick] [--out FILE]

--out writes the section to FILE instead of appending it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from common import record

from minidl.data import disk, stack_datasets
from minidl.nn import Linear, LossCrossEntropy, LossMSE, ReLU, Sequential, Tanh, stack
from minidl.optim import SGD
from minidl.train_graph import GraphEpochs

ROOT = Path(__file__).parents[1]
SEED_SIZES = [(2, 25), (25, 25), (25, 25), (25, 1)]
WIDE_SIZES = [(784, 2048), (2048, 2048), (2048, 2048), (2048, 10)]
CUDA = torch.device("cuda")


def event_time(function: Callable[[], object], calls: int, rounds: int) -> float:
    """Seconds per call: the median over `rounds` of device-event timings of `calls` calls."""
    for _ in range(3):
        function()
    samples = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            function()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1000 / calls)
    return statistics.median(samples)


def minidl_net(sizes: list[tuple[int, int]], last: type, seed: int = 0) -> Sequential:
    g = torch.Generator().manual_seed(seed)
    layers: list = []
    for n_in, n_out in sizes:
        layers += [Linear(n_in, n_out, generator=g), ReLU()]
    layers[-1] = last()
    return Sequential(layers)


def torch_net(sizes: list[tuple[int, int]], last: torch.nn.Module) -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for n_in, n_out in sizes:
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    layers[-1] = last
    return torch.nn.Sequential(*layers).to(CUDA)


def seed_epochs(runs: int | None, steps: int, capture: bool) -> float:
    """Seconds per step of minidl's training loop on the seed network (batch 16)."""
    g = torch.Generator().manual_seed(0)
    data = disk(16 * steps, generator=g)
    if runs is None:
        model, generators = minidl_net(SEED_SIZES, Tanh), [g]
    else:
        model = stack([minidl_net(SEED_SIZES, Tanh, seed) for seed in range(runs)])
        data = stack_datasets([data] * runs)
        generators = [torch.Generator().manual_seed(seed) for seed in range(runs)]
    model.to(CUDA)
    data = data.to(CUDA, torch.float32)
    optimizer = SGD(model.param(), lr=0.001)
    epochs = GraphEpochs(model, LossMSE(), optimizer, data, 16, capture=capture)
    return event_time(lambda: epochs.epoch(generators), 1, 5) / steps


def torch_seed_step(graph: bool) -> float:
    """Seconds per step of torch.nn + autograd + torch.optim.SGD on the seed network."""
    net = torch_net(SEED_SIZES, torch.nn.Tanh())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    x, y = torch.rand(16, 2, device=CUDA), torch.rand(16, 1, device=CUDA)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        ((net(x) - y) ** 2).mean(dim=1).sum().backward()
        optimizer.step()

    if not graph:
        return event_time(step, 200, 5)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    captured = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(captured):
        ((net(x) - y) ** 2).mean(dim=1).sum().backward()
        optimizer.step()
    return event_time(captured.replay, 1000, 5)


def wide_steps(batch: int, calls: int) -> dict[str, float]:
    """Seconds per eager step of the wide net: minidl (as the loop steps, and with the first
    layer's input gradient computed as before) and torch autograd."""
    g = torch.Generator(device=CUDA).manual_seed(0)
    inputs = [torch.randn(batch, 784, device=CUDA, generator=g) for _ in range(2)]
    classes = [torch.randint(0, 10, (batch,), device=CUDA, generator=g) for _ in range(2)]
    onehot = [torch.nn.functional.one_hot(c, 10).float() for c in classes]
    model = minidl_net(WIDE_SIZES, ReLU).to(CUDA)
    model = Sequential(list(model)[:-1])  # logits out
    loss, optimizer = LossCrossEntropy("mean"), SGD(model.param(), lr=0.01)
    turn = [0]

    def ours(full_backward: bool) -> Callable[[], None]:
        def step() -> None:
            turn[0] ^= 1
            optimizer.zero_grad()
            loss.forward(model.forward(inputs[turn[0]]), onehot[turn[0]])
            if full_backward:
                model.backward(loss.backward())
            else:
                model.backward_params(loss.backward())
            optimizer.step()

        return step

    net = torch_net(WIDE_SIZES, torch.nn.Identity())
    torch_optimizer = torch.optim.SGD(net.parameters(), lr=0.01)

    def theirs() -> None:
        turn[0] ^= 1
        torch_optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(inputs[turn[0]]), classes[turn[0]]).backward()
        torch_optimizer.step()

    functions = {"minidl": ours(False), "minidl, full backward": ours(True), "torch": theirs}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(9):  # interleaved rounds: a change of clock falls on all three alike
        for name, function in functions.items():
            samples[name].append(event_time(function, calls, 1))
    ratios = [t / m for t, m in zip(samples["torch"], samples["minidl"], strict=True)]
    times = {name: statistics.median(values) for name, values in samples.items()}
    times["ratio low"], times["ratio high"] = min(ratios), max(ratios)
    return times


def table1(device: str, jobs: int | None = None) -> tuple[float, str]:
    """Wall time of `minidl specs/table1.mdl --train` with `device`, and its table."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "minidl.compile", "specs/table1.mdl", "--train",
                   "--quiet", "--out", out, "--set", f"train.device={device}"]  # fmt: skip
        command += [] if jobs is None else ["--jobs", str(jobs)]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=sys.stderr)
    return wall, (result.stdout + result.stderr).strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    name = torch.cuda.get_device_name()
    us = 1e6
    lines = [f"GPU: {name}, torch {torch.__version__}, {os.cpu_count()} CPU cores", ""]
    lines += [
        "| seed network, batch 16 | eager (µs/step) | CUDA graph (µs/step) |",
        "|---|---|---|",
    ]
    steps = 200 if args.quick else 1000
    lines.append(
        f"| minidl training loop | {seed_epochs(None, steps // 4, False) * us:.1f} "
        f"| {seed_epochs(None, steps, True) * us:.1f} |"
    )
    lines.append(
        f"| torch autograd + torch.optim.SGD | {torch_seed_step(False) * us:.1f} "
        f"| {torch_seed_step(True) * us:.1f} |"
    )
    print("\n".join(lines), flush=True)
    lines += ["", "| stacked seed runs R | CUDA graph (µs/step) |", "|---|---|"]
    for runs in (10, 100, 1000):
        lines.append(f"| {runs:,} | {seed_epochs(runs, 200, True) * us:.1f} |")
    print("\n".join(lines[-3:]), flush=True)
    lines += ["", "| wide net, batch | minidl (ms/step) | minidl, full backward (ms) "
              "| torch autograd (ms) | torch / minidl | range over rounds |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for batch, calls in ((256, 50), (8192, 10)):
        t = wide_steps(batch, calls)
        lines.append(
            f"| {batch:,} | {t['minidl'] * 1e3:.3f} | {t['minidl, full backward'] * 1e3:.3f} "
            f"| {t['torch'] * 1e3:.3f} | {t['torch'] / t['minidl']:.3f}x "
            f"| {t['ratio low']:.3f}-{t['ratio high']:.3f}x |"
        )
        print(lines[-1], flush=True)
    lines += ["", "| Table 1 (60 runs × 100 epochs), command line | wall time (s) |", "|---|---|"]
    outputs = []
    cores = f"device=cpu, {os.cpu_count()} cores"
    runs = (
        ("cuda", None, "device=cuda"),
        ("cuda", 1, "device=cuda, --jobs 1"),
        ("cpu", None, cores),
    )
    for device, jobs, label in runs:
        wall, output = table1(device, jobs)
        lines.append(f"| {label} | {wall:.1f} |")
        outputs.append(f"{label}:\n{output}")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n\n```\n" + "\n\n".join(outputs) + "\n```"
    title = "GPU: the training step as a CUDA graph, against torch (benchmarks/gpu.py)"
    if args.out is None:
        record(title, text)
    else:
        args.out.write_text(f"## {title}\n\n{text}\n", encoding="utf-8")
        print(text)


if __name__ == "__main__":
    main()
