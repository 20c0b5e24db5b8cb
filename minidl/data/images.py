"""Image folders: one subfolder per class, PNG or JPEG files read with Pillow.

Pixels are scaled to [0, 1] and each image is `(C, H, W)` (channels first, as torch). The
classes are the subfolders' names in sorted order. Faults (a folder without images, a file
Pillow cannot read, images of mixed sizes or modes) are `DataError`s naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from minidl.data.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "ImageFolder", "image_files", "read_image_folder", "read_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""The files a folder's images are (in any case)."""

PILLOW_MISSING = 'reading images needs Pillow: pip install "minidl[images]" (or pillow)'


@dataclass(frozen=True)
class ImageFolder:
    """A folder's images `(N, C, H, W)` float64 in [0, 1], each one's class index, the
    classes (subfolder names, sorted), and each image's file."""

    pixels: Tensor
    labels: Tensor
    classes: tuple[str, ...]
    files: tuple[Path, ...]


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_folder(
    root: Path | str,
    size: tuple[int, int] | None = None,
    channels: int | None = None,
    classes: tuple[str, ...] | None = None,
) -> ImageFolder:
    """Read every image of `root`'s class subfolders. `classes` (a test folder's) must
    hold every subfolder found; `size` resizes to (H, W); `channels` 1 or 3 converts."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            str(root), 0, "E301", f"no folder `{root}`", "check the path (relative to the spec)"
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(
            str(root),
            0,
            "E370",
            f"`{root}` has no class subfolders",
            "put each class's images in a subfolder named by its label",
        )
    found = tuple(folder.name for folder in folders)
    known = found if classes is None else classes
    files: list[Path] = []
    labels: list[int] = []
    for folder in folders:
        if folder.name not in known:
            raise DataError(
                str(folder),
                0,
                "E371",
                f"the class `{folder.name}` of `{folder}` is not a class of the training folder",
                "classes: " + ", ".join(known),
            )
        inside = image_files(folder)
        if not inside:
            raise DataError(
                str(folder),
                0,
                "E372",
                f"the class folder `{folder}` holds no PNG or JPEG image",
                "add images, or remove the folder",
            )
        files.extend(inside)
        labels.extend([known.index(folder.name)] * len(inside))
    pixels = read_images(files, size, channels)
    return ImageFolder(pixels, torch.tensor(labels), known, tuple(files))


def read_images(
    files: list[Path], size: tuple[int, int] | None = None, channels: int | None = None
) -> Tensor:
    """The images of `files` as one tensor `(N, C, H, W)` float64 in [0, 1]."""
    arrays = [_array(path, size, channels) for path in files]
    first = arrays[0] if arrays else None
    for path, array in zip(files, arrays, strict=True):
        assert first is not None
        if array.shape[0] != first.shape[0]:
            raise DataError(
                str(path),
                0,
                "E374",
                f"`{path}` has {_channels(array)}, but `{files[0]}` has {_channels(first)}",
                "add `channels=1` (grayscale) or `channels=3` (RGB) to the `data` statement",
            )
        if array.shape != first.shape:
            raise DataError(
                str(path),
                0,
                "E373",
                f"`{path}` is {_size(array)}, but `{files[0]}` is {_size(first)}",
                f"add `size=[{first.shape[1]}, {first.shape[2]}]` to the `data` statement to "
                "resize every image",
            )
    if not arrays:
        return torch.zeros(0, channels or 1, *(size or (1, 1)), dtype=torch.float64)
    return torch.from_numpy(np.stack(arrays)).to(torch.float64)


def _array(path: Path, size: tuple[int, int] | None, channels: int | None) -> Any:
    """One image `(C, H, W)` float64 in [0, 1]."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataError(str(path), 0, "E376", PILLOW_MISSING, None) from None
    try:
        with Image.open(path) as opened:
            image = opened.convert(_mode(opened.mode, channels))
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float64) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as caught:
        raise DataError(
            str(path),
            0,
            "E375",
            f"`{path}` is not an image Pillow can read ({type(caught).__name__})",
            "remove the file, or convert it to PNG or JPEG",
        ) from None
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _mode(mode: str, channels: int | None) -> str:
    """The Pillow mode to convert to: grayscale `L` or `RGB` (alpha is dropped)."""
    if channels is not None:
        return "L" if channels == 1 else "RGB"
    return "L" if mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"


def _channels(array: Any) -> str:
    return "1 channel (grayscale)" if array.shape[0] == 1 else "3 channels (RGB)"


def _size(array: Any) -> str:
    return f"{array.shape[1]}x{array.shape[2]} (height x width)"
