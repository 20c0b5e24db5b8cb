"""Run folders: every file written atomically, no folder ever overwritten, nothing unpickled."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from minidl.nn import Module, StateDictError
from minidl.train import EpochRecord

__all__ = [
    "FORMAT_VERSION",
    "HISTORY_FIELDS",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "RunFolderError",
    "bounded_json",
    "check_version",
    "load_into",
    "load_weights",
    "new_run_folder",
    "read_json",
    "weights_of",
    "write_atomic",
    "write_history",
    "write_json",
    "write_weights",
]

FORMAT_VERSION = 1
"""The version of the run folder's files that this minidl writes and reads."""

MAX_JSON_BYTES = 64 << 20
"""The largest JSON file (or checkpoint metadata entry) read: minidl writes kilobytes."""

MAX_DEPTH = 16
"""The deepest nesting of `[` and `{` read: minidl writes 3 levels."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")

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
    """Write the per-epoch history as CSV, atomically (with `val_` columns where the run has
    a validation set)."""
    buffer = io.StringIO()
    fields = list(history[0].as_dict()) if history else HISTORY_FIELDS
    writer = csv.DictWriter(buffer, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(record.as_dict() for record in history)
    write_atomic(path, buffer.getvalue().encode())


def weights_of(model: Module) -> dict[str, torch.Tensor]:
    """The model's parameters and state (BatchNorm's running statistics) by name, copied to
    the CPU: `0.weight`, `0.bias`, `3.running_mean`; inside a join `2.1.0.weight` (stage 2,
    branch 1, layer 0). The names are the model's own (`Module.state_dict`)."""
    return {name: tensor.cpu() for name, tensor in model.state_dict().items()}


def load_into(model: Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Copy saved `tensors` into `model` in place; a `RunFolderError` naming `path` when the
    names or shapes are not the model's (weights of another spec)."""
    try:
        model.load_state_dict(tensors)
    except StateDictError as caught:
        if caught.problem == "shape":
            what = f"{caught.key} is {caught.saved}, the spec makes it {caught.expected}"
        elif caught.problem == "missing":
            what = f"the file lacks {caught.key}"
        else:
            what = f"the file has {caught.key}, which the network lacks"
        raise RunFolderError(path, f"weights of another network: {what}") from None


def write_weights(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write tensors in the safetensors format (no pickle), atomically."""
    write_atomic(path, save_safetensors({k: v.contiguous() for k, v in tensors.items()}))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file: plain tensors, never code; a `RunFolderError` naming the file
    when it is missing, empty or damaged."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunFolderError(path, "missing") from None
    except OSError as caught:
        raise RunFolderError(path, f"cannot be read: {caught.strerror}") from None
    if not data:
        raise RunFolderError(path, "empty (0 bytes): the run was cut off while saving it")
    try:
        return load_safetensors(data)
    except Exception as caught:  # safetensors raises its own error types for damaged files
        reason = str(caught).splitlines()[0] if str(caught) else type(caught).__name__
        raise RunFolderError(path, f"damaged or truncated safetensors file ({reason})") from None


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Remove what killed writers left: `write_atomic`'s hidden `.NAME.xxxx` files, never
    renamed over their target (SIGKILL cannot be caught). Returns the names removed."""
    removed = []
    for path in folder.iterdir():
        name = path.name
        if name.startswith(".") and path.is_file() and name.count(".") >= 2:
            path.unlink(missing_ok=True)
            removed.append(name)
    return removed


class RunFolderError(Exception):
    """A run folder's file that is missing, damaged or of an unknown format: one line."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.problem), self.__dict__)


def read_json(path: Path) -> dict[str, Any]:
    """A run folder's JSON file as a dict; a `RunFolderError` naming it when it is not one,
    when it is nested deeper than minidl writes (refused before decoding), or when its
    `format_version` is newer than this minidl knows."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as caught:
        raise RunFolderError(path, f"not readable JSON ({caught})") from None
    value = bounded_json(text, path)
    if not isinstance(value, dict):
        raise RunFolderError(path, "not a JSON object")
    check_version(path, value)
    return value


def bounded_json(text: str, path: Path, allow_nan: bool = False) -> Any:
    """Decode JSON `text` of `path` once its size and nesting are known to be within bounds."""
    if len(text) > MAX_JSON_BYTES:
        raise RunFolderError(
            path, f"damaged: {len(text):,} characters of JSON, more than minidl writes"
        )
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket[0] in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise RunFolderError(
                path, f"damaged: JSON nested deeper than {MAX_DEPTH} levels (minidl writes 3)"
            )

    def refuse(constant: str) -> float:
        if allow_nan:
            return float(constant)
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as caught:
        raise RunFolderError(path, f"not readable JSON ({str(caught).splitlines()[0]})") from None


def check_version(path: Path, value: dict[str, Any]) -> None:
    """A `format_version` this minidl reads (1 when absent), else a `RunFolderError`."""
    version = value.get("format_version", 1)
    if isinstance(version, str) and version.isdigit() and len(version) < 10:
        version = int(version)  # safetensors metadata holds strings only
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RunFolderError(path, f"format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise RunFolderError(
            path,
            f"format_version {version} is newer than this minidl reads ({FORMAT_VERSION}); "
            "upgrade minidl",
        )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
