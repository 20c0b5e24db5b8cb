"""Conv2d, MaxPool2d, AvgPool2d, Flatten and the image forms of BatchNorm, LayerNorm and
Concat: forward and backward against torch autograd in float64, by central differences,
and stacked over runs against the runs one by one.

Data and parameters come from independent generators; max-pooling inputs are distinct
values (a permutation), so that no window has a tie and the derivative is defined.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_gradcheck import derivative_check

from minidl import nn

F64 = torch.float64
CLOSE = dict(atol=1e-10, rtol=1e-10)


@st.composite
def conv_cases(draw: st.DrawFn) -> dict[str, int]:
    """A convolution whose kernel fits its padded input."""
    kernel = draw(st.integers(1, 4))
    padding = draw(st.integers(0, 2))
    side = st.integers(max(1, kernel - 2 * padding), 9)
    return {
        "n": draw(st.integers(1, 4)),
        "c": draw(st.integers(1, 3)),
        "o": draw(st.integers(1, 4)),
        "h": draw(side),
        "w": draw(side),
        "kernel": kernel,
        "stride": draw(st.integers(1, 3)),
        "padding": padding,
        "bias": draw(st.booleans()),
        "data_seed": draw(st.integers(0, 2**31)),
        "weight_seed": draw(st.integers(0, 2**31)),
    }


def _conv(case: dict[str, int]) -> tuple[nn.Conv2d, torch.Tensor]:
    weights = torch.Generator().manual_seed(case["weight_seed"])
    data = torch.Generator().manual_seed(case["data_seed"])
    layer = nn.Conv2d(
        case["c"],
        case["o"],
        case["kernel"],
        case["stride"],
        case["padding"],
        bool(case["bias"]),
        generator=weights,
        dtype=F64,
    )
    x = torch.randn(case["n"], case["c"], case["h"], case["w"], generator=data, dtype=F64)
    return layer, x


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_equals_autograd(case: dict[str, int]) -> None:
    layer, x = _conv(case)
    upstream_gen = torch.Generator().manual_seed(case["data_seed"] + 1)
    x_ref = x.clone().requires_grad_()
    weight = layer.weight.clone().requires_grad_()
    bias = None if layer.bias is None else layer.bias.clone().requires_grad_()
    expected = F.conv2d(x_ref, weight, bias, case["stride"], case["padding"])
    upstream = torch.randn(expected.shape, generator=upstream_gen, dtype=F64)
    expected.backward(upstream)
    torch.testing.assert_close(layer.forward(x), expected.detach(), **CLOSE)
    torch.testing.assert_close(layer.backward(upstream), x_ref.grad, **CLOSE)
    torch.testing.assert_close(layer.weight_grad, weight.grad, **CLOSE)
    if bias is not None:
        assert layer.bias_grad is not None
        torch.testing.assert_close(layer.bias_grad, bias.grad, **CLOSE)


@st.composite
def pool_cases(draw: st.DrawFn) -> dict[str, int]:
    kernel = draw(st.integers(1, 4))
    side = st.integers(kernel, 9)
    return {
        "shape": (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(side), draw(side)),
        "kernel": kernel,
        "stride": draw(st.integers(1, 4)),
        "seed": draw(st.integers(0, 2**31)),
    }


def _distinct(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Distinct values in a random order: no ties in any window."""
    generator = torch.Generator().manual_seed(seed)
    count = int(torch.tensor(shape).prod())
    return (torch.randperm(count, generator=generator).to(F64) / count).reshape(shape)


POOLS: dict[str, tuple[type[nn.Module], Callable[..., torch.Tensor]]] = {
    "max": (nn.MaxPool2d, F.max_pool2d),
    "avg": (nn.AvgPool2d, F.avg_pool2d),
}


@pytest.mark.parametrize("kind", POOLS)
@settings(max_examples=40, deadline=None)
@given(case=pool_cases())
def test_pools_equal_autograd(kind: str, case: dict[str, int]) -> None:
    module_class, reference = POOLS[kind]
    pool = module_class(case["kernel"], case["stride"])  # type: ignore[call-arg]
    x = _distinct(case["shape"], case["seed"])
    x_ref = x.clone().requires_grad_()
    expected = reference(x_ref, case["kernel"], case["stride"])
    upstream = torch.randn(
        expected.shape, generator=torch.Generator().manual_seed(case["seed"] + 1), dtype=F64
    )
    expected.backward(upstream)
    torch.testing.assert_close(pool.forward(x), expected.detach(), **CLOSE)
    torch.testing.assert_close(pool.backward(upstream), x_ref.grad, **CLOSE)


def test_image_normalisations_and_concat_equal_autograd() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 4, 6, generator=generator, dtype=F64)
    upstream = torch.randn(5, 3, 4, 6, generator=generator, dtype=F64)
    batch_norm = nn.BatchNorm(3, image=True, dtype=F64)
    layer_norm = nn.LayerNorm((3, 4, 6), dtype=F64)
    for module in (batch_norm, layer_norm):
        for value, _ in module.param():
            value.uniform_(0.5, 1.5, generator=generator)
    twins = [torch.nn.BatchNorm2d(3, dtype=F64), torch.nn.LayerNorm([3, 4, 6], dtype=F64)]
    for mine, theirs in zip((batch_norm, layer_norm), twins, strict=True):
        with torch.no_grad():
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
        x_ref = x.clone().requires_grad_()
        expected = theirs(x_ref)
        expected.backward(upstream)
        torch.testing.assert_close(mine.forward(x), expected.detach(), **CLOSE)
        torch.testing.assert_close(mine.backward(upstream), x_ref.grad, **CLOSE)
        torch.testing.assert_close(mine.weight_grad, theirs.weight.grad, **CLOSE)
        torch.testing.assert_close(mine.bias_grad, theirs.bias.grad, **CLOSE)
    torch.testing.assert_close(batch_norm.running_var, twins[0].running_var, **CLOSE)
    concat = nn.Concat([nn.Identity(), nn.Sequential([nn.Tanh()])], dim=-3)
    x_ref = x.clone().requires_grad_()
    expected = torch.cat([x_ref, torch.tanh(x_ref)], dim=-3)
    grad = torch.randn(expected.shape, generator=generator, dtype=F64)
    expected.backward(grad)
    torch.testing.assert_close(concat.forward(x), expected.detach(), **CLOSE)
    torch.testing.assert_close(concat.backward(grad), x_ref.grad, **CLOSE)


@pytest.mark.parametrize("seed", range(3))
def test_central_differences(seed: int) -> None:
    """No autograd: every backward of an image network against central differences."""
    generator = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        [
            nn.Conv2d(2, 3, 3, stride=2, padding=1, generator=generator, dtype=F64),
            nn.Tanh(),
            nn.BatchNorm(3, image=True, dtype=F64),
            nn.AvgPool2d(2, 1),
            nn.LayerNorm((3, 2, 2), dtype=F64),
            nn.Flatten(),
            nn.Linear(12, 2, generator=generator, dtype=F64),
        ]
    )
    derivative_check(model, torch.randn(4, 2, 5, 5, generator=generator, dtype=F64))
    pool = nn.Sequential([nn.MaxPool2d(2, 1), nn.Flatten()])
    derivative_check(pool, _distinct((2, 2, 4, 3), seed))  # gaps of 1/48 >> EPS


def test_a_wrong_backward_is_caught() -> None:
    """The checks above can fail: a backward 0.1 % off is found."""

    class Broken(nn.Conv2d):
        def backward(self, *gradwrtoutput: torch.Tensor) -> torch.Tensor:
            return super().backward(*gradwrtoutput) * 1.001

    generator = torch.Generator().manual_seed(0)
    layer = Broken(2, 2, 3, padding=1, generator=generator, dtype=F64)
    with pytest.raises(AssertionError):
        derivative_check(layer, torch.randn(2, 2, 4, 4, generator=generator, dtype=F64))


def test_stacked_runs_equal_the_runs_one_by_one() -> None:
    generator = torch.Generator().manual_seed(0)

    def model() -> nn.Sequential:
        return nn.Sequential(
            [
                nn.Conv2d(1, 4, 3, padding=1, generator=generator, dtype=F64),
                nn.BatchNorm(4, image=True, dtype=F64),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Concat([nn.Identity(), nn.AvgPool2d(1)], dim=-3),
                nn.LayerNorm((8, 3, 3), dtype=F64),
                nn.Dropout(0.0),
                nn.Flatten(),
                nn.Linear(72, 3, generator=generator, dtype=F64),
            ]
        )

    runs = [model() for _ in range(3)]
    stacked = nn.stack(runs)
    x = torch.randn(3, 5, 1, 7, 6, generator=generator, dtype=F64)
    upstream = torch.randn(3, 5, 3, generator=generator, dtype=F64)
    out = stacked.forward(x)
    grad_in = stacked.backward(upstream)
    grads = stacked.param()
    for r, run in enumerate(runs):
        torch.testing.assert_close(out[r], run.forward(x[r]), **CLOSE)
        torch.testing.assert_close(grad_in[r], run.backward(upstream[r]), **CLOSE)
        for (_, mine), (_, theirs) in zip(run.param(), grads, strict=True):
            torch.testing.assert_close(theirs[r], mine, **CLOSE)
