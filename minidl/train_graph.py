"""The training loop's epoch on a CUDA device: each step captured once as a CUDA graph.

On a GPU a step of a small network is dozens of tiny kernels, and launching each from Python
costs more than its arithmetic. `GraphEpochs` keeps everything a step reads in static device
buffers (the data, the epoch's order of the samples, the learning rate, the step number, the
running loss and a divergence check), so that one step, once captured per batch shape (the
full batches, and the epoch's last smaller one), replays with one launch:

- the epoch's order is drawn on the CPU from the same generators, in the same order, as the
  plain loop does, and copied to the device once per epoch; each step gathers its batch
  inside the graph, at a step counter that the graph itself advances;
- the optimiser updates through `Optimizer.graph_step`, which reads the learning rate (that
  a schedule sets each epoch) and the step number from device tensors;
- the loss and gradient sums are added on the device, and the host reads them with the
  epoch's figures, in one transfer. If one became NaN or infinite, `redo()` undoes the epoch
  (from a copy taken at its start) and does it again step by step without graphs, which
  stops at the failing step exactly as the plain loop does.

The first step of each shape runs uncaptured (it warms the libraries up on a side stream,
as CUDA graph capture needs), the second is captured and replayed, the rest replay. The same
code runs uncaptured with `capture=False`, on any device: the tests compare it on the CPU
with the plain loop bit for bit. `fallback_reason` says why a model cannot be captured.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from minidl.data import Dataset, shuffled
from minidl.nn import Dropout, Loss, Module
from minidl.optim import Optimizer

__all__ = ["Diverged", "GraphEpochs", "fallback_reason", "graphs_wanted", "say_fallback"]

GRAPHS_VARIABLE = "MINIDL_CUDA_GRAPHS"
"""Set to 0 to run the steps on a CUDA device uncaptured (for comparisons and debugging)."""


class Diverged(Exception):
    """The loss or a gradient of step `step` was NaN or infinite (`run`: the first bad run)."""

    def __init__(self, step: int, what: str, run: int | None) -> None:
        self.step, self.what, self.run = step, what, run


def graphs_wanted() -> bool:
    """Whether steps on a CUDA device are captured: yes, unless `MINIDL_CUDA_GRAPHS=0` (then
    the same steps run uncaptured)."""
    return os.environ.get(GRAPHS_VARIABLE, "1") != "0"


def fallback_reason(model: Module, optimizer: Optimizer) -> str | None:
    """Why the steps of `model` with `optimizer` cannot be captured in a CUDA graph, or None."""
    for module in _walk(model):
        if isinstance(module, Dropout) and 0 < module.p < 1:
            return "Dropout draws its masks on the CPU (so that runs match on every device)"
    if type(optimizer).graph_step is Optimizer.graph_step:
        return f"the optimiser {type(optimizer).__name__} has no graph_step"
    return None


_SAID: set[str] = set()
_CAPTURING = threading.Lock()
_FAILED: list[torch.cuda.CUDAGraph] = []


def say_fallback(reason: str) -> None:
    """Tell the user, once per process and reason, that steps run without CUDA graphs."""
    if reason not in _SAID:
        _SAID.add(reason)
        print(f"minidl: device=cuda: training steps run eagerly: {reason}", file=sys.stderr)


def _walk(module: Module) -> Iterator[Module]:
    yield module
    for child in module.children():
        yield from _walk(child)


class GraphEpochs:
    """Epochs of mini-batch steps over static device buffers, captured per batch shape.

    Args:
        model, loss, optimizer: as for `minidl.train.fit` (stacked runs too).
        train: the training set, on its device; `(N, D)` or stacked `(R, N, D)`.
        batch_size: the mini-batch size; the last batch of an epoch may be smaller.
        capture: capture and replay CUDA graphs (needs CUDA); False runs the same steps.
        device_scalars: update with `graph_step` (needed to capture); False with `step`.
    """

    def __init__(
        self,
        model: Module,
        loss: Loss,
        optimizer: Optimizer,
        train: Dataset,
        batch_size: int,
        *,
        capture: bool = True,
        device_scalars: bool = True,
    ) -> None:
        self.model, self.loss, self.optimizer, self.data = model, loss, optimizer, train
        self.batch_size, self.capture, self.device_scalars = batch_size, capture, device_scalars
        self.stacked = model.runs is not None
        self.samples = len(train)
        self.full, self.rest = divmod(self.samples, batch_size)
        device = train.inputs.device
        runs = 1 if model.runs is None else model.runs
        shape = (runs, self.samples) if self.stacked else (self.samples,)
        self.order = torch.empty(shape, dtype=torch.long, device=device)
        self.staging = torch.empty(shape, dtype=torch.long, pin_memory=device.type == "cuda")
        self.position = torch.zeros(1, dtype=torch.long, device=device)
        """The index of the next full batch in the epoch (advanced by the steps)."""
        self.runs = torch.arange(runs, device=device).unsqueeze(1)
        self.seen = torch.zeros(runs, dtype=torch.float64, device=device)
        self.check = torch.zeros((), dtype=torch.float64, device=device)
        self.lr = torch.zeros((), dtype=torch.float64, device=device)
        self.step_number = torch.zeros((), dtype=torch.float64, device=device)
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.uncaptured: dict[int, int] = {}
        self.saved: _Snapshot | None = None
        self.copied: torch.cuda.Event | None = None
        """When the last order left `staging` (which the host may then overwrite)."""

    def epoch(self, generators: Sequence[torch.Generator]) -> Tensor:
        """One epoch, its order drawn from `generators`: each run's summed per-sample loss, on
        the device, without waiting for it. NaN where the loss or a gradient of any step was
        not finite: then `redo()` finds the step."""
        orders = [shuffled(self.samples, g) for g in generators]
        if self.copied is not None:
            self.copied.synchronize()  # long done, unless the caller never waits for an epoch
        self.staging.copy_(torch.stack(orders) if self.stacked else orders[0])
        self.order.copy_(self.staging, non_blocking=True)
        if self.staging.is_pinned():
            self.copied = torch.cuda.Event()  # type: ignore[no-untyped-call]
            self.copied.record()
        self.saved = _Snapshot(self.model, self.optimizer)
        self._start()
        for _ in range(self.full):
            self._run(self.batch_size)
        if self.rest:
            self._run(self.rest)
        return self.seen + (self.check - self.check)  # + 0, or NaN if the check is not finite

    def redo(self) -> Tensor:
        """Undo the last epoch and do it again, uncaptured, checking each step: raises
        `Diverged` at the first step whose loss or gradient is not finite, before its update,
        as the plain loop does; else (a false alarm) returns the epoch's loss again."""
        assert self.saved is not None, "redo() before epoch()"
        self.saved.restore()
        self.graphs.clear()  # state made during the epoch is gone: capture again
        self.uncaptured.clear()
        self._start()
        for step in range(1, self.full + (1 if self.rest else 0) + 1):
            self._step(self.batch_size if step <= self.full else self.rest, checked=step)
        return self.seen.clone()

    def _start(self) -> None:
        self.position.zero_()
        self.seen.zero_()
        self.check.zero_()
        self.lr.fill_(self.optimizer.lr)
        self.step_number.fill_(self.optimizer.steps)

    def _run(self, size: int) -> None:
        """One step: replayed, captured, or run (the first of each size warms up)."""
        graph = self.graphs.get(size)
        if graph is not None:
            graph.replay()
            self.optimizer.steps += 1
            return
        count = self.uncaptured.get(size, 0)
        if not self.capture or count == 0:
            self.uncaptured[size] = count + 1
            if self.capture:  # before a capture, libraries must warm up on a side stream
                stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    self._step(size)
                torch.cuda.current_stream().wait_stream(stream)
            else:
                self._step(size)
            return
        steps = self.optimizer.steps
        graph = torch.cuda.CUDAGraph()
        try:
            # One capture at a time in the process (they share the CUDA generator's state);
            # thread_local: a sweep's other cells go on launching on their own streams.
            with _CAPTURING, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._step(size)
        except RuntimeError as error:  # an operation that cannot be captured: go on without
            _FAILED.append(graph)  # destroying a failed capture can abort the process
            first: BaseException = error
            while first.__context__ is not None:  # the operation that broke the capture
                first = first.__context__
            say_fallback(f"capturing a step failed ({str(first).splitlines()[0]})")
            self.capture = False
            self.optimizer.steps = steps
            self._step(size)
            return
        self.optimizer.steps = steps  # capturing ran the Python side, not the step
        self.graphs[size] = graph
        graph.replay()
        self.optimizer.steps += 1

    def _step(self, size: int, checked: int = 0) -> None:
        """Gather the batch, forward, backward, add up the figures, update.

        With `checked` (the step's number), wait for the device and raise `Diverged` before
        the update if the loss or a gradient is not finite, as the plain loop does.
        """
        inputs, targets = self._batch(size)
        optimizer, loss = self.optimizer, self.loss
        optimizer.zero_grad()
        value = loss.forward(self.model.forward(inputs), targets)
        self.model.backward_params(loss.backward())
        grads = optimizer.grads  # one flat buffer on the fast path
        grad_sum = (
            grads[0].sum() if len(grads) == 1 else torch.stack([g.sum() for g in grads]).sum()
        )
        if checked and not (math.isfinite(float(value)) and math.isfinite(float(grad_sum))):
            what = "gradient" if math.isfinite(float(value)) else "loss"
            bad = (~torch.isfinite(loss.per_sample_sum().reshape(-1))).nonzero()
            raise Diverged(checked, what, int(bad[0]) if len(bad) else None)
        # Non-finite if the loss or a gradient is (or, rarely, if their float32 sum overflows:
        # then the epoch is only done again, checked step by step, and goes on).
        self.check.add_(value + grad_sum)
        if self.stacked:
            self.seen.add_(loss.per_sample_sum())
        else:  # value * size is exact in float64, so this rounds as the plain loop's sum
            self.seen.add_(value, alpha=size if loss.reduction == "mean" else 1)
        if self.device_scalars:
            self.step_number.add_(1)
            optimizer.graph_step(self.lr, self.step_number)
        else:
            optimizer.step()

    def _batch(self, size: int) -> tuple[Tensor, Tensor]:
        """The step's samples, gathered from the data by the epoch's order."""
        order = self.order
        if size == self.batch_size and self.full:
            steps = order.narrow(-1, 0, self.full * size)
            steps = steps.view(*order.shape[:-1], self.full, size)
            index = steps.index_select(-2, self.position).squeeze(-2)
            self.position.add_(1)
        else:
            index = order.narrow(-1, self.full * self.batch_size, size)
        data = self.data
        if self.stacked:
            return data.inputs[self.runs, index], data.targets[self.runs, index]
        return data.inputs[index], data.targets[index]


class _Snapshot:
    """Copies of what an epoch changes (weights, optimiser state, module buffers), to undo it."""

    def __init__(self, model: Module, optimizer: Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.steps = optimizer.steps
        self.names = set(optimizer.state)
        self.live = self._tensors()
        self.copies = [tensor.clone() for tensor in self.live]

    def _tensors(self) -> list[Tensor]:
        state = [t for name in sorted(self.names) for t in self.optimizer.state[name]]
        return [*self.optimizer.values, *state, *self.model.buffers()]

    def restore(self) -> None:
        for name in set(self.optimizer.state) - self.names:
            del self.optimizer.state[name]  # made during the epoch: made again on its first step
        for live, copy in zip(self.live, self.copies, strict=True):
            live.copy_(copy)
        self.optimizer.steps = self.steps
