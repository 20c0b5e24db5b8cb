"""The spec's image data as tensors: `data images` folders read, split and labelled, and
`data csv ... shape=[C, H, W]` rows turned into images.

Faults of the data layer become diagnostics at the spec's option (a file's fault names
the file in its message).
"""

from __future__ import annotations

from pathlib import Path

import torch

from minidl.data import DataError, Dataset, read_image_folder
from minidl.lang import Spec, SpecError, ir
from minidl.lang.data_preview import image_shape_fault

__all__ = ["as_images", "check_image_shape", "load_images"]


def load_images(
    spec: Spec, data: ir.ImagesData, generator: torch.Generator
) -> tuple[Dataset, Dataset | None, tuple[str, ...]]:
    """Train and test sets of `data images`, targets one-hot over the sorted classes (one
    0/1 column for a network of one output), and the classes."""
    base = Path(spec.source).parent if spec.source else Path.cwd()
    size = None if data.size is None else (data.size[0], data.size[1])
    train = read_image_folder(base / data.train, size, data.channels)
    pixels, labels = train.pixels, train.labels
    test_pixels, test_labels = None, None
    if data.test is not None:
        test = read_image_folder(base / data.test, size, data.channels, train.classes)
        if test.pixels.shape[1:] != pixels.shape[1:]:
            raise DataError(
                str(test.files[0]),
                0,
                "E373",
                f"the test images are {_shape(test.pixels)}, the training images {_shape(pixels)}",
                f"add `size=[{pixels.shape[2]}, {pixels.shape[3]}]` to resize every image",
            )
        test_pixels, test_labels = test.pixels, test.labels
    elif data.split is not None:
        count = len(labels)
        kept = round(data.split * count)
        if kept in (0, count):
            raise DataError(
                str(base / data.train),
                0,
                "E314",
                f"split={data.split:g} of {count} images leaves none for "
                f"{'training' if kept == 0 else 'testing'}",
                "use a fraction nearer 0.5, or give a `test=` folder",
            )
        order = torch.randperm(count, generator=generator)
        train_rows, _ = order[:kept].sort()
        test_rows, _ = order[kept:].sort()
        test_pixels, test_labels = pixels[test_rows], labels[test_rows]
        pixels, labels = pixels[train_rows], labels[train_rows]
    outputs = _outputs(spec, (pixels.shape[1], pixels.shape[2], pixels.shape[3]))
    classes = train.classes
    train_set = Dataset(pixels, _targets(labels, outputs, len(classes)))
    test_set = None
    if test_pixels is not None and test_labels is not None:
        test_set = Dataset(test_pixels, _targets(test_labels, outputs, len(classes)))
    return train_set, test_set, classes


def _shape(pixels: torch.Tensor) -> str:
    return "x".join(str(v) for v in pixels.shape[1:])


def _outputs(spec: Spec, image: tuple[int, int, int]) -> int:
    from minidl.lang import resolve

    width = resolve(spec, image, None).out_features
    return width if isinstance(width, int) else 1


def _targets(labels: torch.Tensor, outputs: int, classes: int) -> torch.Tensor:
    if outputs == 1:
        return labels.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(labels, max(outputs, classes)).to(torch.float64)


def check_image_shape(spec: Spec, features: int) -> None:
    """`shape=[C, H, W]` must hold exactly the file's feature count (E377 at `shape`)."""
    fault = image_shape_fault(spec, features)
    if fault is not None:
        raise SpecError([fault])


def as_images(data: Dataset | None, shape: tuple[int, int, int] | None) -> Dataset | None:
    """Rows of C*H*W features as images `(N, C, H, W)` (as they are without a shape)."""
    if data is None or shape is None:
        return data
    return Dataset(data.inputs.reshape(-1, *shape), data.targets)
