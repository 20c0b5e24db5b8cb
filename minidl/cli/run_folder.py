"""Run folders: every file written atomically, no folder ever overwritten, nothing unpickled."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from minidl.nn import Linear, Sequential
from minidl.train import EpochRecord

__all__ = [
    "HISTORY_FIELDS",
    "load_weights",
    "new_run_folder",
    "weights_of",
    "write_atomic",
    "write_history",
    "write_json",
    "write_weights",
]

HISTORY_FIELDS = ["epoch", "loss", "train_loss", "test_loss", "train_error", "test_error"]


def new_run_folder(out: Path, name: str, now: datetime | None = None) -> Path:
    """Create `out/<name>-<UTC time>/`; add `-2`, `-3`... rather than reuse a folder."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        folder = out / (f"{name}-{stamp}" if attempt == 1 else f"{name}-{stamp}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"no free run folder name under {out}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`.

    A reader (or a crash) sees the old file or the new one, never half of one.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, 0o644)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically; NaN and infinities become null, so that the file stays JSON."""
    write_atomic(path, (json.dumps(_finite(value), indent=2) + "\n").encode())


def write_history(path: Path, history: Sequence[EpochRecord]) -> None:
    """Write the per-epoch history as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(record.as_dict() for record in history)
    write_atomic(path, buffer.getvalue().encode())


def weights_of(model: Sequential) -> dict[str, torch.Tensor]:
    """The model's parameters by name (`0.weight`, `0.bias`, ...), copied to the CPU."""
    tensors = {}
    for position, module in enumerate(model):
        if isinstance(module, Linear):
            tensors[f"{position}.weight"] = module.weight.detach().cpu().clone()
            if module.bias is not None:
                tensors[f"{position}.bias"] = module.bias.detach().cpu().clone()
    return tensors


def write_weights(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write tensors in the safetensors format (no pickle), atomically."""
    write_atomic(path, save_safetensors({k: v.contiguous() for k, v in tensors.items()}))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file: plain tensors, never code."""
    return load_safetensors(path.read_bytes())


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not (value == value and abs(value) != float("inf")):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
