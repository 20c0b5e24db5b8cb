"""Checkpoints: what resuming a run needs, kept atomically in its folder while it trains.

One file, `checkpoint.safetensors`: the weights and state of the model, the optimiser's
state, the random generator's state, with early stopping the best epoch's weights so far,
and (as metadata) the epoch and the history so far, all as of the end of the same epoch
(the patience counter is found again in the history's validation losses). It is written
at most once every `every_s` seconds (measured: the seed run pays well under 5 %), and
again when the run stops; a killed
process loses at most that much work. A finished run's checkpoint is removed.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors.torch import save as save_safetensors

from minidl.compiler.program import Program
from minidl.runs.folder_checks import check_finite
from minidl.runs.run_files import Figures, validated
from minidl.runs.run_folder import (
    FORMAT_VERSION,
    RunFolderError,
    bounded_json,
    load_into,
    load_weights,
    weights_of,
    write_atomic,
)
from minidl.train import EpochRecord

__all__ = ["CHECKPOINT", "Checkpoints", "Snapshot", "restore"]

CHECKPOINT = "checkpoint.safetensors"


@dataclass(frozen=True)
class Snapshot:
    """A run as of the end of an epoch: enough to continue it bit for bit."""

    weights: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor | float]
    generator: torch.Tensor
    history: tuple[EpochRecord, ...]
    best: tuple[torch.Tensor, ...] = ()
    """With early stopping, the best epoch's weights so far (the model's tensors in order)."""

    def encode(self) -> bytes:
        """The snapshot as one safetensors file (tensors, and JSON metadata for the rest)."""
        tensors = {f"model/{name}": t for name, t in self.weights.items()}
        scalars = {}
        for key, value in self.optimizer.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[key] = value
        tensors["generator"] = self.generator
        tensors.update(
            {f"best/{i}": t.detach().cpu().contiguous() for i, t in enumerate(self.best)}
        )
        metadata = {
            "format_version": str(FORMAT_VERSION),
            "epoch": str(len(self.history)),
            "optimizer": json.dumps(scalars),
            "history": json.dumps([record.as_dict() for record in self.history]),
            "tensors": json.dumps(sorted(tensors)),
        }
        return save_safetensors(tensors, metadata=metadata)


def take(program: Program, history: list[EpochRecord]) -> Snapshot:
    """The program's state now (call it at an epoch's end, before the next one starts)."""
    return Snapshot(
        weights_of(program.model),
        program.optimizer.state_dict(),
        program.generator.get_state(),
        tuple(history),
        () if program.best is None else tuple(t.clone() for t in program.best.tensors),
    )


def checkpoint_seconds() -> float:
    """Seconds between checkpoint writes: 2, or `MINIDL_CHECKPOINT_SECONDS` (0: every epoch)."""
    try:
        return max(0.0, float(os.environ.get("MINIDL_CHECKPOINT_SECONDS", "2")))
    except ValueError:
        return 2.0


class Checkpoints:
    """Keeps the latest epoch's snapshot and writes it to the folder now and then."""

    def __init__(self, folder: Path, program: Program, every_s: float | None = None) -> None:
        self.path = folder / CHECKPOINT
        self.program = program
        self.every_s = checkpoint_seconds() if every_s is None else every_s
        self.latest: Snapshot | None = None
        self.written = True
        self.last_write = time.monotonic()

    def epoch_done(self, history: list[EpochRecord]) -> None:
        """Take a snapshot; write it if the last write is `every_s` seconds old."""
        self.latest = take(self.program, history)
        self.written = False
        if time.monotonic() - self.last_write >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Write the latest snapshot, if it is not on disk yet."""
        if self.latest is not None and not self.written:
            write_atomic(self.path, self.latest.encode())
            self.written = True
            self.last_write = time.monotonic()

    def remove(self) -> None:
        """Drop the checkpoint of a finished run."""
        self.path.unlink(missing_ok=True)


def restore(program: Program, folder: Path) -> list[EpochRecord]:
    """Put a compiled program back in the state of the folder's checkpoint; return the
    history it holds (empty, the program untouched, when there is no checkpoint).

    A checkpoint that is not whole is a damaged folder (`RunFolderError`), never a silent
    restart with other numbers: metadata that `CheckpointFile` refuses, a history that is
    not its epochs 1..N, tensors missing from the list it was written with, a step count
    that is not N epochs of mini-batches, NaN or infinite weights or optimiser state.
    """
    path = folder / CHECKPOINT
    if not path.exists():
        return []
    tensors = load_weights(path)
    meta = read_checkpoint_metadata(path)
    spec = program.spec
    if meta.epoch > spec.train.epochs:
        raise RunFolderError(
            path, f"damaged: it holds epoch {meta.epoch}, the spec trains {spec.train.epochs}"
        )
    if meta.tensors is not None and set(meta.tensors) != set(tensors):
        lost = sorted(set(meta.tensors) ^ set(tensors))
        raise RunFolderError(path, f"damaged: tensor `{lost[0]}` is missing or unexpected")
    if "generator" not in tensors:
        raise RunFolderError(path, "damaged: the random generator's state is missing")
    check_finite(path, {k: v for k, v in tensors.items() if k != "generator"})
    train = program.data[0]
    batches = -(-len(train) // spec.optimizer.batch)
    step = meta.optimizer.get("step")
    if step != meta.epoch * batches:
        raise RunFolderError(
            path, f"damaged: the optimiser took {step!r} steps, not {meta.epoch} epochs' worth"
        )
    weights = {k.removeprefix("model/"): v for k, v in tensors.items() if k.startswith("model/")}
    load_into(program.model, weights, path)
    state: dict[str, torch.Tensor | float] = {
        key: value for key, value in meta.optimizer.items() if value is not None
    }
    device = next((v.device for v, _ in program.model.param()), torch.device("cpu"))
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            state[key.removeprefix("optimizer/")] = value.to(device)
    try:
        program.optimizer.load_state_dict(state)
        program.generator.set_state(tensors["generator"])
        if program.best is not None:
            count = len(program.best.tensors)
            program.best.load([tensors[f"best/{i}"].to(device) for i in range(count)])
    except (KeyError, ValueError, TypeError, RuntimeError) as caught:
        raise RunFolderError(path, f"damaged checkpoint ({caught})") from None
    return [figures.record() for figures in meta.history]


def read_checkpoint_metadata(path: Path) -> CheckpointFile:
    """The checkpoint's metadata (safetensors keeps strings) decoded within bounds and
    validated: the epoch, the optimiser's scalars and the history, which must be its
    epochs 1..N."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            raw = file.metadata() or {}
    except Exception as caught:  # safetensors raises its own error types for damaged files
        raise RunFolderError(path, f"damaged checkpoint ({caught})") from None
    value: dict[str, object] = {}
    for key, text in raw.items():
        if key in ("optimizer", "history", "tensors"):
            value[key] = _nan_as_null(bounded_json(text, path, allow_nan=True))
        elif key in ("format_version", "epoch"):
            value[key] = int(text) if text.isdigit() and len(text) < 10 else text
        else:
            value[key] = text
    meta = validated(path, value, CheckpointFile)
    if [figures.epoch for figures in meta.history] != list(range(1, meta.epoch + 1)):
        raise RunFolderError(
            path, f"damaged: its history is not epochs 1 to {meta.epoch}, the epoch it holds"
        )
    return meta


class CheckpointFile(BaseModel):
    """The checkpoint's metadata, decoded."""

    model_config = ConfigDict(frozen=True, strict=True, extra="allow")

    format_version: int = Field(ge=1)
    epoch: int = Field(ge=1)
    optimizer: dict[str, float | int | bool | None]
    history: list[Figures]
    tensors: list[str] | None = None
    """Every tensor's name (written since the checkpoint could lose some unnoticed)."""


def _nan_as_null(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_nan_as_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _nan_as_null(v) for k, v in value.items()}
    return value
