"""What flows between the stages of a network: a width, or an image `(C, H, W)`.

The checker infers these before any tensor exists; each layer word says, in its entry,
what it takes and what it gives (`LayerWord.output`), and a mistake is a `ShapeFault`
that the checker reports at the stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Carried", "Image", "ShapeFault", "channels", "describe_shape", "size", "window_output"]

Image = tuple[int, int, int]
"""An image's channels, height and width."""

Carried = int | Image
"""A width (flat values) or an image."""


@dataclass(frozen=True)
class ShapeFault:
    """Why a stage cannot take what it receives: a diagnostic's code, message and help."""

    code: str
    message: str
    help: str


def size(value: Carried) -> int:
    """The number of values: the width, or C*H*W."""
    return value if isinstance(value, int) else math.prod(value)


def channels(value: Carried) -> int:
    """An image's channels, or a width itself (a flat value's features)."""
    return value if isinstance(value, int) else value[0]


def describe_shape(value: Carried) -> str:
    """As the summary prints it: `64` (with thousands separators) or `8x6x6`."""
    return f"{value:,}" if isinstance(value, int) else "x".join(str(v) for v in value)


def window_output(side: int, kernel: int, stride: int, padding: int) -> int:
    """A side after sliding a K-window with step S over it, padded by P on both borders:
    floor((side + 2P - K) / S) + 1."""
    return (side + 2 * padding - kernel) // stride + 1
