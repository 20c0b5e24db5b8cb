"""Tables as people have them: text categories, gaps, ignored columns, several targets.

Read whole with pandas (`minidl.data.frame`), rows without a target left out (and, with
`missing=drop`, rows with any gap), split, each feature column's encoder fitted on the
train rows (`minidl.data.encoding`), then both sets encoded alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch

from minidl.data.encoding import (
    ColumnCode,
    Encoded,
    Encoding,
    Factorized,
    column_keys,
    fit_column,
)
from minidl.data.errors import DataError
from minidl.data.frame import cell_error, first_missing, first_text, header_error, read_frame
from minidl.data.header import Header, read_header
from minidl.data.labels import encode_labels
from minidl.data.limits import check_fits
from minidl.data.normalize import NormalizeKind
from minidl.data.reader import target_column
from minidl.data.sets import (
    CsvSets,
    DataNotes,
    Held,
    MissingKind,
    check_classes,
    class_sets,
    class_targets,
    fit_inputs,
    held_rows,
    value_sets,
)
from minidl.data.table import Table, split_rows
from minidl.data.task import LossKind, TaskKind, regresses

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Part", "table_sets"]


class Part:
    """Some rows of a file: the frame, and each row's data row in the file (0-based)."""

    def __init__(self, path: Path, header: Header, frame: pd.DataFrame, rows: Any) -> None:
        self.path, self.header, self.frame = path, header, frame
        self.rows: npt.NDArray[np.int64] = np.asarray(rows, dtype=np.int64)

    def take(self, rows: npt.NDArray[np.int64]) -> Part:
        return Part(self.path, self.header, self.frame.iloc[rows], self.rows[rows])

    def error(self, row: int, name: str, code: str, message: str, help: str) -> DataError:
        column = self.header.names.index(name)
        return cell_error(self.path, int(self.rows[row]), column, code, message, help)


def table_sets(
    train_path: Path,
    targets: tuple[str, ...],
    *,
    outputs: Callable[[int], int],
    loss: LossKind,
    generator: torch.Generator,
    test_path: Path | None,
    split_fraction: float | None,
    normalize: NormalizeKind,
    task: TaskKind,
    categorical: tuple[str, ...],
    ignore: tuple[str, ...],
    missing: MissingKind,
    validation: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> CsvSets:
    """The sets of a table (see `minidl.data.csv_sets.csv_datasets`).

    With `validation`, the rows held out are encoded as the training rows are (with the
    categories of the whole train file), but the means that fill gaps, like the
    normalisers, come from the rows trained on."""
    header = read_header(train_path)
    for name in targets:
        header.target_index(name)  # E302 with the nearest name
    features = [n for n in header.names if n not in targets and n not in ignore]
    notes = DataNotes()
    train = _kept(_read(train_path, header), targets, features, missing, notes)
    _check_fits(train, features, categorical, dtype)
    test = None
    if test_path is not None:
        test_header = read_header(test_path)
        for name in (*targets, *features):
            test_header.target_index(name)
        test = _kept(_read(test_path, test_header), targets, features, missing, notes)
        _check_fits(test, features, categorical, dtype)
    # Categories come from the whole train file, so that the width is the file's, whatever
    # the split; the means that fill gaps come from the train rows.
    keys = {
        name: column_keys(train.frame[name], train.frame[name].dtype.kind in "iuf")
        for name in features
        if name in categorical or train.frame[name].dtype.kind not in "iuf"
    }  # each column of categories factorised once, for fitting and encoding
    whole = [_fit(train, name, name in categorical, keys.get(name)) for name in features]
    test_keys: dict[str, Factorized] = {}
    if split_fraction is not None:
        train_rows, test_rows = (
            rows.numpy()
            for rows in split_rows(str(train_path), len(train.frame), split_fraction, generator)
        )
        train, test = train.take(train_rows), train.take(test_rows)
        test_keys = {name: (codes[test_rows], found) for name, (codes, found) in keys.items()}
        keys = {name: (codes[train_rows], found) for name, (codes, found) in keys.items()}
        whole = [_train_mean(code, train) for code in whole]
    held = held_rows(len(train.frame), validation, generator, str(train_path))
    if held is not None:
        kept = train.take(held[0].numpy())
        whole = [_train_mean(code, kept) for code in whole]
    encoding = Encoding(tuple(whole))
    encoded = _encode(encoding, train, notes, keys)
    test_encoded = None if test is None else _encode(encoding, test, notes, test_keys)
    width = outputs(encoding.width)
    kinds = [_kind(train.frame[name]) for name in targets]
    inputs = torch.from_numpy(encoded.inputs)
    test_inputs = None if test_encoded is None else torch.from_numpy(test_encoded.inputs)
    if regresses(task, loss, kinds, width):
        values = _values(train, targets)
        test_values = None if test is None else _values(test, targets)
        return value_sets(
            inputs, values, test_inputs, test_values, encoding, targets, normalize, notes, held
        )
    if len(targets) > 1:
        raise DataError(
            str(train_path),
            0,
            "E331",
            "several target columns are numbers to predict, not classes",
            "write `task=regress` (or leave `task` out), or name one target column",
        )
    return _class_sets(
        train, test, targets[0], (inputs, test_inputs), encoding, width, normalize, notes, held
    )


def _check_fits(
    part: Part, features: list[str], categorical: tuple[str, ...], dtype: torch.dtype
) -> None:
    """E321 at the first numeric feature cell that `dtype` cannot hold (`1e39` in float32)."""
    numeric = [n for n in features if n not in categorical and part.frame[n].dtype.kind in "iuf"]
    cells = part.frame[numeric].to_numpy(np.float64)
    name = str(dtype).removeprefix("torch.")
    largest = torch.finfo(dtype).max
    check_fits(str(part.path), part.header.names, tuple(numeric), cells, largest, name, part.rows)


def _read(path: Path, header: Header) -> Part:
    frame = read_frame(path, header)
    return Part(path, header, frame, np.arange(len(frame)))


def _kept(
    part: Part,
    targets: tuple[str, ...],
    features: list[str],
    missing: MissingKind,
    notes: DataNotes,
) -> Part:
    """The rows kept: rows with a missing target left out, and with `missing=drop` every
    row with a gap; with `missing=error`, an error at the first missing feature cell of a
    row that has its target (E336)."""
    frame = part.frame
    used = [*features, *targets]
    if missing == "error":  # a row without a target is left out all the same
        whole = frame[list(targets)].notna().all(axis=1).to_numpy()
        hit = first_missing(frame.iloc[np.flatnonzero(whole)], features)
        if hit is not None:
            hit = (int(np.flatnonzero(whole)[hit[0]]), hit[1])
        if hit is not None:
            name = frame.columns[hit[1]]
            raise part.error(
                hit[0],
                name,
                "E336",
                f"a missing cell (column `{name}`), and `missing=error`",
                "fill it in, or write `missing=impute` (the mean, or a category of its own) "
                "or `missing=drop`",
            )
    no_target = frame[list(targets)].isna().any(axis=1).to_numpy()
    drop = frame[used].isna().any(axis=1).to_numpy() if missing == "drop" else no_target
    if drop.all():
        why = "a missing cell" if missing == "drop" else "no target"
        raise DataError(
            str(part.path),
            0,
            "E337",
            f"every row of {part.path.name} has {why}, so no row is left",
            "write `missing=impute` to fill the gaps"
            if missing == "drop"
            else f"fill in the target column `{targets[0]}`",
        )
    notes.no_target += int(no_target.sum())
    notes.dropped += int(drop.sum()) - int(no_target.sum())
    return part.take(np.flatnonzero(~drop)) if drop.any() else part


def _fit(part: Part, name: str, categorical: bool, factorized: Factorized | None) -> ColumnCode:
    code = fit_column(name, part.frame[name], categorical, factorized)
    if code is None:
        raise header_error(
            part.path,
            part.header.names.index(name),
            "E333",
            f"column `{name}` has only missing cells",
            f"leave it out with `ignore=[{name}]`",
        )
    return code


def _train_mean(code: ColumnCode, train: Part) -> ColumnCode:
    """A numeric column's encoder with the mean of the train rows (the file's, if the train
    rows have no cell there)."""
    if code.kind != "numeric":
        return code
    fitted = fit_column(code.name, train.frame[code.name], False)
    return code if fitted is None else fitted


def _encode(
    encoding: Encoding,
    part: Part,
    notes: DataNotes,
    factorized: dict[str, Factorized] | None = None,
) -> Encoded:
    for column in encoding.columns:
        if column.kind == "numeric":
            row = first_text(part.frame[column.name])
            if row is not None:
                raise part.error(
                    row,
                    column.name,
                    "E334",
                    f"`{part.frame[column.name].iloc[row]}` is text, but column "
                    f"`{column.name}` holds numbers in the train file",
                    f"write `categorical=[{column.name}]` to encode its values as categories, "
                    "or fix the cell",
                )
    encoded = encoding.encode(part.frame, factorized)
    for counts, total in ((encoded.filled, notes.filled), (encoded.unseen, notes.unseen)):
        for name, count in counts.items():
            total[name] = total.get(name, 0) + count
    return encoded


def _kind(series: pd.Series[Any]) -> tuple[bool, int]:
    return series.dtype.kind in "iuf", int(series.nunique())


def _values(part: Part, targets: tuple[str, ...]) -> torch.Tensor:
    for name in targets:
        row = first_text(part.frame[name])
        if row is not None:
            raise part.error(
                row,
                name,
                "E335",
                f"`{part.frame[name].iloc[row]}` is not a number to predict (column `{name}`)",
                "write `task=classify` for classes, or fix the cell",
            )
    return torch.from_numpy(np.array(part.frame[list(targets)].to_numpy(dtype=np.float64)))


def _class_sets(
    train: Part,
    test: Part | None,
    target: str,
    both_inputs: tuple[torch.Tensor, torch.Tensor | None],
    encoding: Encoding,
    width: int,
    normalize: NormalizeKind,
    notes: DataNotes,
    held: Held | None,
) -> CsvSets:
    inputs, test_inputs = both_inputs
    names = encoding.input_names()
    table = _table(train, target, inputs, names)
    test_table = (
        None if test is None or test_inputs is None else _table(test, target, test_inputs, names)
    )
    labels = encode_labels(table, test_table)
    check_classes(labels, width, table)
    test_set = None
    if test_inputs is not None and labels.test is not None:
        test_set = (test_inputs, class_targets(labels.test, width))
    train_set, test_data, val, normalizer, raw = class_sets(
        inputs,
        class_targets(labels.train, width),
        test_set,
        lambda rows: fit_inputs(normalize, rows, encoding),
        held,
    )
    return CsvSets(
        train_set,
        test_data,
        encoding,
        labels,
        normalizer,
        (target,),
        notes=notes,
        raw_inputs=raw,
        validation=val,
    )


def _table(part: Part, target: str, inputs: torch.Tensor, names: tuple[str, ...]) -> Table:
    series = part.frame[target]
    cells = (
        series.to_numpy(dtype=np.float64)
        if series.dtype.kind in "iuf"
        else series.to_numpy(dtype=object)
    )
    column = target_column(part.path, part.header, part.header.names.index(target), cells)
    rows = torch.from_numpy(part.rows)
    return Table(str(part.path), names, inputs, column, rows)
