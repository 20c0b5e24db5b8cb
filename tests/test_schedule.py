"""Learning-rate schedules against torch's schedulers and LANGUAGE.md's formula."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import pytest
import torch
from torch.optim import lr_scheduler

from minidl.schedule import Schedule

LR = 0.1
TOLERANCE = 1e-12 * LR  # torch updates its rate recursively, epoch by epoch

MakeScheduler = Callable[[torch.optim.Optimizer], lr_scheduler.LRScheduler]


def torch_rates(make: MakeScheduler, epochs: int) -> list[float]:
    """The rate torch's scheduler gives each epoch, read before the epoch runs."""
    leaf = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([leaf], lr=LR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notes
        scheduler = make(optimizer)
        rates = []
        for _ in range(epochs):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            scheduler.step()
    return rates


def our_rates(schedule: Schedule) -> list[float]:
    return [schedule.lr_at(epoch) for epoch in range(schedule.epochs)]


def assert_rates_equal(ours: list[float], theirs: list[float]) -> None:
    assert len(ours) == len(theirs)
    for epoch, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert abs(a - b) <= TOLERANCE, f"epoch {epoch}: {a} against torch's {b}"


@pytest.mark.parametrize("epochs", [1, 2, 7, 100])
def test_cosine_is_cosine_annealing(epochs: int) -> None:
    theirs = torch_rates(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=epochs), epochs)
    assert_rates_equal(our_rates(Schedule("cosine", LR, epochs)), theirs)


@pytest.mark.parametrize(("every", "gamma", "epochs"), [(30, 0.1, 100), (1, 0.5, 10), (3, 0.9, 20)])
def test_step_is_step_lr(every: int, gamma: float, epochs: int) -> None:
    theirs = torch_rates(lambda o: lr_scheduler.StepLR(o, step_size=every, gamma=gamma), epochs)
    assert_rates_equal(our_rates(Schedule("step", LR, epochs, every=every, gamma=gamma)), theirs)


def test_constant_is_constant() -> None:
    assert our_rates(Schedule("constant", LR, 5)) == [LR] * 5


def after_warmup(kind: str, epochs: int, warmup: int) -> MakeScheduler:
    def make(optimizer: torch.optim.Optimizer) -> lr_scheduler.LRScheduler:
        rest: lr_scheduler.LRScheduler
        if kind == "cosine":
            rest = lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs - warmup)
        elif kind == "step":
            rest = lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
        else:
            rest = lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
        # (e + 1) / W for e < W: LinearLR from 1/W to 1 over W - 1 epochs
        ramp = lr_scheduler.LinearLR(optimizer, 1 / warmup, 1.0, total_iters=warmup - 1)
        return lr_scheduler.SequentialLR(optimizer, [ramp, rest], milestones=[warmup])

    return make


@pytest.mark.parametrize("kind", ["constant", "cosine", "step"])
@pytest.mark.parametrize(("epochs", "warmup"), [(20, 2), (20, 5), (9, 8)])
def test_warmup_is_a_linear_ramp_then_the_schedule(kind: str, epochs: int, warmup: int) -> None:
    schedule = Schedule(kind, LR, epochs, every=4, gamma=0.5, warmup=warmup)  # type: ignore[arg-type]
    assert_rates_equal(our_rates(schedule), torch_rates(after_warmup(kind, epochs, warmup), epochs))


def test_warmup_by_the_languages_formula() -> None:
    """LANGUAGE.md: lr*(e+1)/W for e < W, then with k = e - W the schedule's formula."""
    epochs, warmup = 10, 3
    cosine = our_rates(Schedule("cosine", LR, epochs, warmup=warmup))
    expected = [LR * (e + 1) / warmup for e in range(warmup)]
    expected += [LR * (1 + math.cos(math.pi * k / (epochs - warmup))) / 2 for k in range(7)]
    assert cosine == pytest.approx(expected, rel=1e-15, abs=0)
    step = our_rates(Schedule("step", LR, epochs, every=2, gamma=0.1, warmup=warmup))
    expected = [LR / 3, LR * 2 / 3, LR, LR, LR, LR * 0.1, LR * 0.1, LR * 0.01, LR * 0.01, LR * 1e-3]
    assert step == pytest.approx(expected, rel=1e-15, abs=0)
    assert our_rates(Schedule("constant", LR, 3, warmup=1)) == [LR, LR, LR]
    assert our_rates(Schedule("cosine", LR, 4, warmup=4)) == [LR / 4, LR / 2, LR * 3 / 4, LR]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind 'linear'"):
        Schedule("linear", LR, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warmup"):
        Schedule("cosine", LR, 10, warmup=11)
    with pytest.raises(ValueError, match="positive"):
        Schedule("step", LR, 10, every=0)
    with pytest.raises(ValueError, match="outside"):
        Schedule("constant", LR, 10).lr_at(10)
