"""Every loss's value, gradient and per-sample figures against torch.nn.functional in float64."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_gradcheck import numerical_gradient

from minidl.nn import Loss, LossBCE, LossCrossEntropy, LossHuber, LossL1, LossMSE, Reduction
from minidl.nn.loss import error_rate

TOLERANCE = dict(atol=1e-10, rtol=0.0)  # float64: observed errors are ~1e-14
# Logits of ±1e4 give losses near 1e4 per sample, whose last bits are ~1e-12 apart.
EXTREME_TOLERANCE = dict(atol=1e-10, rtol=1e-14)
CENTRAL_TOLERANCE = dict(atol=1e-7, rtol=1e-6)  # central differences, as test_gradcheck
F64 = torch.float64
REDUCTIONS: list[Reduction] = ["sum", "mean"]

PerSample = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def torch_cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """F.cross_entropy with class indices, per sample, for any leading axes."""
    classes = target.argmax(-1).reshape(-1)
    losses = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), classes, reduction="none")
    return losses.reshape(pred.shape[:-1])


# name: (the minidl loss for a reduction, torch's per-sample losses, outputs if fixed)
LOSSES: dict[str, tuple[Callable[[Reduction], Loss], PerSample, int | None]] = {
    "MSE": (LossMSE, lambda p, t: F.mse_loss(p, t, reduction="none").mean(-1), None),
    "L1": (LossL1, lambda p, t: F.l1_loss(p, t, reduction="none").mean(-1), None),
    "Huber": (LossHuber, lambda p, t: F.huber_loss(p, t, reduction="none").mean(-1), None),
    "Huber0.3": (
        lambda reduction: LossHuber(reduction, delta=0.3),
        lambda p, t: F.huber_loss(p, t, reduction="none", delta=0.3).mean(-1),
        None,
    ),
    "CrossEntropy": (LossCrossEntropy, torch_cross_entropy, None),
    "BCE": (
        LossBCE,
        lambda p, t: F.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1),
        1,
    ),
}


def make_loss(name: str, reduction: Reduction) -> Loss:
    return LOSSES[name][0](reduction)


def draw_batch(
    name: str, shape: tuple[int, ...], generator: torch.Generator, scale: float = 2.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and fitting targets: one-hot rows for CrossEntropy, 0/1 for BCE."""
    pred = torch.randn(shape, generator=generator, dtype=F64) * scale
    if name == "CrossEntropy":
        classes = torch.randint(shape[-1], shape[:-1], generator=generator)
        return pred, F.one_hot(classes, shape[-1]).to(F64)
    if name == "BCE":
        return pred, torch.randint(2, shape, generator=generator).to(F64)
    return pred, torch.randn(shape, generator=generator, dtype=F64)


def torch_loss(
    name: str, reduction: Reduction, pred: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """The reduced loss by torch: per sample, then summed or averaged over N (runs added)."""
    per_sample = LOSSES[name][1](pred, target)
    if per_sample.dim() == 0 or reduction == "sum":
        return per_sample.sum()
    return per_sample.mean(-1).sum()


def check_loss(
    name: str,
    reduction: Reduction,
    pred: torch.Tensor,
    target: torch.Tensor,
    tolerance: dict[str, float],
) -> None:
    loss = make_loss(name, reduction)
    value = loss.forward(pred, target)
    grad = loss.backward()
    pred_ref = pred.clone().requires_grad_(True)
    expected = torch_loss(name, reduction, pred_ref, target)
    expected.backward()
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    torch.testing.assert_close(value, expected.detach(), **tolerance)
    torch.testing.assert_close(grad, pred_ref.grad, **tolerance)
    per_sample = LOSSES[name][1](pred, target)
    torch.testing.assert_close(loss.per_sample(pred, target), per_sample, **tolerance)
    sums = per_sample if per_sample.dim() == 0 else per_sample.sum(-1)
    torch.testing.assert_close(loss.per_sample_sum(), sums, **tolerance)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
@settings(max_examples=40)
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_against_torch(name: str, reduction: Reduction, data: st.DataObject, seed: int) -> None:
    outputs = LOSSES[name][2] or data.draw(st.integers(2, 16))
    shape = data.draw(
        st.sampled_from(
            [
                (outputs,),
                (data.draw(st.integers(1, 64)), outputs),
                (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 16)), outputs),
            ]
        )
    )
    pred, target = draw_batch(name, shape, torch.Generator().manual_seed(seed))
    check_loss(name, reduction, pred, target, TOLERANCE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["CrossEntropy", "BCE"])
def test_extreme_logits(name: str, reduction: Reduction) -> None:
    """Logits of ±1e4 (and one of 0) give finite losses and gradients, equal to torch's."""
    g = torch.Generator().manual_seed(1)
    outputs = 1 if name == "BCE" else 5
    pred, target = draw_batch(name, (40, outputs), g)
    pred = torch.randint(3, pred.shape, generator=g).to(F64).sub(1) * 1e4
    check_loss(name, reduction, pred, target, EXTREME_TOLERANCE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_stacked_runs_are_runs_one_by_one(name: str, reduction: Reduction) -> None:
    g = torch.Generator().manual_seed(2)
    outputs = LOSSES[name][2] or 4
    pred, target = draw_batch(name, (3, 7, outputs), g)
    stacked = make_loss(name, reduction)
    total = stacked.forward((pred, target))
    grad = stacked.backward()
    sums = stacked.per_sample_sum()
    assert sums.shape == (3,)
    for r in range(3):
        alone = make_loss(name, reduction)
        total -= alone.forward(pred[r], target[r])
        torch.testing.assert_close(grad[r], alone.backward(), **TOLERANCE)
        torch.testing.assert_close(sums[r], alone.per_sample_sum(), **TOLERANCE)
    torch.testing.assert_close(total, torch.zeros((), dtype=F64), **TOLERANCE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_central_difference(name: str, reduction: Reduction) -> None:
    """The backward against central differences of the forward, no autograd."""
    g = torch.Generator().manual_seed(4)
    outputs = LOSSES[name][2] or 3
    pred, target = draw_batch(name, (5, outputs), g)
    if name.startswith(("L1", "Huber")):  # errors away from the kinks at 0 and at delta
        delta = 0.3 if name == "Huber0.3" else 1.0
        size = torch.rand(pred.shape, generator=g, dtype=F64) * 2 + 0.05
        size = size + 0.1 * ((size - delta).abs() < 0.05)
        target = pred - size * torch.randn(pred.shape, generator=g, dtype=F64).sign()
    loss = make_loss(name, reduction)
    loss.forward(pred, target)
    upstream = torch.tensor(0.7, dtype=F64)
    grad = loss.backward(upstream)
    numeric = numerical_gradient(lambda: 0.7 * loss.forward(pred, target), pred)
    torch.testing.assert_close(grad, numeric, **CENTRAL_TOLERANCE)


def test_a_wrong_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison must be able to fail: a softmax - onehot off by 1 % is caught."""
    right = LossCrossEntropy._sample_grad
    monkeypatch.setattr(LossCrossEntropy, "_sample_grad", lambda s, p, t: right(s, p, t) * 1.01)
    pred, target = draw_batch("CrossEntropy", (6, 4), torch.Generator().manual_seed(5))
    with pytest.raises(AssertionError):
        check_loss("CrossEntropy", "sum", pred, target, TOLERANCE)


def test_mse_keeps_its_exact_values() -> None:
    """LossMSE's results are bit for bit those of v1's formula."""
    g = torch.Generator().manual_seed(6)
    pred, target = draw_batch("MSE", (9, 4), g)
    assert torch.equal(LossMSE().forward(pred, target), (pred - target).square().sum() * 0.25)
    mean = LossMSE("mean")
    assert torch.equal(mean.forward(pred, target), (pred - target).square().sum() * (1 / 36))
    assert torch.equal(mean.backward(), (pred - target) * 2 * (1 / 36))


def test_error_rates() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    onehot = torch.eye(3)[[0, 2, 2, 1]]
    assert float(LossCrossEntropy().error_rate(logits, onehot)) == 50.0
    assert float(LossMSE().error_rate(logits, onehot)) == 50.0
    logit = torch.tensor([[3.0], [-1.0], [0.2], [-0.1]])
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0])  # (N,) against (N, 1)
    assert float(LossBCE().error_rate(logit, labels)) == 50.0
    # MSE's one-output rule thresholds at 0.5, BCE's at 0: the 0.2 logit differs.
    assert float(LossL1().error_rate(logit, labels)) == 25.0
    stacked = torch.stack([logit, -logit])
    assert LossBCE().error_rate(stacked, torch.stack([labels, labels])).tolist() == [50.0, 50.0]
    assert float(error_rate(logits, onehot)) == 50.0


def test_forms_and_errors() -> None:
    pred = torch.tensor([[0.5], [-2.0]], dtype=F64)
    loss = LossBCE("mean")
    value = loss.forward((pred, torch.tensor([1.0, 0.0], dtype=F64)))
    assert float(value) == pytest.approx(float(F.softplus(-pred[0]) + F.softplus(pred[1])) / 2)
    torch.testing.assert_close(loss.backward(torch.tensor(2.0, dtype=F64)), 2 * loss.backward())
    for make in (LossMSE, LossL1, LossHuber, LossCrossEntropy, LossBCE):
        with pytest.raises(ValueError, match="reduction"):
            make(reduction="max")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="shape"):
            make().forward(torch.zeros(2, 2), torch.zeros(3))
        with pytest.raises(TypeError, match="pred, target"):
            make().forward(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="K >= 2"):
        LossCrossEntropy().forward(pred, torch.ones(2, 1, dtype=F64))
    with pytest.raises(ValueError, match="delta"):
        LossHuber(delta=0.0)
    assert repr(LossHuber("mean", 0.5)) == "LossHuber(reduction='mean', delta=0.5)"
