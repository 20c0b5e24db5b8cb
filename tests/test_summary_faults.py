"""The summary says what training would stop at in a CSV file (issue 19's fuzz): a ragged
line, a cell the `csv` module cannot split, a file of a header only, a number that is not
finite, a feature too large for float32. Before, `minidl spec.mdl` printed a summary of
such a file and exited 0, and `--train` refused it with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidl.compile import main

HEADER = "a,b,y"
ROWS = ["0.1,0.2,0", "0.3,0.1,1", "0.5,0.9,1", "0.2,0.4,0", "0.8,0.7,1", "0.15,0.3,0"]


def _with(row: str) -> str:
    return "\n".join([HEADER, ROWS[0], row, *ROWS[2:]]) + "\n"


TRAIN_FAULTS = {
    "short row": (_with("0.3,1"), "d.csv:3:1: error[E304]: line 3 has 2 cells"),
    "long row": (_with("0.3,0.1,1,7"), "d.csv:3:11: error[E304]: line 3 has 4 cells"),
    "trailing commas": (
        HEADER + "\n" + "".join(row + ",\n" for row in ROWS),
        "d.csv:2:11: error[E304]: line 2 has 4 cells",
    ),
    "minus infinity": (_with("0.3,-inf,1"), "d.csv:3:5: error[E307]: `-inf` is not a finite"),
    "overflow": (_with("0.3,1e400,1"), "d.csv:3:5: error[E307]: `1e400` is not a finite"),
    "a huge integer": (_with("0.3," + "9" * 400 + ",1"), "d.csv:3:5: error[E307]"),
    "too large for float32": (
        _with("0.3,1e39,1"),
        "d.csv:3:5: error[E321]: `1e39` is too large for float32 (column `b`)",
    ),
    "a cell over the csv module's limit": (
        _with('0.3,"' + "x" * 140_000 + '",1'),
        "d.csv:3:1: error[E304]: line 3 cannot be split into cells",
    ),
    "infinity in a later column": (
        _with("0.3,0.1,1").replace("0.8,0.7,1", "0.8,0.7,inf"),
        "d.csv:6:9: error[E307]: `inf` is not a finite number (column `y`)",
    ),
}


def _spec(
    folder: Path, data: str, network: str = "Linear ->4 | ReLU | Linear ->1", dtype: str = ""
) -> Path:
    spec = folder / "s.mdl"
    train = f"train epochs=2{dtype}"
    spec.write_text(f"{network};\nsgd lr=0.1 batch=2;\n{train};\n{data};\n", "utf-8")
    return spec


def _summary_and_training(spec: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert main([str(spec)]) == 2
    summary = capsys.readouterr().err
    out = str(spec.parent / "runs")
    assert main([str(spec), "--train", "--quiet", "--out", out]) == 2
    return summary, capsys.readouterr().err


@pytest.mark.parametrize("name", TRAIN_FAULTS)
def test_the_summary_stops_where_training_stops_in_the_train_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    text, expected = TRAIN_FAULTS[name]
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" target=y')
    summary, training = _summary_and_training(spec, capsys)
    assert expected in summary
    assert summary == training  # the same words as training


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_with("0.3,0.1"), "t.csv:3:1: error[E304]: line 3 has 2 cells"),
        (_with("0.3,inf,1"), "t.csv:3:5: error[E307]: `inf` is not a finite number"),
        (HEADER + "\n", "t.csv:1:1: error[E306]: the file has a header but no data"),
        (_with("0.3,x,1"), "t.csv:3:5: error[E334]: `x` is text, but column `b` holds numbers"),
        (_with("0.3,1e39,1"), "t.csv:3:5: error[E321]: `1e39` is too large for float32"),
    ],
)
def test_the_summary_stops_where_training_stops_in_the_test_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (tmp_path / "d.csv").write_text(_with(ROWS[1]), encoding="utf-8")
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" test="t.csv" target=y')
    summary, training = _summary_and_training(spec, capsys)
    assert expected in summary
    assert summary == training


def test_float64_holds_what_float32_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_text(_with("0.3,1e39,1"), encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" target=y', dtype=" dtype=float64")
    assert main([str(spec)]) == 0
    assert "6 rows" in capsys.readouterr().out


def test_infinity_among_text_is_a_category_not_a_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["red,0", "inf,1", "blue,1", "red,0", "blue,1", "inf,0"]
    (tmp_path / "d.csv").write_text("colour,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" target=y', "Linear ->1")
    assert main([str(spec)]) == 0
    assert "colour: 3 categories" in capsys.readouterr().out
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0


def test_rows_without_a_target_are_not_counted_as_a_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Training leaves rows without a target out (W210); the summary counted them as a class
    of the empty label."""
    (tmp_path / "d.csv").write_text(_with("0.3,0.1,"), encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" target=y')
    assert main([str(spec)]) == 0
    assert "5 rows; 2 distinct targets: 0 3, 1 2" in capsys.readouterr().out


def test_a_short_line_is_e304_in_the_tables_reader_and_its_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas reads a short line's absent cells as gaps: with a text column, training imputed
    them without a word and `--predict` filled them, where the numbers-only reader and the
    summary refuse the line. A trailing empty cell is still a gap."""
    rows = ["0.1,x,0.2,0", "0.3,y,0.1", "0.5,x,0.9,1", "0.2,y,0.4,0", "0.8,x,0.7,1"]
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = _spec(tmp_path, 'data csv train="d.csv" target=y', "Linear ->1")
    summary, training = _summary_and_training(spec, capsys)
    assert "d.csv:3:1: error[E304]: line 3 has 3 cells, but the header has 4" in training
    assert summary == training

    rows[1] = "0.3,y,0.1,1"
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    runs = tmp_path / "runs"
    assert main([str(spec), "--train", "--quiet", "--out", str(runs)]) == 0
    (run,) = runs.iterdir()
    capsys.readouterr()
    (tmp_path / "p.csv").write_text("a,b,c\n0.1,x,0.2\n0.3,y\n", encoding="utf-8")
    assert main([str(run), "--predict", str(tmp_path / "p.csv")]) == 2
    assert "p.csv:3:1: error[E304]: line 3 has 2 cells, but the header has 3" in (
        capsys.readouterr().err
    )
    (tmp_path / "p.csv").write_text("a,b,c\n0.1,x,0.2\n0.3,y,\n", encoding="utf-8")
    assert main([str(run), "--predict", str(tmp_path / "p.csv")]) == 0
    done = capsys.readouterr()
    assert "warning[W210]: filled 1 missing cell" in done.err
    assert done.out.count("\n") == 3
