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
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save as save_safetensors

from minidl.cli.run_folder import (
    FORMAT_VERSION,
    RunFolderError,
    load_into,
    load_weights,
    weights_of,
    write_atomic,
)
from minidl.compiler.program import Program
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
    history it holds (empty, the program untouched, when there is no checkpoint)."""
    path = folder / CHECKPOINT
    if not path.exists():
        return []
    tensors = load_weights(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata() or {}
    try:
        version = int(metadata["format_version"])
        scalars = json.loads(metadata["optimizer"])
        history = [EpochRecord(**record) for record in json.loads(metadata["history"])]
    except (KeyError, ValueError, TypeError) as caught:
        raise RunFolderError(path, f"damaged checkpoint metadata ({caught})") from None
    if version > FORMAT_VERSION:
        raise RunFolderError(path, f"format_version {version} is newer than this minidl reads")
    weights = {k.removeprefix("model/"): v for k, v in tensors.items() if k.startswith("model/")}
    load_into(program.model, weights, path)
    state: dict[str, torch.Tensor | float] = dict(scalars)
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
    except (KeyError, ValueError, RuntimeError) as caught:
        raise RunFolderError(path, f"damaged checkpoint ({caught})") from None
    return history
