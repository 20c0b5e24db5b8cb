"""The seed report's code, sections 2.1 to 2.4 and 3, run as printed (only imports added)."""

from __future__ import annotations

import pytest
import torch

from minidl.data import disk
from minidl.nn import Linear, LossMSE, ReLU, Sequential, Tanh
from minidl.optim import SGD
from minidl.train import fit


def test_section_2_1_linear() -> None:
    layer = Linear(2, 10)
    inp = torch.empty(2).uniform_(0, 1)
    out = layer.forward(inp)
    assert out.shape == (10,)


def test_section_2_2_activation() -> None:
    activation = ReLU()
    inp = torch.empty(2).uniform_(0, 1)
    out = activation.forward(inp)
    assert torch.equal(out, inp)


def test_section_2_3_sequential() -> None:
    model = Sequential([Linear(2, 25), ReLU(), Linear(25, 1), Tanh()])
    inp = torch.empty(2).uniform_(0, 1)
    out = model.forward(inp)
    assert out.shape == (1,) and -1 < float(out) < 1


def test_section_2_4_loss() -> None:
    mse = LossMSE()
    pred = torch.empty(1).fill_(0.8)
    target = torch.empty(1).fill_(1)
    loss = mse.forward((pred, target))
    assert float(loss) == pytest.approx(0.04, rel=1e-6)


def report_network(generator: torch.Generator) -> Sequential:
    f64 = torch.float64
    sizes = [(2, 25), (25, 25), (25, 25), (25, 1)]
    layers: list = []
    for n_in, n_out in sizes:
        layers += [Linear(n_in, n_out, generator=generator, dtype=f64), ReLU()]
    layers[-1] = Tanh()
    return Sequential(layers)


def test_section_3_loop_equals_batched_training() -> None:
    """Per-sample forward and backward with one update per batch == minidl's batched fit."""
    g = torch.Generator().manual_seed(7)
    data = disk(200, generator=g, dtype=torch.float64)
    init = torch.Generator().manual_seed(8)
    model, batched = report_network(init), report_network(torch.Generator().manual_seed(8))
    batch_size = 16
    order_gen = torch.Generator().manual_seed(9)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(9))

    # The report's loop, over the same sample order as fit draws.
    X_train, Y_train = data.inputs[order], data.targets[order]
    mse = LossMSE()
    num_batches = -(-len(data) // batch_size)
    idx = 0
    for _ in range(num_batches):
        for _ in range(min(batch_size, len(data) - idx)):
            op = model.forward(X_train[idx])
            mse.forward((op, Y_train[idx]))
            model.backward(mse.backward())
            idx += 1
        SGD(model.param(), alpha=0.001).step()
        model.zero_grad()

    fit(
        batched,
        LossMSE(reduction="sum"),
        SGD(batched.param(), lr=0.001),
        data,
        epochs=1,
        batch_size=batch_size,
        generator=order_gen,
    )
    for (ours, _), (theirs, _) in zip(model.param(), batched.param(), strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-10, rtol=0)
