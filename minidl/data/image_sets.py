"""Train and test sets from image folders: read, split, labelled.

The one place that turns folders into the tensors a run trains on; the compiler calls it
for a spec, and the script of `--emit python` calls it too, so both see the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from minidl.data.dataset import Dataset
from minidl.data.errors import DataError
from minidl.data.images import read_image_folder

__all__ = ["ImageSets", "image_datasets"]


@dataclass(frozen=True)
class ImageSets:
    """The sets `(N, C, H, W)` in [0, 1], and the classes (subfolder names, sorted)."""

    train: Dataset
    test: Dataset | None
    classes: tuple[str, ...]


def image_datasets(
    train_dir: Path | str,
    *,
    outputs: int,
    generator: torch.Generator,
    test_dir: Path | str | None = None,
    split_fraction: float | None = None,
    size: tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageSets:
    """Read `train_dir` (and `test_dir`, or a seeded `split_fraction` of the training
    images: the first round(F * N) of one `torch.randperm` train, as CSV splits do), for a
    network of `outputs` outputs: targets one-hot over the classes, or 0/1 for one output.
    Faults are `DataError`s naming the file."""
    train = read_image_folder(train_dir, size, channels)
    pixels, labels = train.pixels, train.labels
    test_pixels, test_labels = None, None
    if test_dir is not None:
        test = read_image_folder(test_dir, size, channels, train.classes)
        if test.pixels.shape[1:] != pixels.shape[1:]:
            raise DataError(
                str(test.files[0]),
                0,
                "E373",
                f"`{test.files[0]}` is {_shape(test.pixels)}, but the training images are "
                f"{_shape(pixels)}",
                f"add `size=[{pixels.shape[2]}, {pixels.shape[3]}]` to resize every image",
            )
        test_pixels, test_labels = test.pixels, test.labels
    elif split_fraction is not None:
        count = len(labels)
        kept = round(split_fraction * count)
        if kept in (0, count):
            raise DataError(
                str(train_dir),
                0,
                "E314",
                f"split={split_fraction:g} of {count} images leaves none for "
                f"{'training' if kept == 0 else 'testing'}",
                "use a fraction nearer 0.5, or give a `test=` folder",
            )
        order = torch.randperm(count, generator=generator)
        train_rows, _ = order[:kept].sort()
        test_rows, _ = order[kept:].sort()
        test_pixels, test_labels = pixels[test_rows], labels[test_rows]
        pixels, labels = pixels[train_rows], labels[train_rows]
    classes = len(train.classes)
    if outputs == 1 and classes != 2:
        raise DataError(
            str(train_dir),
            0,
            "E315",
            f"one output needs two classes, but `{train_dir}` has {classes}",
            f"end the network with `Linear ->{classes}` and use `loss CrossEntropy`",
        )
    if outputs > 1 and classes > outputs:
        raise DataError(
            str(train_dir),
            0,
            "E316",
            f"the network gives {outputs} outputs, but `{train_dir}` has {classes} classes",
            f"end the network with `Linear ->{classes}`",
        )
    train_set = Dataset(pixels, _targets(labels, outputs))
    test_set = None
    if test_pixels is not None and test_labels is not None:
        test_set = Dataset(test_pixels, _targets(test_labels, outputs))
    return ImageSets(train_set, test_set, train.classes)


def _shape(pixels: torch.Tensor) -> str:
    return "x".join(str(v) for v in pixels.shape[1:])


def _targets(labels: torch.Tensor, outputs: int) -> torch.Tensor:
    """Class indices as targets: 0/1 values for one output, one-hot rows for several."""
    if outputs == 1:
        return labels.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(labels, outputs).to(torch.float64)
