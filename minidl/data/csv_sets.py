"""Train and test sets from CSV files: read, split, encoded, labelled or valued, normalised.

The one place that turns files into the tensors a run trains on; the compiler calls it for
a spec, and the script of `--emit python` calls it too, so both see the same data.

A table of one target, numbers only (v2's tables), is read by the fast numeric reader;
a table with text categories, gaps, ignored columns or several targets by
`minidl.data.tables` with pandas. Both give the same sets for a table both can read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from minidl.data.encoding import Encoding
from minidl.data.errors import DataError
from minidl.data.header import read_header
from minidl.data.labels import encode_labels
from minidl.data.limits import check_fits
from minidl.data.normalize import NormalizeKind, Normalizer
from minidl.data.reader import read_csv
from minidl.data.sets import (
    CsvSets,
    DataNotes,
    MissingKind,
    check_classes,
    class_sets,
    class_targets,
    held_rows,
    value_sets,
)
from minidl.data.table import Column, Table, split
from minidl.data.task import LossKind, TaskKind, regresses

__all__ = [
    "CsvSets",
    "DataNotes",
    "LossKind",
    "MissingKind",
    "TaskKind",
    "check_classes",
    "class_targets",
    "csv_datasets",
    "regresses",
]

Outputs = int | Callable[[int], int]
"""The network's output width, or how it follows from the input width."""


def csv_datasets(
    train_path: Path | str,
    target: str | tuple[str, ...],
    *,
    outputs: Outputs,
    loss: LossKind = "mse",
    generator: torch.Generator,
    test_path: Path | str | None = None,
    split_fraction: float | None = None,
    normalize: NormalizeKind = "none",
    task: TaskKind = "auto",
    categorical: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    missing: MissingKind = "impute",
    dtype: torch.dtype = torch.float64,
    validation: float | None = None,
) -> CsvSets:
    """Read `train_path` (and `test_path`, or a seeded `split_fraction` of the train file)
    for a network of `outputs` outputs.

    The targets are values (regression) when `task` says so or, with `auto`, when the
    loss compares values and every target column holds numbers (more than two distinct
    values for MSE) for as many outputs as targets; several targets are values. Otherwise
    they are classes: the train file's labels in sorted order, one-hot for several
    outputs, 0/1 for one (which needs exactly two labels, E315).

    With `validation`, that share of the training rows (after the split) is held out by a
    seeded shuffle, after the labels are read and before the normalisers (and the numeric
    columns' means) learn their statistics from the rows left for training. Faults are
    `DataError`s.
    """
    targets = (target,) if isinstance(target, str) else tuple(target)
    width_to_outputs = outputs if callable(outputs) else (lambda _: outputs)
    if len(targets) == 1 and not categorical and not ignore and _numbers_only(train_path, targets):
        try:
            table = read_csv(train_path, targets[0])
            test_table = None if test_path is None else _read_test(test_path, targets[0], table)
            for read in (table, test_table):  # E321: 1e39 is finite here, inf in float32
                if read is not None:
                    _check_fits(read, dtype)
        except DataError as caught:
            if caught.code not in ("E303", "E307", "E311"):  # not about a cell's text
                raise
        else:
            return _numeric_sets(
                table,
                test_table,
                width_to_outputs,
                loss,
                generator,
                split_fraction,
                normalize,
                task,
                validation,
            )
    from minidl.data.tables import table_sets

    return table_sets(
        Path(train_path),
        targets,
        outputs=width_to_outputs,
        loss=loss,
        generator=generator,
        test_path=None if test_path is None else Path(test_path),
        split_fraction=split_fraction,
        normalize=normalize,
        task=task,
        categorical=categorical,
        ignore=ignore,
        missing=missing,
        validation=validation,
        dtype=dtype,
    )


def _numbers_only(path: Path | str, targets: tuple[str, ...], rows: int = 200) -> bool:
    """Whether the first `rows` rows of the file hold numbers only beside the target: then
    the fast numeric reader is tried (it may still find text further down)."""
    from minidl.data.records import is_number, open_text, records

    try:
        with open_text(Path(path)) as file:
            found = records(file, Path(path))
            header = next(found, None)
            if header is None:
                return True
            skip = {index for index, name in enumerate(header.cells) if name.strip() in targets}
            for record in itertools.islice(found, rows):
                cells = (c for i, c in enumerate(record.cells) if i not in skip)
                if not all(is_number(cell) for cell in cells):
                    return False
    except (OSError, UnicodeDecodeError, DataError):
        return True  # the reader says what is wrong
    return True


def _numeric_sets(
    table: Table,
    test_table: Table | None,
    outputs: Callable[[int], int],
    loss: LossKind,
    generator: torch.Generator,
    split_fraction: float | None,
    normalize: NormalizeKind,
    task: TaskKind,
    validation: float | None = None,
) -> CsvSets:
    """v2's tables: numbers only, one target, read by the fast reader."""
    if split_fraction is not None:
        table, test_table = split(table, split_fraction, generator)
    width = outputs(len(table.features))
    column = table.target
    held = held_rows(len(table), validation, generator, table.path)
    kept_inputs = table.inputs if held is None else table.inputs[held[0]]
    encoding = Encoding.numeric(table.features, kept_inputs.mean(dim=0).tolist())
    if regresses(task, loss, [_distinct(column)], width):
        _check_values(table, test_table)
        values = table.target.values().unsqueeze(1)
        test_values = None if test_table is None else test_table.target.values().unsqueeze(1)
        return value_sets(
            table.inputs,
            values,
            None if test_table is None else test_table.inputs,
            test_values,
            encoding,
            (column.name,),
            normalize,
            held=held,
        )
    labels = encode_labels(table, test_table)
    check_classes(labels, width, table)
    test = None
    if test_table is not None and labels.test is not None:
        test = (test_table.inputs, class_targets(labels.test, width))
    targets = class_targets(labels.train, width)
    train, test_set, val, normalizer, raw = class_sets(
        table.inputs, targets, test, Normalizer(normalize).fit, held
    )
    return CsvSets(
        train,
        test_set,
        encoding,
        labels,
        normalizer,
        (column.name,),
        raw_inputs=raw,
        validation=val,
    )


def _check_fits(table: Table, dtype: torch.dtype) -> None:
    names = read_header(table.path).names
    largest = torch.finfo(dtype).max
    dtype_name = str(dtype).removeprefix("torch.")
    check_fits(table.path, names, table.features, table.inputs.numpy(), largest, dtype_name)


def _read_test(path: Path | str, target: str, train: Table) -> Table:
    """The test file, its feature columns matched to the train file's by name."""
    read_header(path).match(train.features, target, train.path)
    table = read_csv(path, target)
    if table.features == train.features:
        return table
    order = [table.features.index(name) for name in train.features]
    return replace(table, features=train.features, inputs=table.inputs[:, order])


def _distinct(column: Column) -> tuple[bool, int]:
    if column.numbers is None:
        return False, len(column.texts)
    used = torch.unique(column.codes).tolist()
    return True, len({column.numbers[code] for code in used})


def _check_values(table: Table, test_table: Table | None) -> None:
    for part in (table, test_table):
        if part is not None and part.target.numbers is None:
            from minidl.data.records import is_number

            texts = part.target.texts
            bad = [i for i, text in enumerate(texts) if not is_number(text)]
            row = int(torch.isin(part.target.codes, torch.tensor(bad)).nonzero()[0])
            raise part.record(row).error(
                part.target.position,
                "E335",
                f"`{texts[int(part.target.codes[row])]}` is not a number to predict "
                f"(column `{part.target.name}`)",
                "write `task=classify` for classes, or fix the cell",
                part.path,
            )
