"""Learning-rate schedules: the rate of each epoch, set on the optimiser before it runs.

With `warmup=W`, epochs e < W use lr * (e + 1) / W. After it, with k = e - W:

- `constant`: lr;
- `cosine`: lr * (1 + cos(pi * k / (E - W))) / 2, torch's CosineAnnealingLR down to 0;
- `step`: lr * gamma ** floor(k / every), torch's StepLR.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["SCHEDULE_KINDS", "Schedule", "ScheduleKind"]

ScheduleKind = Literal["constant", "cosine", "step"]


@dataclass(frozen=True)
class Schedule:
    """The learning rate of each of `epochs` epochs (see the module's docstring).

    Args:
        kind: `"constant"`, `"cosine"` or `"step"`.
        base_lr: the optimiser's learning rate, reached at the end of the warm-up.
        epochs: E, the number of epochs of the whole run.
        every: `step` multiplies the rate by `gamma` every this many epochs.
        gamma: that factor.
        warmup: W, the number of warm-up epochs (0 for none), at most E.
    """

    kind: ScheduleKind
    base_lr: float
    epochs: int
    every: int = 30
    gamma: float = 0.1
    warmup: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            kinds = ", ".join(SCHEDULE_KINDS)
            raise ValueError(f"Schedule: unknown kind {self.kind!r}, not one of {kinds}")
        if not self.base_lr > 0 or self.epochs < 1 or self.every < 1:
            raise ValueError("Schedule: base_lr, epochs and every must be positive")
        if not 0 <= self.warmup <= self.epochs:
            raise ValueError(
                f"Schedule: warmup must be between 0 and epochs={self.epochs}, got {self.warmup}"
            )

    def lr_at(self, epoch0: int) -> float:
        """The learning rate of epoch `epoch0` (0-based, below `epochs`)."""
        if not 0 <= epoch0 < self.epochs:
            raise ValueError(f"Schedule: epoch {epoch0} is outside 0..{self.epochs - 1}")
        if epoch0 < self.warmup:
            return self.base_lr * (epoch0 + 1) / self.warmup
        return SCHEDULE_KINDS[self.kind](self, epoch0 - self.warmup)


def _constant(schedule: Schedule, k: int) -> float:
    return schedule.base_lr


def _cosine(schedule: Schedule, k: int) -> float:
    return schedule.base_lr * (1 + math.cos(math.pi * k / (schedule.epochs - schedule.warmup))) / 2


def _step(schedule: Schedule, k: int) -> float:
    return schedule.base_lr * schedule.gamma ** (k // schedule.every)


SCHEDULE_KINDS: dict[str, Callable[[Schedule, int], float]] = {
    "constant": _constant,
    "cosine": _cosine,
    "step": _step,
}
"""Each kind's rate after the warm-up, as a function of k = epoch - warmup."""
