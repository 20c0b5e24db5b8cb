"""`minidl RUN_DIR --predict DATA.csv`: a trained run's predictions for a CSV file, streamed.

The file is read in chunks of `CHUNK_ROWS` rows, so memory stays flat however long it is.
Each output row is the input row's cells as written, then `prediction` and the
probabilities (`p_LABEL`, K >= 2 outputs) or the network's `output` (one output). The rows
go to a temporary file first: a fault anywhere in the data (the same diagnostics as in
training) leaves nothing written, neither the `--out` file nor standard output.
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np

from minidl.cli.out_file import atomic_target, copy_into, replace_mode
from minidl.compiler.predictions import classes_of, decide, network_outputs
from minidl.compiler.program import Program
from minidl.data import DataError, Header, read_header
from minidl.data.frame import ragged_line
from minidl.data.limits import check_fits
from minidl.data.records import decode_error, first_fault

__all__ = ["CHUNK_ROWS", "output_columns", "predict_csv"]

CHUNK_ROWS = 65_536

_OPTIONS: dict[str, Any] = {
    "header": 0,
    "index_col": False,
    "keep_default_na": False,
    "na_values": [],
    "encoding": "utf-8",
    "dtype": str,
}


def output_columns(program: Program, outputs: int) -> list[str]:
    """The columns written after the input's: `prediction`, then `p_LABEL`... or `output`;
    for values to predict, `prediction` or `prediction_TARGET` per target column."""
    if program.regress:
        from minidl.cli.predict_table import regression_columns

        return regression_columns(program)
    if outputs == 1:
        return ["prediction", "output"]
    return ["prediction", *(f"p_{label}" for label in classes_of(program, outputs))]


def predict_csv(
    program: Program, target: str | tuple[str, ...], data: Path, out: Path | None
) -> int:
    """Write the predictions for `data` to `out` (standard output if None); return the rows.

    Raises `DataError` (nothing written) when a feature column is missing or a feature cell is
    not a finite number. Columns that are neither features nor the target are kept, unused.
    """
    try:
        header = read_header(data)
    except DataError as caught:
        if caught.code == "E301":  # the path was given on the command line, not in a spec
            raise DataError(caught.path, 0, "E301", caught.message, "check the path") from None
        raise
    features = _feature_positions(header, program.feature_names, target)
    # A regular file (or a new path) is replaced atomically; a device, a FIFO or /dev/stdout
    # is written into, never replaced (see minidl.cli.out_file).
    replaced = atomic_target(out) if out is not None else None
    directory = replaced.parent if replaced is not None else None
    handle, temporary = tempfile.mkstemp(
        prefix=f".{out.name if out else 'predict'}.", dir=directory
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            rows = _write_rows(program, header, features, target, data, file)
            file.flush()
            os.fsync(file.fileno())
        if replaced is not None:
            os.chmod(temporary, replace_mode(replaced))
            os.replace(temporary, replaced)
        elif out is not None:
            copy_into(Path(temporary), out)
        else:
            with open(temporary, encoding="utf-8", newline="") as file:
                shutil.copyfileobj(file, sys.stdout)
            sys.stdout.flush()
    finally:
        Path(temporary).unlink(missing_ok=True)
    return rows


def _feature_positions(
    header: Header, features: tuple[str, ...], others: str | tuple[str, ...]
) -> list[int]:
    """Where each of the run's features is in the file; a `DataError` for a missing column
    (with the nearest name). Other columns (an id) are kept in the output, unused; `others`
    (the targets and ignored columns) are not offered as near names."""
    names = header.names
    known = (others,) if isinstance(others, str) else others
    for name in features:
        if name not in names:
            spare = [n for n in names if n not in features and n not in known]
            near = difflib.get_close_matches(name, spare, n=1, cutoff=0.5)
            help = f"did you mean `{near[0]}`?" if near else "columns: " + ", ".join(names)
            raise DataError(
                header.path,
                header.line,
                "E302",
                f"no column named `{name}`: the run was trained on {', '.join(features)}",
                help,
                source_line=header.source_line,
            )
    return [names.index(name) for name in features]


def _write_rows(
    program: Program,
    header: Header,
    features: list[int],
    target: str | tuple[str, ...],
    data: Path,
    file: IO[str],
) -> int:
    import pandas as pd

    from minidl.cli.predict_table import Counts, encode_chunk, warn

    target = target if isinstance(target, str) else (target[0] if target else "")
    target_index = header.names.index(target) if target in header.names else -1
    counts = Counts()
    dtype = program.spec.train.dtype
    largest = float(np.finfo(dtype).max)
    rows, first = 0, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            with pd.read_csv(data, chunksize=CHUNK_ROWS, **_OPTIONS) as chunks:
                for chunk in chunks:
                    if program.encoding is not None:
                        last = chunk.iloc[:, -1]
                        if (last.isna() | (last == "")).any():  # a short line, or a gap
                            short = ragged_line(data, header.names, rows, rows + len(chunk))
                            if short is not None:
                                raise short
                        encoded = encode_chunk(
                            program.encoding, chunk, header, data, rows, counts, dtype
                        )
                        _write_chunk(program, chunk, encoded, file, first)
                        rows, first = rows + len(chunk), False
                        continue
                    if chunk.shape[1] != len(header.names) or chunk.isna().to_numpy().any():
                        raise ValueError("a ragged line")
                    cells = chunk.iloc[:, features].to_numpy()
                    inputs = cells.astype(np.float64)  # ValueError on text
                    if not np.isfinite(inputs).all():
                        raise ValueError("a cell that is not a finite number")
                    at = np.arange(rows, rows + len(inputs))
                    names = program.feature_names
                    check_fits(str(data), header.names, names, inputs, largest, dtype, at)
                    _write_chunk(program, chunk, inputs, file, first)
                    rows, first = rows + len(chunk), False
    except UnicodeDecodeError:
        raise decode_error(data) from None  # E309 at its line and column
    except (ValueError, pd.errors.ParserWarning) as caught:
        unused = set(range(len(header.names))) - set(features)
        fault = first_fault(data, header.names, target_index, "text", rows, unused)
        raise fault or DataError(
            str(data), 0, "E303", f"the file cannot be read as CSV: {caught}"
        ) from None
    if first:  # no rows: still the header line
        _write_chunk(
            program,
            pd.DataFrame(columns=list(header.names)),
            np.zeros((0, len(features) if program.encoding is None else program.encoding.width)),
            file,
            True,
        )
    warn(counts, header)
    return rows


def _write_chunk(
    program: Program, chunk: Any, inputs: np.ndarray, file: IO[str], header: bool
) -> None:
    outputs = network_outputs(program, inputs)
    width = outputs.shape[-1] if len(outputs) else _outputs_width(program)
    if program.regress:
        from minidl.cli.predict_table import regression_columns, value_columns

        frame = chunk.copy()
        values = value_columns(program, outputs)
        for position, name in enumerate(regression_columns(program)):
            frame[name] = values[:, position] if len(values) else []
        frame.to_csv(file, header=header, index=False, lineterminator="\n")
        return
    indices, extra = decide(program, outputs)
    classes = classes_of(program, width)
    frame = chunk.copy()
    names = output_columns(program, width)
    frame[names[0]] = [str(classes[i]) for i in indices.tolist()]
    values = extra.numpy()
    for position, name in enumerate(names[1:]):
        frame[name] = values[:, position] if len(values) else []
    frame.to_csv(file, header=header, index=False, lineterminator="\n")


def _outputs_width(program: Program) -> int:
    return int(program.data[0].targets.shape[-1])
