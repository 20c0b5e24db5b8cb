"""What a spec's CSV data will be, told without torch: for the summary and editors.

The header gives the features; a small file is read with the `csv` module for its rows
and class counts (a large one is left for training, and the summary says so). A missing
or unreadable file is the spec's mistake: its diagnostic points at the path in the spec.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from pathlib import Path

from minidl.data.errors import DataError
from minidl.data.header import read_header
from minidl.data.missing import is_missing_text
from minidl.data.task import LossKind, class_count_fault, regresses
from minidl.lang import ir
from minidl.lang.carried import Carried
from minidl.lang.column_preview import TablePreview, preview_table, task_line
from minidl.lang.errors import Diagnostic
from minidl.lang.image_preview import image_preview
from minidl.lang.nodes import Span
from minidl.lang.option_spans import option_span

__all__ = [
    "PREVIEW_BYTES",
    "csv_preview",
    "file_diagnostic",
    "image_shape_fault",
    "in_file_diagnostic",
    "option_span",
]

PREVIEW_BYTES = 5 << 20
"""Files up to this size are counted for the summary; larger ones only when training."""


def csv_preview(spec: ir.Spec) -> tuple[Carried | None, list[str], list[Diagnostic]]:
    """(feature count, lines describing the data, diagnostics) for a CSV spec (for image
    folders: their image shape)."""
    from minidl.lang.table_checks import column_diagnostics

    data = spec.data
    base = Path(spec.source).parent if spec.source else Path.cwd()
    if isinstance(data, ir.ImagesData):
        return image_preview(data, base, option_span(spec, "train"), spec.source)
    if not isinstance(data, ir.CsvData):
        return None, [], []
    path = base / data.train
    try:
        header = read_header(path)
        for target in data.targets:
            header.target_index(target)
        if data.test and len(data.targets) == 1 and not data.ignore and not data.categorical:
            features = header.features(data.targets[0])
            read_header(base / data.test).match(features, data.targets[0], str(path))
    except DataError as caught:
        return None, [], [file_diagnostic(caught, spec)]
    problems = column_diagnostics(spec, header)
    if problems:
        return None, [], problems
    # what --train would stop at in the files; editors still know the width
    fault = _file_faults(spec, data, base, header.names)
    target = data.target if isinstance(data.target, str) else data.targets[0]
    preview = _table(path, header.names, data)
    if preview is None or (preview.plain and data.targets == (target,) and not data.ignore):
        features = header.features(target)
        noun = "feature" if len(features) == 1 else "features"
        lines = [f"data: {len(features)} {noun} ({_names(features)}), target `{target}`"]
        lines.append(_counts(path, header.names.index(target), data))
        width: int | None = len(features)
    else:
        width = preview.width
        shown = "?" if width is None else str(width)
        targets = ", ".join(f"`{t}`" for t in data.targets)
        noun = "target" if len(data.targets) == 1 else "targets"
        lines = [
            f"data: {len(preview.columns)} feature columns -> {shown} inputs, {noun} {targets}"
        ]
        lines.extend(f"  {column.describe()}" for column in preview.columns)
        if data.ignore:
            lines.append("  ignored: " + ", ".join(data.ignore))
        lines.append(_counts(path, header.names.index(target), data))
    if data.shape is not None and width is not None:
        shape_fault = image_shape_fault(spec, width)
        if shape_fault is not None:
            return None, [], [shape_fault]
        lines[0] += " as {}x{}x{} images".format(*data.shape)
    if preview is not None:
        lines.append(_task(spec, preview, width))
        fault = fault or _class_fault(spec, preview, width, path)
    return width, lines, [] if fault is None else [file_diagnostic(fault, spec)]


def _file_faults(
    spec: ir.Spec, data: ir.CsvData, base: Path, names: tuple[str, ...]
) -> DataError | None:
    """The first fault of the train file, then of the test file, that training stops at."""
    from minidl.lang.table_faults import FLOAT32_MAX, table_fault

    largest = FLOAT32_MAX if spec.train.dtype == "float32" else None
    left_out = {*data.targets, *data.ignore, *data.categorical}
    features = [name for name in names if name not in left_out]
    scan = table_fault(base / data.train, names, PREVIEW_BYTES, features, largest)
    if scan.fault is not None or not data.test:
        return scan.fault
    test = base / data.test
    try:
        test_names = read_header(test).names
    except DataError:
        return None  # named by the header checks above, or when training
    numbers = [name for name in features if name not in scan.text] if scan.whole else []
    return table_fault(test, test_names, PREVIEW_BYTES, features, largest, numbers).fault


def _table(path: Path, names: tuple[str, ...], data: ir.CsvData) -> TablePreview | None:
    try:
        return preview_table(path, names, data, PREVIEW_BYTES)
    except (OSError, csv.Error):  # a cell over the csv module's 131,072 characters
        return None


def _task(spec: ir.Spec, preview: TablePreview, width: int | None) -> str:
    from minidl.lang.shapes import resolve

    outputs = resolve(spec, width).out_features if width is not None else None
    return task_line(preview, spec.data, _loss_kind(spec), outputs or 1)  # type: ignore[arg-type]


def _loss_kind(spec: ir.Spec) -> LossKind:
    if spec.loss.targets == "values":
        return "values"
    return "mse" if spec.loss.name == "MSE" else "classes"


def _class_fault(
    spec: ir.Spec, preview: TablePreview, width: int | None, path: Path
) -> DataError | None:
    """E315 / E316 when the whole file was read, the task is to classify one target, and
    the network's outputs cannot give its classes (as training would say)."""
    from minidl.lang.shapes import resolve

    data = spec.data
    if not preview.whole or width is None or not isinstance(data, ir.CsvData):
        return None
    outputs = resolve(spec, width).out_features or 1
    if not isinstance(outputs, int) or len(data.targets) != 1:
        return None
    if regresses(data.task, _loss_kind(spec), [*preview.targets], outputs):
        return None
    fault = class_count_fault(data.targets[0], preview.targets[0][1], outputs)
    return None if fault is None else DataError(str(path), 0, *fault)


def image_shape_fault(spec: ir.Spec, features: int) -> Diagnostic | None:
    """`shape=[C, H, W]` must hold exactly the file's feature count (E377 at `shape`)."""
    data = spec.data
    if not isinstance(data, ir.CsvData) or data.shape is None:
        return None
    c, h, w = data.shape
    if c * h * w == features:
        return None
    return Diagnostic.at(
        option_span(spec, "shape"),
        "E377",
        f"shape=[{c}, {h}, {w}] holds {c * h * w:,} values, but each row of the data has "
        f"{features:,} features",
        f"give a shape whose product is {features:,} (such as `shape=[1, 1, {features}]`)",
        spec.source,
    )


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if len(names) <= 6 else ", ".join(names[:5]) + ", ..."


def _counts(path: Path, target: int, data: ir.CsvData) -> str:
    normalize = f"normalize={data.normalize}"
    try:
        size = path.stat().st_size
    except OSError:
        size = PREVIEW_BYTES + 1
    if size > PREVIEW_BYTES:
        return f"  {size / 1e6:.0f} MB: rows and classes are counted when training; {normalize}"
    labels: Counter[str] = Counter()
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
            rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)][1:]
    except (csv.Error, OSError):  # a cell over the csv module's 131,072 characters
        return f"  rows and classes are counted when training; {normalize}"
    rows = [row for row in rows if target < len(row) and not is_missing_text(row[target])]
    for row in rows:
        labels[row[target].strip()] += 1
    split = f", split {data.split:g} for training" if data.split is not None else ""
    if data.validation is not None:
        split += f", {data.validation:g} of the training rows held out for validation"
    classes = ""
    pairs = _by_value(labels)
    if len(pairs) <= 20:
        counts = ", ".join(f"{label} {count}" for label, count in pairs)
        classes = f"; {len(pairs)} distinct targets: {counts}"
    return f"  {len(rows):,} rows{split}{classes}; {normalize}"


def _by_value(labels: Counter[str]) -> list[tuple[str, int]]:
    """Class counts in the classes' order: numbers by value (`1` and `1.0` are one class),
    text by string order."""
    try:
        merged: Counter[float] = Counter()
        for label, count in labels.items():
            merged[float(label)] += count
    except ValueError:
        return sorted(labels.items())
    return [(f"{value:g}", count) for value, count in sorted(merged.items())]


def file_diagnostic(caught: DataError, spec: ir.Spec) -> Diagnostic:
    """A data fault as a diagnostic: in its file, or at the spec's option for a fault of the
    whole file (missing, unreadable) or of a setting about it (`split=`)."""
    if caught.line > 0:
        return in_file_diagnostic(caught)
    option = _OPTIONS.get(caught.code) or _option_for(caught.path, spec)
    return Diagnostic.at(
        option_span(spec, option), caught.code, caught.message, caught.help, spec.source
    )


def in_file_diagnostic(caught: DataError) -> Diagnostic:
    """A fault inside a data file, at its line and column there, quoting the file's line."""
    column = caught.column or 1
    end = caught.end_column or (len(caught.source_line or "") + 1)
    span = Span(
        line=caught.line, column=column, end_line=caught.line, end_column=max(end, column + 1)
    )
    found = Diagnostic.at(span, caught.code, caught.message, caught.help, caught.path)
    return dataclasses.replace(found, quote=caught.source_line or "")


_OPTIONS = {
    "E313": "split",
    "E314": "split",
    "E337": "missing",
    "E331": "target",
    "E262": "validation",
}
"""The option that a fault of a setting (line 0) points at, by code."""


def _option_for(path: str, spec: ir.Spec) -> str:
    data = spec.data
    if isinstance(data, ir.CsvData) and data.test and Path(path).name == Path(data.test).name:
        return "test"
    return "train"
