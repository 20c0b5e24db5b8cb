"""The grid of a sweep, or the configurations a search draws: its cells (one setting of the
swept keys each) and the tasks that train their runs. Shared by the sweep runner and the
results it writes. Torch-free: the summary checks the cells as training would."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from minidl.lang import Diagnostic, Spec, SpecError, ir
from minidl.lang.format import format_value
from minidl.lang.settings import with_setting

if TYPE_CHECKING:  # the summary expands the grid without torch
    from minidl.train import EpochRecord

__all__ = ["Cell", "CellResult", "Task", "cells", "draw", "tasks"]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its settings and the spec with them applied."""

    index: int
    settings: tuple[tuple[str, ir.Scalar], ...]
    spec: Spec

    @property
    def label(self) -> str:
        """The cell's column title: its value, or `key=value` pairs for several keys."""
        if len(self.settings) == 1:
            return format_value(self.settings[0][1])
        return ", ".join(f"{k.split('.')[-1]}={format_value(v)}" for k, v in self.settings) or "all"

    @property
    def cost(self) -> int:
        """Mini-batch steps per run: what the cell's wall time grows with."""
        n = self.spec.data.train if isinstance(self.spec.data, ir.SeededData) else 1000
        return math.ceil(n / self.spec.optimizer.batch) * self.spec.train.epochs


@dataclass
class CellResult:
    """Each run's final record (None where the run diverged) and the cell's wall time."""

    index: int
    finals: list[EpochRecord | None]
    seconds: float
    failure: str | None = None
    warnings: tuple[Diagnostic, ...] = ()
    """What loading the cell's data warned of (W201...), printed once by the sweep."""

    def figures(self, name: str) -> list[float]:
        """One figure (`test_error`, ...) of every run that did not diverge."""
        return [getattr(f, name) for f in self.finals if f is not None]


def cells(spec: Spec) -> list[Cell]:
    """The grid: the product of the sweep's lists, in the order they are written; or, with
    `samples=N`, the N configurations a search draws, in the order they are drawn."""
    assert spec.sweep is not None
    axes = spec.sweep.axes
    if spec.sweep.samples is None:
        points = list(itertools.product(*(axis.values for axis in axes)))
    else:
        points = draw(axes, spec.sweep.samples, spec.train.seed)
    grid: list[Cell] = []
    for index, values in enumerate(points):
        cell_spec = spec
        settings = tuple((axis.key, value) for axis, value in zip(axes, values, strict=True))
        for key, value in settings:
            cell_spec = with_setting(cell_spec, key, value)
        grid.append(Cell(index, settings, cell_spec.model_copy(update={"sweep": None})))
    contradictions = [d for cell in grid for d in _contradictions(cell, spec)]
    if contradictions:
        raise SpecError(contradictions[:1])
    return grid


def _contradictions(cell: Cell, spec: Spec) -> list[Diagnostic]:
    """E137 at the sweep for a cell whose options contradict each other (`nesterov=true` where
    momentum is 0), as the file itself gets it, before anything trains."""
    found = []
    for name in type(cell.spec).model_fields:
        problems = getattr(getattr(cell.spec, name), "problems", None)
        for _, message, help in problems() if problems is not None else []:
            where = spec.sweep.span if spec.sweep is not None else None
            text = f"cell {cell.label}: {message}"
            found.append(Diagnostic.at(where, "E137", text, help, spec.source))
    return found


def draw(axes: tuple[ir.SweepAxis, ...], samples: int, seed: int) -> list[tuple[ir.Scalar, ...]]:
    """`samples` configurations, each key drawn from its list or distribution in turn, by a
    generator seeded with `seed`: the same spec draws the same configurations."""
    generator = random.Random(seed)
    return [tuple(_draw_one(axis, generator) for axis in axes) for _ in range(samples)]


def _draw_one(axis: ir.SweepAxis, generator: random.Random) -> ir.Scalar:
    if axis.distribution is None:
        return axis.values[generator.randrange(len(axis.values))]
    assert axis.low is not None and axis.high is not None
    if axis.distribution == "randint":
        return generator.randint(int(axis.low), int(axis.high))  # both ends included
    low, high = float(axis.low), float(axis.high)
    if axis.distribution == "loguniform":
        low, high = math.log(low), math.log(high)
    # `low + (high - low) * u` with u in [0, 1) can round up to `high`: keep [low, high).
    value = min(low + (high - low) * generator.random(), math.nextafter(high, -math.inf))
    if axis.distribution == "loguniform":
        return min(math.exp(value), math.nextafter(float(axis.high), -math.inf))
    return value


@dataclass(frozen=True)
class Task:
    """Runs `first` to `first + count - 1` of a cell: what one worker trains at once."""

    cell: Cell
    first: int
    count: int


def tasks(grid: list[Cell], runs: int) -> list[Task]:
    """A cell's runs as one stacked task for minidl; one task a run for torch's autograd,
    which cannot stack them, so that workers share a cell's runs. Longest first."""
    split = [
        [Task(cell, 0, runs)] if cell.spec.train.backend == "minidl"
        else [Task(cell, run, 1) for run in range(runs)]
        for cell in grid
    ]  # fmt: skip
    return sorted((t for group in split for t in group), key=lambda t: -t.cell.cost * t.count)
