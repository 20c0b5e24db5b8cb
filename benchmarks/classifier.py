"""Microseconds per training step of a CrossEntropy + Adam classifier: minidl against torch.

The network is specs/digits.mdl's shape with a LayerNorm after each hidden layer:
64 -> 64 -> 64 -> 10, batch 32. One step is what minidl.train repeats: zero the gradients
(one flat buffer), forward, loss, backward, Adam's update (over the flat buffers). torch's
side is torch.nn + autograd + torch.optim.Adam with the same sizes, loss and settings. Both
run in this process with one thread, interleaved, median of repeated rounds.

    python benchmarks/classifier.py [--quick]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from common import median_time, record

from minidl.nn import LayerNorm, Linear, LossCrossEntropy, ReLU, Sequential
from minidl.optim import Adam

SIZES = [(64, 64), (64, 64), (64, 10)]
BATCH, CLASSES = 32, 10


def data(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(BATCH, SIZES[0][0], generator=g)
    classes = torch.randint(0, CLASSES, (BATCH,), generator=g)
    return x, classes


def minidl_step() -> Callable[[], object]:
    g = torch.Generator().manual_seed(0)
    layers: list = []
    for n_in, n_out in SIZES[:-1]:
        layers += [Linear(n_in, n_out, generator=g), LayerNorm(n_out), ReLU()]
    layers.append(Linear(*SIZES[-1], generator=g))
    model = Sequential(layers)  # its param() lies in one flat buffer, shared with Adam
    loss, optimizer = LossCrossEntropy(reduction="mean"), Adam(model.param(), lr=0.001)
    x, classes = data(g)
    onehot = torch.nn.functional.one_hot(classes, CLASSES).to(x.dtype)

    def step() -> None:
        optimizer.zero_grad()
        loss.forward(model.forward(x), onehot)
        model.backward(loss.backward())
        optimizer.step()

    return step


def torch_step() -> Callable[[], object]:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for n_in, n_out in SIZES[:-1]:
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.LayerNorm(n_out), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(*SIZES[-1]))
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    x, classes = data(torch.Generator().manual_seed(0))

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), classes).backward()
        optimizer.step()

    return step


def main() -> None:
    quick = "--quick" in sys.argv
    repeat, rounds = (200, 5) if quick else (1000, 15)
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    times = median_time({"minidl": minidl_step(), "torch": torch_step()}, repeat, rounds)
    torch.set_num_threads(default_threads)  # so that the entry names the machine's default
    ours, theirs = times["minidl"] * 1e6, times["torch"] * 1e6
    table = "\n".join(
        [
            "| network | batch | minidl (µs) | torch autograd + Adam (µs) | speed-up |",
            "|---|---|---|---|---|",
            f"| 64-64-64-10, LayerNorm, CrossEntropy, Adam | {BATCH} | {ours:.1f} "
            f"| {theirs:.1f} | {theirs / ours:.2f}x |",
        ]
    )
    record(
        "Classifier training step: minidl against torch autograd + Adam (benchmarks/classifier.py)",
        table + "\n\nOne thread (torch.set_num_threads(1)).",
    )


if __name__ == "__main__":
    main()
