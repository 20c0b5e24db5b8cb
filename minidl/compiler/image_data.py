"""The spec's image data as tensors: `data images` folders read, split and labelled, and
`data csv ... shape=[C, H, W]` rows turned into images.

Faults of the data layer become diagnostics at the spec's option (a file's fault names
the file in its message).
"""

from __future__ import annotations

from pathlib import Path

import torch

from minidl.data import Dataset
from minidl.data.image_sets import image_datasets
from minidl.lang import Spec, SpecError, ir, resolve
from minidl.lang.data_preview import image_shape_fault
from minidl.lang.image_preview import image_preview

__all__ = ["as_images", "check_image_shape", "load_images"]


def load_images(
    spec: Spec, data: ir.ImagesData, generator: torch.Generator
) -> tuple[Dataset, Dataset | None, tuple[str, ...]]:
    """Train and test sets of `data images` (see `minidl.data.image_datasets`), and the
    classes."""
    base = Path(spec.source).parent if spec.source else Path.cwd()
    sets = image_datasets(
        base / data.train,
        outputs=_outputs(spec, base, data),
        generator=generator,
        test_dir=base / data.test if data.test else None,
        split_fraction=data.split,
        size=None if data.size is None else (data.size[0], data.size[1]),
        channels=data.channels,
    )
    return sets.train, sets.test, sets.classes


def _outputs(spec: Spec, base: Path, data: ir.ImagesData) -> int:
    """The width the network ends with (the image shape from the first file if needed)."""
    image = data.image() or image_preview(data, base, None, None)[0]
    width = resolve(spec, image, None).out_features
    return width if isinstance(width, int) else 1


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
