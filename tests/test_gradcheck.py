"""Central-difference gradient checks that use no autograd at all."""

from __future__ import annotations

import pytest
import torch

from minidl.nn import Linear, LossMSE, Module, ReLU, Sequential, Sigmoid, Tanh

EPS = 1e-6
TOLERANCE = dict(atol=1e-7, rtol=1e-6)  # central differences in float64: error ~eps^2 + 1e-16/eps


def numerical_gradient(f: object, tensor: torch.Tensor) -> torch.Tensor:
    """d f / d tensor by central differences, perturbing `tensor` in place."""
    assert callable(f)
    grad = torch.zeros_like(tensor)
    flat, flat_grad = tensor.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        saved = float(flat[i])
        flat[i] = saved + EPS
        plus = float(f())
        flat[i] = saved - EPS
        minus = float(f())
        flat[i] = saved
        flat_grad[i] = (plus - minus) / (2 * EPS)
    return grad


def derivative_check(model: Module, x: torch.Tensor) -> None:
    """Compare backward's gradients with central differences of <forward(x), upstream>."""
    upstream = torch.randn_like(model.forward(x))

    def objective() -> torch.Tensor:
        return (model.forward(x) * upstream).sum()

    model.zero_grad()
    model.forward(x)
    grad_in = model.backward(upstream)
    torch.testing.assert_close(grad_in, numerical_gradient(objective, x), **TOLERANCE)
    for value, grad in model.param():
        torch.testing.assert_close(grad, numerical_gradient(objective, value), **TOLERANCE)


@pytest.mark.parametrize("seed", range(5))
def test_network_central_difference(seed: int) -> None:
    torch.manual_seed(seed)
    f64 = torch.float64
    # Inputs kept away from ReLU's kink so that the difference quotient is well defined.
    model = Sequential(
        [
            Linear(3, 5, dtype=f64),
            Tanh(),
            Linear(5, 4, dtype=f64),
            Sigmoid(),
            Linear(4, 2, dtype=f64, bias=False),
        ]
    )
    derivative_check(model, torch.randn(6, 3, dtype=f64))


@pytest.mark.parametrize("module", [ReLU(), Tanh(), Sigmoid()], ids=repr)
def test_activation_central_difference(module: Module) -> None:
    x = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    x = x + 0.01 * x.sign()  # no entry within EPS of ReLU's kink
    derivative_check(module, x)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_loss_central_difference(reduction: str) -> None:
    g = torch.Generator().manual_seed(4)
    pred = torch.randn(5, 3, dtype=torch.float64, generator=g)
    target = torch.randn(5, 3, dtype=torch.float64, generator=g)
    loss = LossMSE(reduction=reduction)  # type: ignore[arg-type]
    loss.forward(pred, target)
    grad = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(pred, target), pred)
    torch.testing.assert_close(grad, numeric, **TOLERANCE)


def test_check_catches_a_wrong_backward() -> None:
    """The check must be able to fail: a Tanh whose derivative is off by 1 % is caught."""

    class WrongTanh(Tanh):
        def backward(self, *grad: torch.Tensor) -> torch.Tensor:
            return super().backward(*grad) * 1.01

    with pytest.raises(AssertionError):
        derivative_check(WrongTanh(), torch.randn(3, 4, dtype=torch.float64))
