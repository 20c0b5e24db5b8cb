"""The spec's data as tensors: the disk drawn from the run's generator, or CSV files read,
labelled, split and normalised.

Faults of the framework's data layer (plain file, line and column) become diagnostics
here: inside a file they point into the file; a missing or unreadable file, or a setting
such as `split=`, is the spec's mistake and points at the spec's own option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from minidl.compiler.image_data import as_images, check_image_shape, load_images
from minidl.compiler.records import Records
from minidl.data import (
    DataError,
    Dataset,
    Normalizer,
    disk,
    held_out,
    read_header,
    scale_warning,
)
from minidl.data.csv_sets import CsvSets, LossKind, csv_datasets
from minidl.data.encoding import Encoding
from minidl.lang import Diagnostic, Spec, SpecError, ir, resolve
from minidl.lang.data_preview import file_diagnostic, option_span
from minidl.lang.table_checks import column_diagnostics, note_warnings

__all__ = ["DATA_SOURCES", "DataEntry", "LoadedData", "data_error", "load_data", "seeded"]


@dataclass
class LoadedData:
    """Train and test sets (float64, CPU), and what prediction needs to know of them."""

    train: Dataset
    test: Dataset | None
    feature_names: tuple[str, ...]
    labels: tuple[ir.Scalar, ...] | None = None
    normalizer: Normalizer = field(default_factory=Normalizer)
    warnings: list[Diagnostic] = field(default_factory=list)
    validation: Dataset | None = None
    """The training rows that `validation=` held out (never trained on)."""
    encoding: Encoding | None = None
    """How each feature column becomes inputs (None for the disk)."""
    targets: tuple[str, ...] = ()
    target_normalizer: Normalizer | None = None
    """For values to predict (regression): the targets' normaliser; None for classes."""

    @property
    def regress(self) -> bool:
        """Whether the targets are values to predict."""
        return self.target_normalizer is not None


Load = Callable[[Spec, Any, torch.Generator], LoadedData]


@dataclass(frozen=True)
class DataEntry:
    """What stands behind a data source word: `load(spec, word, generator)` gives its sets.

    A seeded source (`ir.SeededData`) also says how `--emit python` draws its points: the
    call `python` (`{n}` and the word's options filled in) and the import line it needs.
    """

    load: Load
    python: str = ""
    python_import: str = ""


def seeded(
    draw: Callable[[Any, int, torch.Generator], Dataset], python: str, imports: str
) -> DataEntry:
    """The record of a source drawn from the seed: `draw(word, n, generator)` gives `n`
    points (float64 inputs `(n, F)`, labels 0 or 1 `(n, 1)`); the train points are drawn
    first, then the test points, then `validation=` holds its share of the train points out.
    """

    def load(spec: Spec, data: Any, generator: torch.Generator) -> LoadedData:
        train, test = draw(data, data.train, generator), draw(data, data.test, generator)
        if spec.loss.targets == "classes":  # one output per class: targets one-hot
            train, test = _one_hot(train), _one_hot(test)
        train, validation = _hold_out(spec, train, generator)
        return LoadedData(train, test, data.features, (0, 1), validation=validation)

    return DataEntry(load, python, imports)


def _load_images(spec: Spec, data: ir.ImagesData, generator: torch.Generator) -> LoadedData:
    images, tests, classes = load_images(spec, data, generator)
    images, validation = _hold_out(spec, images, generator)
    return LoadedData(images, tests, (), classes, validation=validation)


def load_data(spec: Spec, generator: torch.Generator) -> LoadedData:
    """The spec's data, as its source's record loads them (drawn, or read from files)."""
    try:
        return DATA_SOURCES[spec.data.kind].load(spec, spec.data, generator)
    except DataError as caught:
        raise SpecError([data_error(caught, spec)]) from None


def _load_csv(spec: Spec, data: ir.CsvData, generator: torch.Generator) -> LoadedData:
    base = Path(spec.source).parent if spec.source else Path.cwd()
    header = read_header(base / data.train)
    problems = column_diagnostics(spec, header)
    if problems:
        raise SpecError(problems)
    sets = csv_datasets(
        base / data.train,
        data.target,
        outputs=lambda width: _output_width(spec, width),
        loss=loss_kind(spec),
        generator=generator,
        test_path=base / data.test if data.test else None,
        split_fraction=data.split,
        normalize=data.normalize,
        task=data.task,
        categorical=data.categorical,
        ignore=data.ignore,
        missing=data.missing,
        dtype=getattr(torch, spec.train.dtype),
        validation=data.validation,
    )
    warnings = _scale_warnings(spec, sets) if data.normalize == "none" else []
    warnings += note_warnings(spec, sets.notes.filled, sets.notes.dropped, sets.notes.no_target)
    warnings += note_warnings(spec, unseen=sets.notes.unseen)
    classes = None if sets.labels is None else sets.labels.classes
    check_image_shape(spec, int(sets.train.inputs.shape[-1]))
    train, test = as_images(sets.train, data.shape), as_images(sets.test, data.shape)
    assert train is not None
    return LoadedData(
        train,
        test,
        sets.encoding.names,
        classes,
        sets.normalizer,
        warnings,
        sets.validation,
        sets.encoding,
        sets.targets,
        sets.target_normalizer if sets.regress else None,
    )


def _hold_out(
    spec: Spec, train: Dataset, generator: torch.Generator
) -> tuple[Dataset, Dataset | None]:
    """The training rows left after `validation=` holds its share out, and those held out."""
    fraction = spec.data.validation
    if fraction is None:
        return train, None
    try:
        kept, out = held_out(len(train), fraction, generator)
    except ValueError as caught:
        span = option_span(spec, "validation")
        help = "use a fraction nearer 0.2, or more training rows"
        raise SpecError([Diagnostic.at(span, "E262", str(caught), help, spec.source)]) from None
    return (
        Dataset(train.inputs[kept], train.targets[kept]),
        Dataset(train.inputs[out], train.targets[out]),
    )


def loss_kind(spec: Spec) -> LossKind:
    """What the spec's loss compares, as the data layer needs to know it."""
    if spec.loss.targets == "values":
        return "values"
    return "mse" if spec.loss.name == "MSE" else "classes"


def _one_hot(data: Dataset) -> Dataset:
    classes = data.targets[:, 0].long()
    return Dataset(data.inputs, torch.nn.functional.one_hot(classes, 2).to(data.inputs.dtype))


def _output_width(spec: Spec, features: int) -> int:
    """The width the network ends with, for data with `features` inputs."""
    width = resolve(spec, features, None).out_features
    return width if isinstance(width, int) else 1


def _scale_warnings(spec: Spec, sets: CsvSets) -> list[Diagnostic]:
    if sets.raw_inputs is None:
        return []
    one_hot = sets.encoding.one_hot_mask()
    numeric = [i for i in range(len(one_hot)) if not one_hot[i]]
    names = [sets.encoding.input_names()[i] for i in numeric]
    found = scale_warning(sets.raw_inputs[:, numeric], names) if numeric else None
    if found is None:
        return []
    widest, narrowest, ratio = found
    times = f"{ratio:,.0f}" if ratio < 1e9 else f"{ratio:.1e}"
    return [
        Diagnostic.at(
            spec.data.span,
            "W201",
            f"feature ranges differ {times} times (`{widest}` is widest, `{narrowest}` "
            "narrowest), and nothing normalises them",
            "add `normalize=standard` to the `data` statement",
            spec.source,
            "warning",
        )
    ]


DATA_SOURCES: Records[DataEntry] = Records(
    "data source",
    "minidl.compiler.data.DATA_SOURCES",
    {
        "disk": seeded(
            lambda word, n, generator: disk(
                n, word.radius, generator=generator, dtype=torch.float64
            ),
            "disk({n}, radius={radius!r}, generator=generator, dtype=torch.float64)",
            "from minidl.data import disk",
        ),
        "csv": DataEntry(lambda spec, word, generator: _load_csv(spec, word, generator)),
        "images": DataEntry(lambda spec, word, generator: _load_images(spec, word, generator)),
    },
)
"""Every data source word's record, by its word (`data disk`); a new source adds one."""


def data_error(caught: DataError, spec: Spec) -> Diagnostic:
    """A data fault as a diagnostic (see `minidl.lang.data_preview.file_diagnostic`)."""
    return file_diagnostic(caught, spec)
