"""`minidl runs/iris ...` where `--train` wrote `runs/iris-<timestamp>`: the newest such folder
is meant (contract v3), and the command says which it took."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["newest_run"]

_STAMP = r"(\d{8}T\d{6}Z)(?:-(\d+))?"
"""`new_run_folder`'s suffix: the UTC time, then `-2`, `-3`... when that name was taken."""


def newest_run(path: Path) -> Path | None:
    """The newest folder `PATH-<timestamp>` beside `path`, when no `path` exists; else None."""
    if path.exists() or not path.name:
        return None
    pattern = re.compile(re.escape(path.name) + "-" + _STAMP)
    found: list[tuple[str, int, Path]] = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return None
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir():
            found.append((match[1], int(match[2] or 1), entry))
    return max(found)[2] if found else None
