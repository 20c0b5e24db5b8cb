"""The spec's data as tensors: the disk drawn from the run's generator, or CSV files read,
labelled, split and normalised.

Faults of the framework's data layer (plain file, line and column) become diagnostics
here: inside a file they point into the file; a missing or unreadable file, or a setting
such as `split=`, is the spec's mistake and points at the spec's own option.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from minidl.data import (
    DataError,
    Dataset,
    Labels,
    Normalizer,
    Table,
    disk,
    encode_labels,
    read_csv,
    scale_warning,
    split,
)
from minidl.lang import Diagnostic, Spec, SpecError, ir, resolve
from minidl.lang.data_preview import file_diagnostic

__all__ = ["DISK_FEATURES", "LoadedData", "data_error", "load_data"]

DISK_FEATURES = ("x1", "x2")
"""The disk's two input columns, as predictions and exports name them."""


@dataclass
class LoadedData:
    """Train and test sets (float64, CPU), and what prediction needs to know of them."""

    train: Dataset
    test: Dataset | None
    feature_names: tuple[str, ...]
    labels: tuple[ir.Scalar, ...] | None = None
    normalizer: Normalizer = field(default_factory=Normalizer)
    warnings: list[Diagnostic] = field(default_factory=list)


def load_data(spec: Spec, generator: torch.Generator) -> LoadedData:
    """The spec's data: drawn from `generator` (the disk), or read from CSV files."""
    data = spec.data
    if isinstance(data, ir.DiskData):
        f64 = torch.float64
        train = disk(data.train, data.radius, generator=generator, dtype=f64)
        test = disk(data.test, data.radius, generator=generator, dtype=f64)
        if spec.loss.targets == "classes":  # one output per class: targets one-hot
            train, test = _one_hot_disk(train), _one_hot_disk(test)
        return LoadedData(train, test, DISK_FEATURES, (0, 1))
    try:
        return _load_csv(spec, data, generator)
    except DataError as caught:
        raise SpecError([data_error(caught, spec)]) from None


def _load_csv(spec: Spec, data: ir.CsvData, generator: torch.Generator) -> LoadedData:
    base = Path(spec.source).parent if spec.source else Path.cwd()
    table = read_csv(base / data.train, data.target)
    test_table = read_csv(base / data.test, data.target) if data.test else None
    if data.split is not None:
        table, test_table = split(table, data.split, generator)
    outputs = _output_width(spec, table.inputs.shape[1])
    labels: Labels | None = None
    if _is_classifier(spec, outputs, table):
        labels = encode_labels(table, test_table)
        _check_classes(spec, labels, outputs, table)
        train_targets = _targets(labels, labels.train, outputs)
        test_targets = None if labels.test is None else _targets(labels, labels.test, outputs)
    else:
        train_targets = _values(table)
        test_targets = None if test_table is None else _values(test_table)
    normalizer = Normalizer(data.normalize).fit(table.inputs)
    train = Dataset(normalizer.apply(table.inputs), train_targets)
    test = None
    if test_table is not None and test_targets is not None:
        test = Dataset(normalizer.apply(test_table.inputs), test_targets)
    warnings = []
    if data.normalize == "none":
        warnings.extend(_scale_warnings(spec, table))
    classes = None if labels is None else labels.classes
    return LoadedData(train, test, table.features, classes, normalizer, warnings)


def _one_hot_disk(data: Dataset) -> Dataset:
    classes = data.targets[:, 0].long()
    return Dataset(data.inputs, torch.nn.functional.one_hot(classes, 2).to(data.inputs.dtype))


def _is_classifier(spec: Spec, outputs: int, table: Table) -> bool:
    """Classes rather than values: a loss over classes (CrossEntropy, or MSE and BCE with their
    two labels), several outputs, or a text target. L1 and Huber on one output regress."""
    targets = spec.loss.targets
    return targets in ("classes", "binary") or outputs > 1 or table.target.numbers is None


def _check_classes(spec: Spec, labels: Labels, outputs: int, table: Table) -> None:
    count = len(labels.classes)
    if outputs == 1 and count != 2:
        raise DataError(
            table.path,
            0,
            "E315",
            f"one output needs two classes, but `{table.target.name}` has {count}",
            f"end the network with `Linear ->{count}` and use `loss CrossEntropy`, or, for "
            "values to regress, `loss L1` or `loss Huber`",
        )
    if outputs > 1 and count > outputs:
        raise DataError(
            table.path,
            0,
            "E316",
            f"the network gives {outputs} outputs, but `{table.target.name}` has {count} classes",
            f"end the network with `Linear ->{count}`",
        )


def _targets(labels: Labels, indices: torch.Tensor, outputs: int) -> torch.Tensor:
    if outputs == 1:
        return indices.to(torch.float64).unsqueeze(1)
    return torch.nn.functional.one_hot(indices, outputs).to(torch.float64)


def _values(table: Table) -> torch.Tensor:
    return table.target.values().unsqueeze(1)


def _output_width(spec: Spec, features: int) -> int:
    """The width the network ends with, for data with `features` inputs."""
    width = resolve(spec, features, None).out_features
    return width if width is not None else 1


def _scale_warnings(spec: Spec, table: Table) -> list[Diagnostic]:
    found = scale_warning(table.inputs, table.features)
    if found is None:
        return []
    widest, narrowest, ratio = found
    return [
        Diagnostic.at(
            spec.data.span,
            "W201",
            f"feature ranges differ {ratio:,.0f} times (`{widest}` is widest, `{narrowest}` "
            "narrowest), and nothing normalises them",
            "add `normalize=standard` to the `data` statement",
            spec.source,
            "warning",
        )
    ]


def data_error(caught: DataError, spec: Spec) -> Diagnostic:
    """A data fault as a diagnostic (see `minidl.lang.data_preview.file_diagnostic`)."""
    return file_diagnostic(caught, spec)
