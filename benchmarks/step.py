"""Microseconds per training step of the report's network: minidl against torch autograd.

One step is what the training loop repeats: zero the gradients, forward, loss, backward,
update. torch's side is torch.nn + autograd + torch.optim.SGD with the same sizes, loss
and learning rate. Both run in this process, interleaved, median of repeated rounds, with
one thread and with torch's default thread count.

    python benchmarks/step.py [--quick]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from common import median_time, record

from minidl.nn import Linear, LossMSE, ReLU, Sequential, Tanh, flatten_parameters
from minidl.optim import SGD

BATCHES = (1, 4, 16, 128)
SIZES = [(2, 25), (25, 25), (25, 25), (25, 1)]


def minidl_step(batch: int) -> Callable[[], object]:
    g = torch.Generator().manual_seed(0)
    layers: list = []
    for n_in, n_out in SIZES:
        layers += [Linear(n_in, n_out, generator=g), ReLU()]
    layers[-1] = Tanh()
    model = Sequential(layers)
    flatten_parameters(model)
    loss, optimizer = LossMSE(), SGD(model.param(), lr=0.001)
    x, y = torch.rand(batch, 2, generator=g), torch.rand(batch, 1, generator=g)

    def step() -> None:
        optimizer.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()

    return step


def torch_step(batch: int) -> Callable[[], object]:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for n_in, n_out in SIZES:
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    layers[-1] = torch.nn.Tanh()
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    x, y = torch.rand(batch, 2), torch.rand(batch, 1)

    def step() -> None:
        optimizer.zero_grad()
        ((net(x) - y) ** 2).mean(dim=1).sum().backward()
        optimizer.step()

    return step


def main() -> None:
    quick = "--quick" in sys.argv
    repeat, rounds = (200, 5) if quick else (1000, 15)
    default_threads = torch.get_num_threads()
    lines = [
        "| threads | batch | minidl (µs) | torch autograd (µs) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for threads in (1, default_threads):
        torch.set_num_threads(threads)
        for batch in BATCHES:
            times = median_time(
                {"minidl": minidl_step(batch), "torch": torch_step(batch)}, repeat, rounds
            )
            ours, theirs = times["minidl"] * 1e6, times["torch"] * 1e6
            lines.append(
                f"| {threads} | {batch} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.2f}x |"
            )
    record("Training step: minidl against torch autograd (benchmarks/step.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
