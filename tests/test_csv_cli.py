"""CSV data on the command line, as users found it (issues 19 and 27): a join at the start of
the network, test files whose columns differ from the train file's, data warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidl import compile_spec
from minidl.compile import main
from minidl.lang import parse_file

ROWS = ["0.1,0.2,0", "0.3,0.1,1", "0.5,0.9,1", "0.2,0.4,0", "0.8,0.7,1", "0.15,0.3,0"]


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def spec_file(folder: Path, network: str, data: str, epochs: int = 3) -> Path:
    path = folder / "s.mdl"
    path.write_text(f"{network};\nsgd lr=0.1 batch=2;\ntrain epochs={epochs};\n{data};\n")
    return path


def test_a_join_may_start_a_network_on_csv_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    spec = spec_file(tmp_path, "(Linear ->8 | ReLU) & Identity | Linear ->1",
                     'data csv train="d.csv" target=y')  # fmt: skip
    assert main([str(spec)]) == 0
    assert "concat of 2 branches (&)      10" in capsys.readouterr().out
    program = compile_spec(parse_file(spec))
    assert [p[0].shape for p in program.model.param()][-2] == (1, 10)  # 8 + the 2 features
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0


def test_the_summary_checks_widths_once_the_header_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    spec = spec_file(tmp_path, "Linear 3->4 | ReLU | Linear ->1", 'data csv train="d.csv" target=y')
    assert main([str(spec)]) == 2
    err = capsys.readouterr().err
    assert "s.mdl:1:1: error[E202]: Linear expects 3 inputs, but the data has 2 features" in err
