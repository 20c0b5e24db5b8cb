"""minidl's SGD against torch.optim.SGD."""

from __future__ import annotations

import pytest
import torch

from minidl.nn import Linear, LossMSE, ReLU, Sequential
from minidl.optim import SGD


@pytest.mark.parametrize(
    ("momentum", "weight_decay"), [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01), (0.9, 0.05)]
)
def test_sgd_matches_torch_over_50_steps(momentum: float, weight_decay: float) -> None:
    g = torch.Generator().manual_seed(0)
    f64 = torch.float64
    model = Sequential(
        [Linear(3, 8, dtype=f64, generator=g), ReLU(), Linear(8, 2, dtype=f64, generator=g)]
    )
    leaves = [value.clone().requires_grad_(True) for value, _ in model.param()]
    ours = SGD(model.param(), lr=0.01, momentum=momentum, weight_decay=weight_decay)
    theirs = torch.optim.SGD(leaves, lr=0.01, momentum=momentum, weight_decay=weight_decay)
    loss = LossMSE()
    for _ in range(50):
        x = torch.randn(4, 3, dtype=f64, generator=g)
        y = torch.randn(4, 2, dtype=f64, generator=g)
        ours.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        ours.step()

        theirs.zero_grad()
        w1, b1, w2, b2 = leaves
        pred = torch.relu(x @ w1.T + b1) @ w2.T + b2
        ((pred - y) ** 2).mean(dim=1).sum().backward()
        theirs.step()
    for (value, _), leaf in zip(model.param(), leaves, strict=True):
        torch.testing.assert_close(value, leaf.detach(), atol=1e-12, rtol=0)


def test_sgd_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="lr"):
        SGD([], lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD([], lr=0.1, momentum=-1)


def test_alpha_is_the_reports_name_for_lr() -> None:
    value, grad = torch.ones(2), torch.full((2,), 3.0)
    SGD([(value, grad)], alpha=0.5).step()
    assert value.tolist() == [-0.5, -0.5]
