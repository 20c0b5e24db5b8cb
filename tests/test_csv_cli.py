"""CSV data on the command line, as users found it (issues 19 and 27): a join at the start of
the network, test files whose columns differ from the train file's, data warnings."""

from __future__ import annotations

import json
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


TEST_ROWS = [(0.7, 0.1, 1), (0.2, 0.9, 0), (0.6, 0.3, 1), (0.1, 0.6, 0), (0.9, 0.8, 1)]


def final_test_figures(folder: Path, header: str, order: tuple[int, int, int]) -> tuple[float, ...]:
    write(folder, "d.csv", "a,b,y", ROWS)
    rows = [",".join(str(row[i]) for i in order) for row in TEST_ROWS]
    write(folder, "t.csv", header, rows)
    spec = spec_file(folder, "Linear ->4 | ReLU | Linear ->1",
                     'data csv train="d.csv" test="t.csv" target=y', epochs=5)  # fmt: skip
    last = compile_spec(parse_file(spec)).fit()[-1]
    return last.test_loss, last.test_error


def test_a_test_file_is_matched_to_the_train_file_by_name(tmp_path: Path) -> None:
    """The same test rows with their columns written `b,a,y` give the figures of `a,b,y`
    (they were matched by position: another test error, exit 0)."""
    same = final_test_figures(tmp_path, "a,b,y", (0, 1, 2))
    swapped = final_test_figures(tmp_path, "b,a,y", (1, 0, 2))
    moved_target = final_test_figures(tmp_path, "y,b,a", (2, 1, 0))
    assert swapped == same and moved_target == same


@pytest.mark.parametrize(
    ("header", "rows", "expected"),
    [
        ("a,y", ["0.1,0", "0.9,1"], "t.csv:1:1: error[E302]: no column named `b`"),
        ("a,b,c,y", ["0.1,0.2,5,0", "0.9,0.4,6,1"], "t.csv:1:5: error[E320]: column `c` is not"),
    ],
)
@pytest.mark.parametrize("command", [[], ["--train"]])
def test_a_test_file_without_a_feature_or_with_another_is_a_diagnostic_at_its_header(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
    rows: list[str],
    expected: str,
    command: list[str],
) -> None:
    """It was a `RuntimeError: mat1 and mat2 shapes cannot be multiplied` mid-training."""
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    write(tmp_path, "t.csv", header, rows)
    spec = spec_file(tmp_path, "Linear ->4 | ReLU | Linear ->1",
                     'data csv train="d.csv" test="t.csv" target=y')  # fmt: skip
    out = tmp_path / "runs"
    assert main([str(spec), *command, "--quiet", "--out", str(out)]) == 2
    assert expected in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())  # refused before any training


UNSCALED = Path(__file__).parent / "diagnostics" / "data_warnings" / "unscaled.csv"


def unscaled_spec(folder: Path, sweep: str = "") -> Path:
    (folder / "unscaled.csv").write_bytes(UNSCALED.read_bytes())
    path = folder / "wine.mdl"
    path.write_text(
        "Linear ->4 | ReLU | Linear ->1;\nsgd lr=0.0001 batch=4;\ntrain epochs=2;\n"
        f'data csv train="unscaled.csv" target=label;\n{sweep}'
    )
    return path


def test_resume_prints_the_data_warnings_at_the_folders_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = unscaled_spec(tmp_path)
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().err.count("warning[W201]") == 1
    (folder,) = (tmp_path / "runs").iterdir()
    metrics = folder / "metrics.json"  # as a run killed after its last epoch leaves it
    metrics.write_text(metrics.read_text().replace('"completed"', '"interrupted"'))
    assert main([str(folder), "--resume", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{folder / 'spec.mdl'}:5:1: warning[W201]: feature ranges differ" in err
    assert '  5 | data csv train="unscaled.csv" target=label' in err


def test_a_sweep_prints_a_data_warning_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = unscaled_spec(tmp_path, "sweep train.seed=[0, 1, 2];\n")
    args = [str(spec), "--train", "--quiet", "--jobs", "2", "--out", str(tmp_path / "runs")]
    assert main(args) == 0
    assert capsys.readouterr().err.count("warning[W201]") == 1


def csv_sweep(tmp_path: Path) -> Path:
    """A finished sweep of three cells over a CSV beside its spec; its folder."""
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    data = 'data csv train="d.csv" split=0.5 target=y;\nsweep train.seed=[0, 1, 2]'
    spec = spec_file(tmp_path, "Linear ->4 | ReLU | Linear ->1", data)
    assert (
        main([str(spec), "--train", "--quiet", "--jobs", "1", "--out", str(tmp_path / "runs")]) == 0
    )
    (folder,) = (tmp_path / "runs").iterdir()
    return folder


def test_a_csv_sweeps_folder_finds_its_data_as_a_single_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its spec.mdl's `train="d.csv"` was resolved against the folder: a traceback."""
    folder = csv_sweep(tmp_path)
    monkeypatch.chdir(folder)  # wherever the command runs
    capsys.readouterr()
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert "data: 2 features (a, b), target `y`" in out and "status completed" in out


@pytest.mark.parametrize("kept", [0, 2])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_interrupted_csv_sweep_resumes_to_the_same_results(
    tmp_path: Path, kept: int, jobs: str
) -> None:
    folder = csv_sweep(tmp_path)
    expected = (folder / "results.csv").read_bytes()
    results = json.loads((folder / "results.json").read_text())
    if kept:  # as Ctrl-C after `kept` cells leaves it
        results.update(status="interrupted", cells=results["cells"][:kept])
        (folder / "results.json").write_text(json.dumps(results))
    else:  # killed before its first cell was kept
        for name in ("results.json", "results.csv", "sweep.png"):
            (folder / name).unlink()
    assert main([str(folder), "--resume", "--quiet", "--jobs", jobs]) == 0
    assert (folder / "results.csv").read_bytes() == expected


def test_a_feature_too_large_for_float32_is_a_diagnostic_at_its_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`1e39` is finite in the file and infinite in float32: training "diverged"."""
    write(tmp_path, "d.csv", "a,b,y", [*ROWS[:2], "0.3,1e39,1", *ROWS[2:]])
    spec = spec_file(tmp_path, "Linear ->4 | ReLU | Linear ->1", 'data csv train="d.csv" target=y')
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'd.csv'}:4:5: error[E321]: `1e39` is too large for float32" in err
    assert "  4 | 0.3,1e39,1\n    |     ^^^^\n" in err
    wide = parse_file(spec).model_copy(update={"train": parse_file(spec).train.model_copy(
        update={"dtype": "float64"})})  # fmt: skip
    assert compile_spec(wide).data[0].inputs.abs().max() == 1e39  # float64 holds it


def test_predict_refuses_a_feature_too_large_for_the_runs_dtype(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    spec = spec_file(tmp_path, "Linear ->4 | ReLU | Linear ->1", 'data csv train="d.csv" target=y')
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    rows = write(tmp_path, "p.csv", "id,b,a", ["x,0.2,0.1", "y,-3e38,0.4", "z,0.1,-1e39"])
    capsys.readouterr()
    assert main([str(folder), "--predict", str(rows)]) == 2
    out, err = capsys.readouterr()
    assert not out
    assert f"{rows}:4:7: error[E321]: `-1e39` is too large for float32 (column `a`)" in err


def test_a_cell_over_131072_characters_is_no_traceback_in_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary's csv module refuses such a field: `_csv.Error` escaped. Training refuses
    the line (E304), and the summary now says so in the same words."""
    write(tmp_path, "d.csv", "a,b,y", [ROWS[0], "0.3," + "1" * 140_000 + ",1", *ROWS[1:]])
    spec = spec_file(tmp_path, "Linear ->1", 'data csv train="d.csv" target=y')
    assert main([str(spec)]) == 2
    summary = capsys.readouterr().err
    assert "d.csv:3:1: error[E304]: line 3 cannot be split into cells" in summary
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == summary


@pytest.mark.parametrize(("split", "column"), [("0", 30), ("1", 30), ("1.5", 30)])
def test_split_outside_0_1_is_e313_as_documented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], split: str, column: int
) -> None:
    """It was E132, where docs/ERRORS.md says E313."""
    write(tmp_path, "d.csv", "a,b,y", ROWS)
    spec = spec_file(tmp_path, "Linear ->1", f'data csv train="d.csv" split={split} target=y')
    assert main([str(spec)]) == 2
    assert f"s.mdl:4:{column}: error[E313]: `split` must be" in capsys.readouterr().err
