"""The Linear layer's fast paths, each the same values as the plain one: the input gradient
skipped for a model's first layer (`backward_params`), and Linear followed by ReLU as one
fused call (`Sequential.forward`)."""

from __future__ import annotations

import copy

import pytest
import torch

from minidl.nn import GELU, Linear, ReLU, Sequential, stack


def network(g: torch.Generator, bias: bool = True) -> Sequential:
    return Sequential(
        [Linear(3, 4, generator=g, bias=bias), ReLU(), Linear(4, 4, generator=g), ReLU(),
         GELU(), Linear(4, 2, generator=g), ReLU()]
    )  # fmt: skip


def one_by_one(model: Sequential, x: torch.Tensor) -> torch.Tensor:
    for module in model:
        x = module.forward(x)
    return x


def test_backward_params_gives_backward_s_gradients() -> None:
    """The first layer skips its input gradient; every parameter gradient is unchanged."""
    g = torch.Generator().manual_seed(0)
    single = network(g)
    stacked = stack([copy.deepcopy(single), copy.deepcopy(single)])
    for model, x in ((single, torch.randn(5, 3)), (stacked, torch.randn(2, 5, 3)),
                     (single, torch.randn(3))):  # fmt: skip
        grad = torch.randn(*x.shape[:-1], 2)
        model.zero_grad()
        model.forward(x)
        model.backward(grad)
        expected = [g.clone() for _, g in model.param()]
        model.zero_grad()
        model.forward(x)
        model.backward_params(grad)
        assert all(torch.equal(a, g) for a, (_, g) in zip(expected, model.param(), strict=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(5, 3), (2, 5, 3), (3,)], ids=["batch", "stacked", "one"])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_linear_relu_is_the_two_modules_bit_for_bit(
    dtype: torch.dtype, shape: tuple[int, ...], bias: bool
) -> None:
    g = torch.Generator().manual_seed(1)
    model = network(g, bias).to(dtype=dtype)
    if len(shape) == 3:
        model = stack([model, copy.deepcopy(model)])
    x = torch.randn(shape, dtype=dtype, generator=g)
    fused = model.forward(x)
    relus = [m for m in model if isinstance(m, ReLU)]
    kept = [m.output for m in relus]  # what each ReLU keeps for backward
    assert torch.equal(fused, one_by_one(model, x))
    assert all(k is not None and torch.equal(k, m.output) for k, m in zip(kept, relus, strict=True))
    grad = torch.randn(fused.shape, dtype=dtype, generator=g)
    model.zero_grad()
    model.forward(x)
    input_grad = model.backward(grad)
    fused_grads = [gr.clone() for _, gr in model.param()]
    model.zero_grad()
    one_by_one(model, x)
    assert torch.equal(input_grad, model.backward(grad))
    assert all(torch.equal(a, gr) for a, (_, gr) in zip(fused_grads, model.param(), strict=True))
