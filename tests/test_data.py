"""minidl.data: CSV reading and its faults, labels, splits, normalisation, the scale warning."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.data.parse as parse_module
from minidl.data import (
    DataError,
    Normalizer,
    Table,
    describe_table,
    encode_labels,
    read_csv,
    read_header,
    scale_warning,
    split,
)
from minidl.data.parse import CHUNK_ROWS, ChunkFault, Parsed, parse
from minidl.data.parse import _parse_serial as parse_serial


def write(folder: Path, text: str, name: str = "d.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")  # line endings exactly as given
    return path


def fault(path: Path, target: str = "label") -> DataError:
    with pytest.raises(DataError) as caught:
        read_csv(path, target)
    return caught.value


# Each fault: file text, target, code, line, column (None: the whole line), a message part.
FAULTS = {
    "non-numeric cell": ("a,b,label\n1,2,0\n3,x,1\n", "E303", 3, 3, "`x` is not a number"),
    "empty cell": ("a,b,label\n1,2,0\n3,,1\n", "E303", 3, 3, "empty cell"),
    "nan": ("a,b,label\n1,2,0\nnan,1,1\n", "E307", 3, 1, "`nan` is not a finite number"),
    "inf": ("a,b,label\n1,2,0\n1,-inf,1\n", "E307", 3, 3, "`-inf` is not a finite"),
    "overflow": ("a,b,label\n1,2,0\n1,1e999,1\n", "E307", 3, 3, "`1e999` is not a finite"),
    "nan target": ("a,b,label\n1,2,0\n1,2,nan\n", "E307", 3, 5, "`nan` is not a finite"),
    "short row": ("a,b,label\n1,2,0\n1,2\n", "E304", 3, None, "line 3 has 2 cells"),
    "long row": ("a,b,label\n1,2,0\n1,2,0,9\n", "E304", 3, 7, "line 3 has 4 cells"),
    "long first row": ("a,b,label\n1,2,0,9\n1,2,0\n", "E304", 2, 7, "line 2 has 4 cells"),
    "header only": ("a,b,label\n", "E306", 1, None, "has a header but no data"),
    "empty file": ("", "E305", 1, None, "the file is empty"),
    "blank file": ("\n   \n", "E305", 1, None, "the file is empty"),
    "no feature": ("label\n0\n1\n", "E308", 1, None, "no feature columns"),
    "empty label": ("a,b,label\n1,2,x\n3,4,  \n", "E311", 3, 5, "the label (column `label`)"),
    "repeated name": ("a,a,label\n1,2,0\n", "E310", 1, 3, "column `a` twice"),
    "unnamed column": ("a,b,label,\n1,2,0,\n", "E310", 1, 11, "column 4 of the header"),
    "after blank lines": ("a,b,label\n\n1,2,0\n\n\n3,4 5,1\n", "E303", 6, 3, "`4 5`"),
    "after a quoted line break": ('a,b,label\n1,2,"x\ny"\n3,zz,1\n', "E303", 4, 3, "`zz`"),
}


@pytest.mark.parametrize("name", FAULTS)
def test_a_faulty_file_names_its_line_and_column(name: str, tmp_path: Path) -> None:
    text, code, line, column, message = FAULTS[name]
    path = write(tmp_path, text)
    error = fault(path)
    assert (error.path, error.code, error.line, error.column) == (str(path), code, line, column)
    assert message in error.message, error.message
    assert error.source_line == (text.splitlines()[line - 1] if text.strip() else None)
    if column is not None:
        assert error.end_column is not None and error.end_column > column
    assert f"{path}:{line}:{column or 1}: error[{code}]: " in str(error)


def test_a_missing_file_has_line_zero(tmp_path: Path) -> None:
    error = fault(tmp_path / "absent.csv")
    assert (error.code, error.line, error.path) == ("E301", 0, str(tmp_path / "absent.csv"))
    assert "no such file" in error.message and error.source_line is None


def test_a_missing_target_suggests_the_nearest_column(tmp_path: Path) -> None:
    path = write(tmp_path, "sepal,petal,species\n1,2,setosa\n")
    error = fault(path, "specie")
    assert (error.code, error.line, error.path) == ("E302", 1, str(path))
    assert error.message == "no column named `specie`"
    assert error.help == "did you mean `species`?"
    assert fault(path, "Species").help == "did you mean `species`?"


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b,label\n1,2,0\n3,4,caf\xe9\n")
    error = fault(path)
    assert (error.code, error.line, error.column) == ("E309", 3, 8)


def test_a_fault_in_a_later_chunk_is_found_at_its_line(tmp_path: Path) -> None:
    rows = ["a,b,label", *(f"{i},{i % 7},{i % 2}" for i in range(CHUNK_ROWS + 500))]
    rows[CHUNK_ROWS + 100] = "1,oops,0"
    rows.insert(10, "")  # a blank line shifts the lines, not the rows
    error = fault(write(tmp_path, "\n".join(rows) + "\n"))
    assert (error.code, error.line, error.column) == ("E303", CHUNK_ROWS + 102, 3)


def test_bom_windows_line_ends_and_quotes_read_as_plain_text(tmp_path: Path) -> None:
    plain = read_csv(write(tmp_path, "a,b,label\n1.5,-2,x\n3,4e2,y z\n", "plain.csv"), "label")
    fancy = write(
        tmp_path, '\ufeff"a",b,"label"\r\n"1.5", -2 ,x\r\n\r\n3,"4e2","y z"\r\n', "fancy.csv"
    )
    assert read_header(fancy).names == ("a", "b", "label")
    table = read_csv(fancy, "label")
    assert table.features == plain.features == ("a", "b")
    assert torch.equal(table.inputs, plain.inputs)
    assert torch.equal(table.inputs, torch.tensor([[1.5, -2.0], [3.0, 400.0]], dtype=torch.float64))
    assert table.target.texts == plain.target.texts == ("x", "y z")
    assert torch.equal(table.target.codes, plain.target.codes)


def test_the_target_may_sit_anywhere_and_features_keep_their_order(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, "a,label,b\n1,0,2\n3,1,4\n"), "label", dtype=torch.float32)
    assert table.features == ("a", "b") and table.inputs.dtype == torch.float32
    assert table.inputs.is_contiguous()
    assert table.inputs.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert table.target.values().tolist() == [0.0, 1.0]


def test_a_short_row_estimate_grows_the_buffer(tmp_path: Path) -> None:
    wide = "0." + "1" * 1000  # long lines first make the row estimate far too small
    rows = [f"{wide},{i},0" for i in range(1100)] + [f"{i},{i},1" for i in range(200_000)]
    table = read_csv(write(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n"), "label")
    assert len(table) == 201_100 and table.inputs[-1].tolist() == [199_999.0, 199_999.0]


def parse_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch, threads_fail: bool
) -> tuple[Parsed, Parsed]:
    """One thread's parse, and four threads' parse, checking which path the latter took."""
    columns = len(read_header(path).names)
    offset = len(path.read_bytes().split(b"\n", 1)[0]) + 1
    f64 = np.dtype(np.float64)
    serial = parse(path, columns, 2, offset, f64, workers=1)
    calls: list[int] = []

    def spy(*args: Any) -> Parsed:
        calls.append(1)
        return parse_serial(*args)

    monkeypatch.setattr(parse_module, "_parse_serial", spy)
    threaded = parse(path, columns, 2, offset, f64, workers=4)
    assert calls == ([1] if threads_fail else []), "the wrong path was taken"
    return serial, threaded


def same(serial: Parsed, threaded: Parsed) -> bool:
    first, second = (np.concatenate(parsed.labels) for parsed in (serial, threaded))
    return np.array_equal(serial.inputs, threaded.inputs) and np.array_equal(first, second)


def test_threads_over_byte_ranges_read_what_one_thread_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(f"{i},{i / 7!r},{'ab'[i % 2]}\n" for i in range(30_000))
    path = write(tmp_path, "a,b,label\n" + rows)
    serial, threaded = parse_both_ways(path, monkeypatch, threads_fail=False)
    assert len(serial.inputs) == 30_000 and same(serial, threaded)
    assert serial.inputs.flags.c_contiguous and threaded.inputs.flags.c_contiguous


def test_a_cut_inside_a_quoted_line_break_falls_back_to_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f'{i},{i},"x\n{i % 3}"' for i in range(30_000)]  # every label spans two lines
    path = write(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n")
    serial, threaded = parse_both_ways(path, monkeypatch, threads_fail=True)
    assert len(serial.inputs) == 30_000 and same(serial, threaded)


@pytest.mark.parametrize("bad", ["7,oops,a", "7,8,a,9"])
def test_a_fault_in_a_later_range_is_the_serial_parses_fault(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f"{i},{i},a" for i in range(30_000)]
    rows[25_000] = bad
    path = write(tmp_path, "a,b,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(ChunkFault) as caught:
        parse_both_ways(path, monkeypatch, threads_fail=True)
    assert caught.value.row == (25_000 // CHUNK_ROWS) * CHUNK_ROWS
    assert fault(path).line == 25_002


def csv_text(table: list[list[float]]) -> str:
    lines = [",".join(f"x{j}" for j in range(len(table[0]) - 1)) + ",y"]
    return "\n".join([*lines, *(",".join(repr(v) for v in row) for row in table)]) + "\n"


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda width: st.lists(
            st.lists(finite, min_size=width + 1, max_size=width + 1), min_size=1, max_size=12
        )
    )
)
def test_numeric_tables_read_back_as_written(table: list[list[float]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        read = read_csv(write(Path(folder), csv_text(table)), "y")
    expected = torch.tensor(table, dtype=torch.float64)
    # repr prints the shortest text that reads back as the same float64: exactly equal.
    assert torch.equal(read.inputs, expected[:, :-1]), (read.inputs, expected)
    assert torch.equal(read.target.values(), expected[:, -1])


def labelled(folder: Path, name: str, labels: list[str]) -> Table:
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    return read_csv(write(folder, "x,label\n" + rows, name), "label")


def test_classes_sort_numbers_by_value_and_text_by_string(tmp_path: Path) -> None:
    numbers = encode_labels(labelled(tmp_path, "n.csv", ["10", "2", "2", "33", "10"]))
    texts = encode_labels(labelled(tmp_path, "t.csv", ["b", "a", "a", "c", "b"]))
    assert numbers.classes == (2, 10, 33) and texts.classes == ("a", "b", "c")
    assert torch.equal(numbers.train, texts.train)
    assert numbers.train.tolist() == [1, 0, 0, 2, 1]
    as_text = encode_labels(labelled(tmp_path, "s.csv", ["10", "2", "x"]))
    assert as_text.classes == ("10", "2", "x")  # one text label makes them all text


def test_labels_that_turn_to_text_in_a_later_chunk_keep_their_spelling(tmp_path: Path) -> None:
    labels = [("1.0" if i % 2 else "2") for i in range(CHUNK_ROWS + 10)] + ["x", "true"]
    table = labelled(tmp_path, "d.csv", labels)
    assert table.target.numbers is None
    assert encode_labels(table).classes == ("1.0", "2", "true", "x")
    assert encode_labels(labelled(tmp_path, "b.csv", ["true", "false"])).classes == (
        "false",
        "true",
    )


def test_labels_that_turn_to_text_within_a_chunk_keep_their_spelling(tmp_path: Path) -> None:
    # 40 columns make the parser convert a chunk in several pieces, whose types may differ.
    zeros = "0," * 40
    rows = [zeros + ("1" if i % 2 else "2") for i in range(20_000)] + [zeros + "a"] * 10_000
    header = ",".join(f"f{i}" for i in range(40)) + ",label\n"
    table = read_csv(write(tmp_path, header + "\n".join(rows) + "\n"), "label")
    assert encode_labels(table).classes == ("1", "2", "a")


def test_numeric_labels_compare_by_value(tmp_path: Path) -> None:
    labels = encode_labels(
        labelled(tmp_path, "a.csv", ["1", "0", " 1.0 ", "0.0"]),
        labelled(tmp_path, "b.csv", ["1e0", "0"]),
    )
    assert labels.classes == (0, 1) and isinstance(labels.classes[1], int)
    assert labels.train.tolist() == [1, 0, 1, 0]
    assert labels.test is not None and labels.test.tolist() == [1, 0]
    assert labels.one_hot(labels.train).tolist() == [[0, 1], [1, 0], [0, 1], [1, 0]]


def test_a_test_label_unknown_to_the_train_file_is_an_error(tmp_path: Path) -> None:
    train = labelled(tmp_path, "train.csv", ["setosa", "virginica", "setosa"])
    test = labelled(tmp_path, "test.csv", ["virginica", "setosa", "versicolor"])
    with pytest.raises(DataError) as caught:
        encode_labels(train, test)
    error = caught.value
    assert (error.code, error.path, error.line, error.column) == ("E312", test.path, 4, 3)
    assert "`versicolor`" in error.message and error.source_line == "2,versicolor"
    assert error.help is not None and "`setosa`, `virginica`" in error.help


def test_describe_counts_the_classes(tmp_path: Path) -> None:
    table = labelled(tmp_path, "d.csv", ["b", "a", "b", "b"])
    description = describe_table(table)
    assert (description.rows, description.features, description.target) == (4, ("x",), "label")
    assert description.classes == (("a", 1), ("b", 3))


def numbered(folder: Path, rows: int) -> Table:
    return read_csv(
        write(folder, "x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(rows))), "label"
    )


def test_split_is_seeded_and_partitions_the_rows(tmp_path: Path) -> None:
    table = numbered(tmp_path, 50)
    train, test = split(table, 0.8, torch.Generator().manual_seed(3))
    again, _ = split(table, 0.8, torch.Generator().manual_seed(3))
    other, _ = split(table, 0.8, torch.Generator().manual_seed(4))
    assert (len(train), len(test)) == (40, 10)
    assert torch.equal(train.inputs, again.inputs) and not torch.equal(train.inputs, other.inputs)
    seen = sorted(train.inputs.flatten().tolist() + test.inputs.flatten().tolist())
    assert seen == [float(i) for i in range(50)]
    row = int(test.inputs[0, 0])  # each part remembers its rows' lines in the file
    assert test.file_row(0) == row and test.record(0).line == row + 2
    assert torch.equal(test.target.values(), test.inputs[:, 0] % 2)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_a_split_outside_zero_and_one_is_refused(fraction: float, tmp_path: Path) -> None:
    table = numbered(tmp_path, 10)
    with pytest.raises(DataError) as caught:
        split(table, fraction, torch.Generator())
    assert (caught.value.code, caught.value.path, caught.value.line) == ("E313", table.path, 0)


@pytest.mark.parametrize(("fraction", "empty"), [(0.9, "testing"), (0.1, "training")])
def test_a_split_that_leaves_a_part_empty_is_refused(
    fraction: float, empty: str, tmp_path: Path
) -> None:
    table = numbered(tmp_path, 3)
    with pytest.raises(DataError) as caught:
        split(table, fraction, torch.Generator())
    assert (caught.value.code, caught.value.line) == ("E314", 0)
    assert f"no row for {empty}" in caught.value.message


def test_standard_statistics_are_numpys_and_apply_to_the_test_set() -> None:
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(200, 4, generator=generator, dtype=torch.float64) * 1e3 + 7
    test = torch.randn(30, 4, generator=generator, dtype=torch.float64)
    normalizer = Normalizer("standard").fit(train)
    assert normalizer.shift is not None and normalizer.scale is not None
    mean, std = train.numpy().mean(axis=0), train.numpy().std(axis=0, ddof=0)
    np.testing.assert_allclose(normalizer.shift.numpy(), mean, rtol=1e-12, atol=0)
    np.testing.assert_allclose(normalizer.scale.numpy(), std, rtol=1e-12, atol=0)
    expected = (test.numpy() - mean) / std  # the train statistics, not the test set's own
    np.testing.assert_allclose(normalizer.apply(test).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_standard_statistics_of_float32_inputs_are_taken_in_float64() -> None:
    train = torch.tensor([[1e7], [1e7 + 1], [1e7 + 2]], dtype=torch.float32)
    normalizer = Normalizer("standard").fit(train)
    assert normalizer.scale is not None and normalizer.scale.dtype == torch.float64
    assert float(normalizer.scale[0]) == pytest.approx(math.sqrt(2 / 3), rel=1e-12)
    assert normalizer.apply(train).dtype == torch.float32


def test_minmax_maps_the_train_range_to_zero_one() -> None:
    train = torch.tensor([[1.0, -3.0], [5.0, 7.0], [3.0, 2.0]], dtype=torch.float64)
    normalized = Normalizer("minmax").fit(train).apply(train)
    assert normalized.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_a_constant_feature_is_not_divided_by_zero(kind: str) -> None:
    train = torch.tensor([[4.0, 1.0], [4.0, 2.0], [4.0, 3.0]], dtype=torch.float64)
    normalizer = Normalizer(kind).fit(train)  # type: ignore[arg-type]
    normalized = normalizer.apply(torch.tensor([[4.0, 2.0], [5.0, 2.0]], dtype=torch.float64))
    assert torch.isfinite(normalized).all()
    assert normalized[0, 0] == 0.0 and normalized[1, 0] == 1.0  # centred, scale 1


@pytest.mark.parametrize("kind", ["standard", "minmax"])
@pytest.mark.parametrize("value", [0.1, 0.3, 0.7, 2.2])
@pytest.mark.parametrize("rows", [3, 7, 150])
def test_a_constant_column_that_is_not_exact_in_binary_stays_constant(
    kind: str, value: float, rows: int
) -> None:
    """The std of a column of 0.1s is about 1e-17 in float64, not 0: it must still count as
    constant (scale 1), or a new row at 0.2 would land near 1e16."""
    train = torch.full((rows, 1), value, dtype=torch.float64)
    normalizer = Normalizer(kind).fit(train)  # type: ignore[arg-type]
    assert normalizer.scale is not None and normalizer.scale.tolist() == [1.0]
    assert normalizer.apply(train).abs().max() == 0.0
    assert abs(float(normalizer.apply(torch.tensor([[value + 0.1]], dtype=torch.float64)))) < 1


def test_none_leaves_the_inputs_as_they_are() -> None:
    inputs = torch.tensor([[1.0, 2e6]])
    assert Normalizer().fit(inputs).apply(inputs) is inputs
    assert Normalizer.from_dict(Normalizer().to_dict()).kind == "none"


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_the_statistics_survive_json_exactly(kind: str) -> None:
    train = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    normalizer = Normalizer(kind).fit(train)  # type: ignore[arg-type]
    loaded = Normalizer.from_dict(json.loads(json.dumps(normalizer.to_dict())))
    assert loaded.kind == kind and loaded.shift is not None and loaded.scale is not None
    assert normalizer.shift is not None and normalizer.scale is not None
    assert torch.equal(loaded.shift, normalizer.shift)
    assert torch.equal(loaded.scale, normalizer.scale)


@pytest.mark.parametrize(
    "damaged",
    [{"kind": "zscore"}, {"kind": "standard"}, {"kind": "minmax", "shift": [1.0], "scale": []}],
)
def test_damaged_statistics_are_refused(damaged: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Normalizer.from_dict(damaged)


def test_the_scale_warning_names_the_widest_and_narrowest_columns() -> None:
    inputs = torch.tensor([[0.0, 0.0, 5.0, 1.0], [1000.0, 0.5, 5.0, 2.0]])
    assert scale_warning(inputs, ["wide", "narrow", "constant", "mid"]) == (
        "wide",
        "narrow",
        2000.0,
    )
    assert scale_warning(inputs[:, 2:], ["constant", "mid"]) is None
    assert scale_warning(inputs[:, [0, 3]], ["wide", "mid"], limit=1000.0) is None


def test_the_header_is_read_without_torch_or_the_language(tmp_path: Path) -> None:
    path = write(tmp_path, "a, b ,label\n1,2,3\n")
    code = (
        "import sys; from minidl.data import read_header\n"
        f"header = read_header({str(path)!r})\n"
        "assert header.names == ('a', 'b', 'label') and header.features('label') == ('a', 'b')\n"
        "assert header.has('label') and not header.has('y')\n"
        "assert 'torch' not in sys.modules and 'pandas' not in sys.modules\n"
        "import minidl.data.reader, minidl.data.labels, minidl.data.normalize\n"
        "assert not [m for m in sys.modules if m.startswith('minidl.lang')], 'lang imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
