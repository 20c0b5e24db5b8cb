"""`--out FILE` of a run folder's `--predict` and `--emit onnx`: where and how it is written.

A regular file, or a new path, is replaced atomically (a reader sees the old file or the new
one). Anything else is written into as it is, never replaced: a device (`/dev/null`), a FIFO,
`/dev/stdout`. A symbolic link is written through: its target is replaced, the link kept. A
file inside the run folder itself is refused: the run would no longer load.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

__all__ = [
    "OutFileError",
    "atomic_target",
    "check_out_file",
    "copy_into",
    "replace_mode",
    "write_out",
]


class OutFileError(Exception):
    """An `--out` that cannot or must not be written, told in one line."""


def check_out_file(out: Path, run_folder: Path) -> None:
    """Refuse a folder, a missing parent folder, a dangling link, or a path in `run_folder`."""
    if out.is_dir():
        raise OutFileError(f"--out {out}: is a folder; name the file to write")
    if os.path.lexists(out) and not out.exists():
        raise OutFileError(f"--out {out}: a link to {os.readlink(out)}, which does not exist")
    if not out.parent.is_dir():
        raise OutFileError(f"--out {out}: the folder {out.parent} does not exist")
    where = Path(os.path.realpath(out))
    if where.is_relative_to(Path(os.path.realpath(run_folder))):
        raise OutFileError(
            f"--out {out}: is inside the run folder {run_folder}, whose own files it would "
            "replace; write it elsewhere"
        )


def atomic_target(out: Path) -> Path | None:
    """The regular file (or new path) to replace atomically for `--out out`, a link's target
    for a link; None when `out` is something to write into as it is (a device, a FIFO)."""
    if Path(os.path.abspath(out)).parts[1:2] in (("dev",), ("proc",)):
        return None  # /dev/stdout is the shell's redirection, even to a regular file
    try:
        mode = os.stat(out).st_mode  # follows links
    except FileNotFoundError:
        return out
    return Path(os.path.realpath(out)) if stat.S_ISREG(mode) else None


def replace_mode(target: Path) -> int:
    """The permissions a replaced file keeps (a new one gets 0o644)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o644


def copy_into(source: Path, out: Path) -> None:
    """Write `source`'s bytes into `out` as it is (a device, a FIFO): opened, never replaced,
    appended to (/dev/stdout redirected to a file keeps what was printed before)."""
    with source.open("rb") as read, out.open("ab") as write:
        shutil.copyfileobj(read, write)


def write_out(out: Path, data: bytes) -> None:
    """Write `data` to `--out out`: atomically where that is safe, else into it directly."""
    from minidl.runs.run_folder import write_atomic

    target = atomic_target(out)
    if target is None:
        with out.open("ab") as file:
            file.write(data)
        return
    mode = replace_mode(target)
    write_atomic(target, data)
    os.chmod(target, mode)
