"""Data: the seed report's disk, CSV files of one's own, labels, normalisation, batches.

Reading a header (`read_header`) and the error type need neither torch nor pandas, so
they load at once and the summary can use them; the rest loads on first use, as
`minidl`'s own top-level names do. Nothing here knows the language: faults are
`DataError`s that a compiler turns into diagnostics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from minidl.data.errors import DataError
from minidl.data.header import Header, read_header

__all__ = [
    "DISK_RADIUS",
    "NORMALIZATIONS",
    "Column",
    "CsvSets",
    "DataError",
    "Dataset",
    "Description",
    "Header",
    "ImageFolder",
    "ImageSets",
    "Label",
    "Labels",
    "NormalizeKind",
    "Normalizer",
    "Table",
    "batches",
    "csv_datasets",
    "describe_table",
    "disk",
    "encode_labels",
    "held_out",
    "image_datasets",
    "read_csv",
    "read_header",
    "read_image_folder",
    "read_images",
    "scale_warning",
    "shuffled",
    "split",
    "stack_datasets",
]

if TYPE_CHECKING:
    from minidl.data.csv_sets import CsvSets, csv_datasets
    from minidl.data.dataset import Dataset, batches, held_out, shuffled, stack_datasets
    from minidl.data.image_sets import ImageSets, image_datasets
    from minidl.data.images import ImageFolder, read_image_folder, read_images
    from minidl.data.labels import Description, Label, Labels, describe_table, encode_labels
    from minidl.data.normalize import NORMALIZATIONS, NormalizeKind, Normalizer, scale_warning
    from minidl.data.reader import read_csv
    from minidl.data.synthetic import DISK_RADIUS, disk
    from minidl.data.table import Column, Table, split

_MODULES = {
    "minidl.data.csv_sets": ("CsvSets", "csv_datasets"),
    "minidl.data.dataset": ("Dataset", "batches", "held_out", "shuffled", "stack_datasets"),
    "minidl.data.synthetic": ("DISK_RADIUS", "disk"),
    "minidl.data.images": ("ImageFolder", "read_image_folder", "read_images"),
    "minidl.data.image_sets": ("ImageSets", "image_datasets"),
    "minidl.data.labels": ("Description", "Label", "Labels", "describe_table", "encode_labels"),
    "minidl.data.normalize": ("NORMALIZATIONS", "NormalizeKind", "Normalizer", "scale_warning"),
    "minidl.data.reader": ("read_csv",),
    "minidl.data.table": ("Column", "Table", "split"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    # Lazy, so that reading a header never pays for `import torch`.
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'minidl.data' has no attribute {name!r}")
