"""The spec's data as tensors: the disk drawn from the run's generator, or CSV files read.

Data errors of the framework (plain file, line and column) become diagnostics here.
"""

from __future__ import annotations

from pathlib import Path

import torch

from minidl.data import DataError, Dataset, disk, load_csv, one_hot_targets
from minidl.lang import Spec, ir, resolve

__all__ = ["load_data"]


def load_data(spec: Spec, generator: torch.Generator) -> tuple[Dataset, Dataset | None]:
    """The spec's train and test sets in float64 on the CPU: drawn from `generator`, or read."""
    data = spec.data
    if isinstance(data, ir.DiskData):
        f64 = torch.float64
        train = disk(data.train, data.radius, generator=generator, dtype=f64)
        return train, disk(data.test, data.radius, generator=generator, dtype=f64)
    base = Path(spec.source).parent if spec.source else Path.cwd()
    try:
        train = load_csv(base / data.train, data.target)
        test = load_csv(base / data.test, data.target) if data.test else None
        outputs = _output_width(spec, train.features)
        if outputs > 1:
            train = one_hot_targets(train, outputs, base / data.train)
            if test is not None and data.test:
                test = one_hot_targets(test, outputs, base / data.test)
    except DataError as caught:
        raise caught.error from None
    return train, test


def _output_width(spec: Spec, features: int) -> int:
    widths = [layer.out_features for layer in resolve(spec, features, None).layers]
    last = widths[-1] if widths else features
    return last if last is not None else 1
