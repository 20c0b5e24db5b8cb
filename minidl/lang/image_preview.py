"""What a spec's image folders will be, told without torch: for the summary and editors.

The class subfolders are listed and counted, and the first image's header (Pillow reads
its size and mode without decoding it) gives the image shape when `size` and `channels`
do not. A folder that is missing is the spec's mistake, at the path in the spec.
"""

from __future__ import annotations

from pathlib import Path

from minidl.lang import ir
from minidl.lang.carried import Image
from minidl.lang.errors import Diagnostic
from minidl.lang.nodes import Span

__all__ = ["image_preview"]

SUFFIXES = (".png", ".jpg", ".jpeg")


def image_preview(
    data: ir.ImagesData, base: Path, span: Span | None, source: str | None
) -> tuple[Image | None, list[str], list[Diagnostic]]:
    """(the image shape, lines describing the data, diagnostics) for `data images`."""
    root = base / data.train
    if not root.is_dir():
        problem = Diagnostic.at(
            span, "E301", f"no folder `{root}`", "check the path (relative to the spec)", source
        )
        return None, [], [problem]
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    counts = {
        folder.name: sum(1 for f in folder.iterdir() if f.suffix.lower() in SUFFIXES)
        for folder in classes
    }
    shape = data.image() or _first_shape(classes, data)
    listed = ", ".join(f"{name} {count}" for name, count in counts.items())
    what = "?" if shape is None else "x".join(str(v) for v in shape)
    lines = [
        f"data: {what} images, {len(counts)} classes",
        f"  {sum(counts.values()):,} training images: {listed}",
    ]
    return shape, lines, []


def _first_shape(classes: list[Path], data: ir.ImagesData) -> Image | None:
    """The shape of the first image found (its header only), or None."""
    try:
        from PIL import Image as Pillow
    except ImportError:
        return None
    for folder in classes:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in SUFFIXES:
                continue
            try:
                with Pillow.open(path) as image:
                    width, height = image.size
                    mode = image.mode
            except (OSError, ValueError):
                return None
            channels = data.channels or (1 if mode in ("1", "L", "LA", "I", "I;16", "F") else 3)
            if data.size is not None:
                height, width = data.size
            return (channels, height, width)
    return None
