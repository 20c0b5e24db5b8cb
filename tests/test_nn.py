"""Every module's forward, input gradient and parameter gradients against float64 autograd."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference_modules import torch_forward

from minidl.nn import Linear, LossMSE, Module, ReLU, Sequential, Sigmoid, Tanh, stack

TOLERANCE = dict(atol=1e-10, rtol=0.0)  # float64: observed errors are ~1e-14
widths = st.integers(1, 64)
batches = st.integers(1, 64)
activations = st.sampled_from([ReLU, Tanh, Sigmoid])


def check_against_autograd(modules: list[Module], x: torch.Tensor) -> None:
    model = Sequential(modules)
    out = model.forward(x)
    upstream = torch.randn_like(out)
    grad_in = model.backward(upstream)

    x_ref = x.detach().clone().requires_grad_(True)
    out_ref, leaves = torch_forward(modules, x_ref)
    out_ref.backward(upstream)

    torch.testing.assert_close(out, out_ref.detach(), **TOLERANCE)
    torch.testing.assert_close(grad_in, x_ref.grad, **TOLERANCE)
    grads = [grad for _, grad in model.param()]
    assert len(grads) == len(leaves)
    for ours, theirs in zip(grads, leaves, strict=True):
        torch.testing.assert_close(ours, theirs.grad, **TOLERANCE)


@given(batch=batches, n_in=widths, n_out=widths, bias=st.booleans(), seed=st.integers(0, 2**31))
def test_linear_batch(batch: int, n_in: int, n_out: int, bias: bool, seed: int) -> None:
    torch.manual_seed(seed)
    layer = Linear(n_in, n_out, bias=bias, dtype=torch.float64)
    check_against_autograd([layer], torch.randn(batch, n_in, dtype=torch.float64))


@given(n_in=widths, n_out=widths, seed=st.integers(0, 2**31))
def test_linear_one_sample(n_in: int, n_out: int, seed: int) -> None:
    torch.manual_seed(seed)
    layer = Linear(n_in, n_out, dtype=torch.float64)
    check_against_autograd([layer], torch.randn(n_in, dtype=torch.float64))


@given(activation=activations, batch=batches, width=widths, seed=st.integers(0, 2**31))
def test_activation(activation: type[Module], batch: int, width: int, seed: int) -> None:
    torch.manual_seed(seed)
    check_against_autograd([activation()], torch.randn(batch, width, dtype=torch.float64))


@given(data=st.data(), batch=batches, seed=st.integers(0, 2**31))
def test_random_sequential(data: st.DataObject, batch: int, seed: int) -> None:
    torch.manual_seed(seed)
    sizes = data.draw(st.lists(widths, min_size=2, max_size=7))
    modules: list[Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        modules.append(Linear(n_in, n_out, bias=data.draw(st.booleans()), dtype=torch.float64))
        modules.append(data.draw(activations)())
    check_against_autograd(modules, torch.randn(batch, sizes[0], dtype=torch.float64))


@given(runs=st.integers(1, 5), batch=batches, n_in=widths, n_out=widths, seed=st.integers(0, 2**31))
def test_stacked_linear(runs: int, batch: int, n_in: int, n_out: int, seed: int) -> None:
    torch.manual_seed(seed)
    layers = [Sequential([Linear(n_in, n_out, dtype=torch.float64), Tanh()]) for _ in range(runs)]
    check_against_autograd(
        stack(layers).modules, torch.randn(runs, batch, n_in, dtype=torch.float64)
    )


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@given(batch=batches, width=widths, seed=st.integers(0, 2**31))
def test_mse(reduction: str, batch: int, width: int, seed: int) -> None:
    torch.manual_seed(seed)
    pred = torch.randn(batch, width, dtype=torch.float64)
    target = torch.randn(batch, width, dtype=torch.float64)
    loss = LossMSE(reduction=reduction)  # type: ignore[arg-type]
    value = loss.forward(pred, target)
    grad = loss.backward()

    pred_ref = pred.clone().requires_grad_(True)
    per_sample = ((pred_ref - target) ** 2).mean(dim=1)
    ref = per_sample.sum() if reduction == "sum" else per_sample.mean()
    ref.backward()
    torch.testing.assert_close(value, ref.detach(), **TOLERANCE)
    torch.testing.assert_close(grad, pred_ref.grad, **TOLERANCE)


def test_mse_pair_and_broadcast_target() -> None:
    loss = LossMSE()
    pred = torch.tensor([[0.8], [0.1]])
    assert loss.forward((pred, torch.tensor([1.0, 0.0]))) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="shape"):
        loss.forward(pred, torch.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        LossMSE(reduction="max")  # type: ignore[arg-type]


def test_zero_grad_and_accumulation() -> None:
    layer = Linear(3, 2, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    layer.forward(x)
    layer.backward(torch.ones(4, 2, dtype=torch.float64))
    once = layer.weight_grad.clone()
    layer.forward(x)
    layer.backward(torch.ones(4, 2, dtype=torch.float64))
    torch.testing.assert_close(layer.weight_grad, 2 * once)
    layer.zero_grad()
    assert all(float(g.abs().sum()) == 0 for _, g in layer.param())


def test_initialisation_bounds_and_repr() -> None:
    layer = Linear(100, 50, generator=torch.Generator().manual_seed(1))
    assert float(layer.weight.abs().max()) <= 0.1
    assert float(layer.bias.abs().max()) <= 0.1  # type: ignore[union-attr]
    assert layer.weight.dtype == torch.float32
    assert float(layer.weight.std()) == pytest.approx(0.1 / 3**0.5, rel=0.05)
    model = Sequential([Linear(2, 25), ReLU(), Linear(25, 1, bias=False), Tanh()])
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=25, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=25, out_features=1, bias=False)\n"
        "  (3): Tanh()\n"
        ")"
    )
    assert len(model.param()) == 3
    with pytest.raises(TypeError, match="minidl modules"):
        Sequential([torch.nn.ReLU()])  # type: ignore[list-item]
