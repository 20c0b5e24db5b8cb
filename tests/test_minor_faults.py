"""Small faults found by fuzzing (issue 27's minor items), each with the test that found it."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidl.compile import main
from minidl.data.errors import DataError
from minidl.data.frame import read_frame
from minidl.data.header import read_header
from minidl.data.reader import read_csv
from minidl.lang import parse
from minidl.lang.errors import SpecError


def test_known_escapes_keep_their_meaning() -> None:
    spec = parse('Linear 2->1;\ndata csv train="a\\"b\\\\c\\n" target=y;\n')
    assert spec.data is not None
    assert spec.data.train == 'a"b\\c\n'


@pytest.mark.parametrize("value", ["-inf", "-nan", "-Infinity"])
def test_a_signed_infinity_is_not_a_finite_number(value: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(f"Linear 2->1;\nsgd lr={value};\n")
    [found] = caught.value.diagnostics
    assert found.code == "E131"
    assert "finite number" in found.message and value in found.message


def _trailing_comma_file(folder: Path) -> Path:
    path = folder / "d.csv"
    path.write_text("a,b,y\n1,2,0,\n3,4,1,\n5,6,0,\n1,1,1,\n", encoding="utf-8")
    return path


def test_trailing_commas_on_data_rows_are_e304_in_the_numeric_reader(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        read_csv(_trailing_comma_file(tmp_path), "y")
    assert (caught.value.code, caught.value.line, caught.value.column) == ("E304", 2, 7)


def test_trailing_commas_on_data_rows_are_e304_in_the_tables_reader(tmp_path: Path) -> None:
    path = _trailing_comma_file(tmp_path)
    with pytest.raises(DataError) as caught:
        read_frame(path, read_header(path))
    assert (caught.value.code, caught.value.line, caught.value.column) == ("E304", 2, 7)


def test_training_on_trailing_commas_is_e304_at_the_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _trailing_comma_file(tmp_path)
    spec = tmp_path / "s.mdl"
    spec.write_text(
        'Linear 2->2;\nloss CrossEntropy;\ndata csv train="d.csv" target=y;\ntrain epochs=1;\n',
        encoding="utf-8",
    )
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    assert "d.csv:2:7: error[E304]" in capsys.readouterr().err


def test_a_semicolon_separated_file_gets_a_hint_about_the_separator(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a;b;y\n1;2;0\n3;4;1\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_csv(path, "y")
    assert caught.value.code == "E302"
    assert caught.value.help is not None
    assert "separated by `;`" in caught.value.help and "reads commas" in caught.value.help


def test_a_split_names_its_train_rows_not_the_labels_of_the_same_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    spec = tmp_path / "s.mdl"
    spec.write_text(
        'Linear 2->2;\nloss CrossEntropy;\ndata csv train="d.csv" target=y split=0.5;\n'
        "train epochs=1;\n",
        encoding="utf-8",
    )
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "error[E312]" in err and "no train row of the split" in err
    assert "the labels of" not in err and "split's train rows have the labels `0`" in err


def test_a_feature_too_large_for_float32_is_e321_on_the_tables_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A text column sends the file to the tables reader, which did not check E321."""
    rows = ["red,0.1,0", "blue,0.5,1", "red,1e39,0", "blue,0.2,1"]
    (tmp_path / "d.csv").write_text("c,a,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = tmp_path / "s.mdl"
    spec.write_text(
        'Linear ->2;\nloss CrossEntropy;\ndata csv train="d.csv" target=y;\ntrain epochs=1;\n',
        encoding="utf-8",
    )
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "d.csv:4:5: error[E321]: `1e39` is too large for float32 (column `a`)" in err


def test_predict_names_the_line_and_column_of_a_byte_that_is_not_utf8_after_a_chunk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the first chunk of 65,536 rows, --predict said E301 with no place."""
    (tmp_path / "d.csv").write_text("a,b,y\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n", encoding="utf-8")
    spec = tmp_path / "s.mdl"
    spec.write_text(
        'Linear 2->2;\nloss CrossEntropy;\ndata csv train="d.csv" target=y;\ntrain epochs=1;\n',
        encoding="utf-8",
    )
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    lines = [b"a,b"] + [b"%d,%d" % (i % 3, i % 2) for i in range(70_000)]
    lines[68_001] = b"1,\xff"
    rows = tmp_path / "p.csv"
    rows.write_bytes(b"\n".join(lines) + b"\n")
    capsys.readouterr()
    assert main([str(folder), "--predict", str(rows), "--out", str(tmp_path / "p.out")]) == 2
    assert f"{rows}:68002:3: error[E309]: the file is not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("network", "loss", "code"),
    [("Linear 2->2", "CrossEntropy", "E316"), ("Linear 2->1", "BCE", "E315")],
)
def test_the_summary_refuses_the_classes_that_training_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], network: str, loss: str, code: str
) -> None:
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,2\n1,1,1\n", encoding="utf-8")
    spec = tmp_path / "s.mdl"
    spec.write_text(
        f'{network};\nloss {loss};\ndata csv train="d.csv" target=y;\ntrain epochs=1;\n',
        encoding="utf-8",
    )
    assert main([str(spec)]) == 2
    summary = capsys.readouterr().err
    assert f"s.mdl:3:16: error[{code}]" in summary
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == summary  # the same words as training
