"""Milliseconds per training step of specs/digits_conv.mdl: minidl against torch autograd.

One step is what the training loop repeats: zero the gradients, forward, loss, backward,
update (Adam). minidl's side is the compiled spec (hand-written backwards); torch's side
is torch.nn.Conv2d, BatchNorm2d, MaxPool2d, Dropout and Linear of the same shapes, with
autograd and torch.optim.Adam, on the CPU. Then the stacked ensemble of 10 runs (one
model over a leading run axis, as a sweep trains them) against 10 torch models stepped one
after the other. Interleaved rounds, median; one thread and torch's default thread count.

    python benchmarks/conv.py [--quick]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from common import median_time, record

from minidl import compile_spec
from minidl.compiler.program import compile_ensemble
from minidl.lang import parse_file

SPEC = Path(__file__).parents[1] / "specs" / "digits_conv.mdl"
BATCHES = (1, 32, 256)
RUNS = 10


def minidl_step(batch: int, runs: int = 0) -> Callable[[], object]:
    spec = parse_file(SPEC)
    program = compile_ensemble(spec, runs) if runs else compile_spec(spec)
    train = program.data[0]
    index = torch.arange(batch)
    x = train.inputs[:, index] if runs else train.inputs[index]
    y = train.targets[:, index] if runs else train.targets[index]
    model, loss, optimizer = program.model, program.loss, program.optimizer
    model.train()

    def step() -> None:
        optimizer.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()

    return step


def torch_net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.BatchNorm2d(16),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Dropout(0.25),
        torch.nn.Linear(128, 10),
    )


def torch_step(batch: int, runs: int = 1) -> Callable[[], object]:
    torch.manual_seed(0)
    nets = [torch_net() for _ in range(runs)]
    optimizers = [torch.optim.Adam(net.parameters(), lr=0.003) for net in nets]
    x, y = torch.rand(batch, 1, 8, 8), torch.randint(0, 10, (batch,))

    def step() -> None:
        for net, optimizer in zip(nets, optimizers, strict=True):
            optimizer.zero_grad()
            F.cross_entropy(net(x), y).backward()
            optimizer.step()

    return step


def main() -> None:
    quick = "--quick" in sys.argv
    repeat, rounds = (10, 3) if quick else (30, 7)
    default_threads = torch.get_num_threads()
    lines = [
        "| threads | batch | runs | minidl (ms) | torch autograd (ms) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    cases = [(batch, 0) for batch in BATCHES] + [(32, RUNS)]
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        for batch, runs in cases:
            steps = {"minidl": minidl_step(batch, runs), "torch": torch_step(batch, runs or 1)}
            times = median_time(steps, repeat, rounds)
            ours, theirs = times["minidl"] * 1e3, times["torch"] * 1e3
            shown = f"{runs} stacked" if runs else "1"
            lines.append(
                f"| {threads} | {batch} | {shown} | {ours:.2f} | {theirs:.2f} | "
                f"{theirs / ours:.2f}x |"
            )
    record("Convolutional training step: digits_conv.mdl (benchmarks/conv.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
