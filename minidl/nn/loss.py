"""Losses: MSE, L1, Huber, CrossEntropy (on logits) and BCE (on a logit).

Each is first taken per sample, then summed (`reduction="sum"`, the default) or averaged
(`"mean"`) over the batch; stacked runs `(R, N, K)` add their runs' reduced losses.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from minidl.nn.module import Module

__all__ = [
    "Loss",
    "LossBCE",
    "LossCrossEntropy",
    "LossHuber",
    "LossL1",
    "LossMSE",
    "Reduction",
    "error_rate",
]

Reduction = Literal["sum", "mean"]


def error_rate(output: Tensor, targets: Tensor) -> Tensor:
    """Percentage of misclassified samples, over the last two axes: shape `()` or `(R,)`.

    With one output the prediction is `output > 0.5`; with several, the arg-max, compared
    with the arg-max of the one-hot targets.
    """
    targets = targets.reshape(output.shape) if targets.numel() == output.numel() else targets
    if output.shape[-1] == 1:
        wrong = (output > 0.5) != (targets > 0.5)
    else:
        wrong = (output.argmax(-1) != targets.argmax(-1)).unsqueeze(-1)
    return wrong.double().mean(dim=(-2, -1)) * 100


class Loss(Module):
    """A loss taken per sample (`per_sample`), then summed or averaged over the batch.

    Called as `forward((pred, target))`, as in the seed report, or `forward(pred, target)`;
    `backward()` returns d loss / d pred (times the upstream gradient if one is given).
    A subclass defines `per_sample` and `_sample_grad`, the gradient of the sum of the
    per-sample losses.

    Args:
        reduction: `"sum"` adds the per-sample losses, so the batch gradient is the sum of
            the per-sample gradients (the seed report's accumulation); `"mean"` averages them.

    Shape: pred `(K,)`, `(N, K)` or stacked runs `(R, N, K)`; target of the same shape (or
    the same number of elements, such as `(N,)` against `(N, 1)`); output a scalar.
    """

    def __init__(self, reduction: Reduction = "sum") -> None:
        if reduction not in ("sum", "mean"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'sum' or 'mean', got {reduction!r}"
            )
        self.reduction: Reduction = reduction
        self.scale = 1.0
        self.pred: Tensor | None = None
        self.target: Tensor | None = None
        self.losses: Tensor | None = None

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        """Each sample's loss, shape `(..., N)` (`()` for one sample); keeps nothing."""
        raise NotImplementedError

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        """d (sum of the per-sample losses) / d pred."""
        raise NotImplementedError

    def forward(self, *input: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        pred, target = self._pred_and_target(input)
        self.pred, self.target = pred, target
        self.losses = self.per_sample(pred, target)
        samples = pred.shape[-2] if pred.dim() >= 2 and self.reduction == "mean" else 1
        self.scale = 1.0 / samples
        total = self.losses.sum()
        return total if self.scale == 1.0 else total * self.scale

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        assert self.pred is not None and self.target is not None, "backward called before forward"
        grad = self._sample_grad(self.pred, self.target)
        if self.scale != 1.0:
            grad = grad * self.scale
        return grad * gradwrtoutput[0] if gradwrtoutput else grad

    def per_sample_sum(self) -> Tensor:
        """The last forward's per-sample losses, summed: a scalar, or one per run `(R,)`."""
        assert self.losses is not None, "per_sample_sum called before forward"
        return self.losses if self.losses.dim() == 0 else self.losses.sum(-1)

    def error_rate(self, output: Tensor, target: Tensor) -> Tensor:
        """Percentage of misclassified samples over the last two axes: `()` or `(R,)`."""
        return error_rate(output, target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def _pred_and_target(
        self, input: tuple[Tensor | tuple[Tensor, Tensor], ...]
    ) -> tuple[Tensor, Tensor]:
        if len(input) == 1 and isinstance(input[0], tuple):
            input = input[0]
        if len(input) != 2:
            raise TypeError(
                f"{type(self).__name__}.forward takes (pred, target), as a pair or as two arguments"
            )
        pred, target = input
        assert isinstance(pred, Tensor) and isinstance(target, Tensor)
        return pred, self._target_like(pred, target)

    def _target_like(self, pred: Tensor, target: Tensor) -> Tensor:
        if target.shape == pred.shape:
            return target
        if target.numel() != pred.numel():
            raise ValueError(
                f"{type(self).__name__}: prediction has shape {tuple(pred.shape)} "
                f"but target has shape {tuple(target.shape)}"
            )
        return target.reshape(pred.shape)


def _features(pred: Tensor) -> int:
    return pred.shape[-1] if pred.dim() > 0 else 1


class LossMSE(Loss):
    """Mean squared error: for one sample, the mean of the squared errors over its features.

    Args:
        reduction: `"sum"` (default) or `"mean"` over the batch, see `Loss`.

    Shape: pred `(D,)`, `(N, D)` or `(R, N, D)`; target of the same shape (or the same number
    of elements); output a scalar (summed over runs).
    """

    def __init__(self, reduction: Reduction = "sum") -> None:
        super().__init__(reduction)
        self.diff: Tensor | None = None
        self.run_sums: Tensor | None = None

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        return (output - self._target_like(output, target)).square().mean(dim=-1)

    # forward, backward and per_sample_sum are faster forms of Loss's: one sum over all.
    def forward(self, *input: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        pred, target = self._pred_and_target(input)
        self.diff = pred - target
        samples = pred.shape[-2] if pred.dim() >= 2 and self.reduction == "mean" else 1
        self.scale = 1.0 / (_features(pred) * samples)
        squares = self.diff.square()
        if squares.dim() == 3:  # stacked runs: keep each run's sum for its history
            self.run_sums = squares.sum(dim=(1, 2))
            total = self.run_sums.sum()
        else:
            self.run_sums = None
            total = squares.sum()
        return total if self.scale == 1.0 else total * self.scale

    def backward(self, *gradwrtoutput: Tensor) -> Tensor:
        assert self.diff is not None, "backward called before forward"
        grad = self.diff + self.diff  # 2 (pred - target): an addition is cheaper than a scaling
        if self.scale != 1.0:
            grad *= self.scale
        return grad * gradwrtoutput[0] if gradwrtoutput else grad

    def per_sample_sum(self) -> Tensor:
        assert self.diff is not None, "per_sample_sum called before forward"
        if self.run_sums is not None:
            return self.run_sums / self.diff.shape[-1]
        if self.diff.dim() <= 1:
            return self.diff.square().mean()
        return self.diff.square().sum(dim=(-2, -1)) / self.diff.shape[-1]


class LossL1(Loss):
    """Mean absolute error: for one sample, the mean of |pred - target| over its features.

    The gradient at pred == target is 0, as torch's.

    Args:
        reduction: `"sum"` (default) or `"mean"` over the batch, see `Loss`.

    Shape: as `Loss`.
    """

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        return (output - self._target_like(output, target)).abs().mean(dim=-1)

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).sign_().div_(_features(pred))


class LossHuber(Loss):
    """Huber loss: per sample, the mean over its features of torch.nn.HuberLoss(delta).

    With e = pred - target: e^2 / 2 where |e| <= delta, else delta * (|e| - delta / 2); the
    derivative is e clamped to [-delta, delta].

    Args:
        reduction: `"sum"` (default) or `"mean"` over the batch, see `Loss`.
        delta: where the loss turns from quadratic to linear; > 0.

    Shape: as `Loss`.
    """

    def __init__(self, reduction: Reduction = "sum", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"LossHuber: delta must be > 0, got {delta}")
        self.delta = delta

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        error = output - self._target_like(output, target)
        size = error.abs()
        quadratic = 0.5 * error.square()
        linear = self.delta * (size - 0.5 * self.delta)
        return torch.where(size <= self.delta, quadratic, linear).mean(dim=-1)

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).clamp_(-self.delta, self.delta).div_(_features(pred))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, delta={self.delta}"


class LossCrossEntropy(Loss):
    """Cross-entropy on K >= 2 logits: per sample, -log softmax(pred)[target class].

    log-softmax and the log-likelihood are fused as logsumexp(pred) - pred[class], which
    stays finite for logits of any size; the one backward is softmax(pred) - onehot. The
    prediction is the arg-max.

    Args:
        reduction: `"sum"` (default) or `"mean"` over the batch, see `Loss`.

    Shape: pred `(K,)`, `(N, K)` or `(R, N, K)` logits; target the one-hot rows of the
    classes (probability rows summing to 1 work too), the same shape.
    """

    log_probs: tuple[Tensor, Tensor] | None = None
    """The last logits seen and their log-softmax, which backward turns into the softmax."""

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        if output.dim() == 0 or output.shape[-1] < 2:
            raise ValueError(
                f"LossCrossEntropy: needs K >= 2 logits per sample, got shape "
                f"{tuple(output.shape)}; for one logit use LossBCE"
            )
        target = self._target_like(output, target)
        # -sum(t * log softmax(x)) = logsumexp(x) - x[class]; log_softmax is the stable,
        # fused form, kept for backward, whose softmax is then one exp.
        log_probs = torch.log_softmax(output, dim=-1)
        self.log_probs = (output, log_probs)
        picked: Tensor = torch.linalg.vecdot(log_probs, target)
        return picked.neg_()

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        # d/dx of -log softmax(x)[class] = softmax(x) - onehot.
        cached = self.log_probs
        if cached is not None and cached[0] is pred:
            return torch.exp(cached[1]).sub_(target)
        return torch.softmax(pred, dim=-1).sub_(target)


class LossBCE(Loss):
    """Binary cross-entropy on a logit x for a target t in {0, 1} (with logits, as torch's).

    Per value softplus(x) - x t, computed as max(x, 0) - x t + log1p(exp(-|x|)) so that it
    stays finite for any logit; the derivative is sigmoid(x) - t. Several outputs are
    independent labels, averaged per sample. The prediction is 1 where the logit is > 0.

    Args:
        reduction: `"sum"` (default) or `"mean"` over the batch, see `Loss`.

    Shape: pred `(1,)`, `(N, 1)` or `(R, N, 1)` logits; target 0 or 1, the same number of
    elements.
    """

    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        target = self._target_like(output, target)
        softplus = output.clamp(min=0) + torch.log1p(torch.exp(-output.abs()))
        return (softplus - output * target).mean(dim=-1)

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        return torch.sigmoid(pred).sub_(target).div_(_features(pred))

    def error_rate(self, output: Tensor, target: Tensor) -> Tensor:
        target = self._target_like(output, target)
        wrong = (output > 0) != (target > 0.5)
        return wrong.double().mean(dim=(-2, -1)) * 100
