"""Contract v3, "tables as people have them": text categories, gaps, numbers to predict.

Each bullet of the section has a test here: feature kinds and one-hot encoding, unseen
categories, missing cells, regression and its figures, the run folder's encoders
(`--predict`, `minidl.load(...).predict(DataFrame)`, `--emit onnx` with one input per
column), the summary, the torch backend and `--emit python`, and each bad input.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl
from minidl.cli.main import main
from minidl.compiler.program import compile_spec
from minidl.lang import SpecError, parse

ROOT = Path(__file__).resolve().parent.parent

TOWNS = "id,town,size,colour,label\n" + "".join(
    f"{i},{town},{size},{colour},{label}\n"
    for i, (town, size, colour, label) in enumerate(
        [
            ("Paris", "1.5", "red", "yes"),
            ("Lyon", "NA", "blue", "no"),
            ("Paris", "2.5", "", "yes"),
            ("Nice", "3.0", "red", "no"),
            ("Lyon", "4.0", "N/A", "yes"),
            ("Nice", "null", "blue", "no"),
            ("Paris", "5.5", "red", ""),
            ("Lyon", "6.0", "blue", "no"),
        ]
    )
)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, csv_text: str, spec: str, name: str = "d.csv") -> Path:
    (tmp_path / name).write_text(csv_text)
    path = tmp_path / "s.mdl"
    path.write_text(spec)
    return path


def trained(tmp_path: Path, csv_text: str, spec: str) -> Path:
    path = write(tmp_path, csv_text, spec)
    code, _, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    return folder


def program_of(tmp_path: Path, csv_text: str, spec: str) -> minidl.Program:
    return compile_spec(minidl.lang.parse_file(write(tmp_path, csv_text, spec)))


# -- feature kinds, one-hot, unseen categories ---------------------------------------------


def test_text_columns_are_one_hot_in_sorted_order(tmp_path: Path) -> None:
    program = program_of(
        tmp_path,
        TOWNS,
        'Linear ->2 | Linear ->1; loss BCE; data csv train="d.csv" target=label ignore=[id]',
    )
    encoding = program.encoding
    assert encoding is not None
    assert encoding.input_names() == (
        "town=Lyon", "town=Nice", "town=Paris", "size", "colour=blue", "colour=red",
        "colour=<missing>",
    )  # fmt: skip
    inputs = program.data[0].inputs.double()
    assert inputs.shape == (7, 7)  # the row without a label is left out
    assert inputs[:, :3].tolist()[:3] == [[0, 0, 1], [1, 0, 0], [0, 0, 1]]
    assert inputs[:, 4:].tolist()[2] == [0, 0, 1]  # an empty cell: the missing category
    mean = (1.5 + 2.5 + 3.0 + 4.0 + 6.0) / 5  # train rows' present cells (row 6 has no label)
    assert float(inputs[1, 3]) == pytest.approx(mean)
    assert program.model.param()[0][0].shape == (2, 7)  # `Linear ->2` inferred the width


def test_categorical_makes_a_numeric_column_categorical(tmp_path: Path) -> None:
    text = "year,x,y\n2007,1,a\n2009,2,b\n2008,3,a\n2009,4,b\n"
    program = program_of(
        tmp_path,
        text,
        'Linear ->2 | Linear ->1; loss BCE; data csv train="d.csv" target=y categorical=[year]',
    )
    assert program.encoding is not None
    assert program.encoding.input_names() == ("year=2007", "year=2008", "year=2009", "x")


def test_an_unseen_category_is_zeros_and_counted(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("town,size,label\nRome,1,yes\nParis,2,no\nOslo,3,no\n")
    program = program_of(
        tmp_path,
        "town,size,label\nParis,1,yes\nLyon,2,no\nParis,3,no\n",
        'Linear ->1; loss BCE; data csv train="d.csv" test="t.csv" target=label',
    )
    test = program.data[1]
    assert test is not None
    assert test.inputs[:, :2].tolist() == [[0, 0], [0, 1], [0, 0]]
    (warning,) = [w for w in program.warnings if w.code == "W211"]
    assert "2 cells" in warning.message and "town 2" in warning.message


# -- missing cells ----------------------------------------------------------------------


def test_missing_cells_are_filled_and_counted_in_one_warning(tmp_path: Path) -> None:
    program = program_of(
        tmp_path,
        TOWNS,
        'Linear ->1; loss BCE; data csv train="d.csv" target=label ignore=[id]',
    )
    (warning,) = [w for w in program.warnings if w.code == "W210"]
    assert warning.severity == "warning"
    assert "filled 4 missing cells (size 2, colour 2)" in warning.message
    assert "left out 1 row without a target" in warning.message


def test_train_prints_the_counting_warning(tmp_path: Path) -> None:
    path = write(tmp_path, TOWNS, 'Linear ->1; loss BCE; data csv train="d.csv" target=label')
    code, _, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    assert "s.mdl:1:23: warning[W210]: filled 4 missing cells" in err
    assert err.count("warning[W210]") == 1


def test_missing_drop_leaves_rows_out(tmp_path: Path) -> None:
    program = program_of(
        tmp_path,
        TOWNS,
        'Linear ->1; loss BCE; data csv train="d.csv" target=label ignore=[id] missing=drop',
    )
    assert len(program.data[0].inputs) == 3  # rows 0, 3 and 7 are whole
    (warning,) = [w for w in program.warnings if w.code == "W210"]
    assert "left out 4 rows with a missing cell" in warning.message


def test_rows_without_a_target_are_left_out_even_with_missing_error(tmp_path: Path) -> None:
    program = program_of(
        tmp_path,
        "a,b,y\n1,2,0\n3,4,\n5,6,1\n",
        'Linear ->1; loss BCE; data csv train="d.csv" target=y missing=error',
    )
    assert program.data[0].inputs.double().tolist() == [[1, 2], [5, 6]]


def test_every_na_spelling_is_missing(tmp_path: Path) -> None:
    spellings = ["", "NA", "n/a", "NaN", "nan", "NULL", "none", "None", "na"]
    rows = "".join(f"{cell},{i},{i % 2}\n" for i, cell in enumerate(spellings))
    program = program_of(
        tmp_path,
        "a,b,y\n10,0,0\n20,1,1\n" + rows,
        'Linear ->1; loss BCE; data csv train="d.csv" target=y',
    )
    assert program.data[0].inputs[:, 0].double().tolist() == [10, 20] + [15] * len(spellings)


# -- regression -------------------------------------------------------------------------


def line_data(n: int = 40, seed: int = 0, targets: int = 1) -> str:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, size=(n, 2))
    kind = rng.choice(["a", "b"], size=n)
    header = "x1,x2,kind," + ",".join(f"t{k}" for k in range(targets))
    rows = [
        f"{a:.6f},{b:.6f},{c},"
        + ",".join(f"{(k + 1) * a - b + (c == 'a'):.6f}" for k in range(targets))
        for (a, b), c in zip(x, kind, strict=True)
    ]
    return header + "\n" + "\n".join(rows) + "\n"


REGRESS = (
    "Linear ->8 | ReLU | Linear ->1; loss MSE reduction=mean; adam lr=0.01 batch=8; "
    'train epochs=5; data csv train="d.csv" split=0.75 target=t0 normalize=standard'
)


def test_mse_on_many_numbers_is_regression_with_rmse_and_r2(tmp_path: Path) -> None:
    folder = trained(tmp_path, line_data(), REGRESS)
    final = json.loads((folder / "metrics.json").read_text())["final"]
    assert {"train_rmse", "test_rmse", "train_r2", "test_r2"} <= set(final)
    assert "train_error" not in final and "test_error" not in final
    with (folder / "history.csv").open() as file:
        header = next(csv.reader(file))
    assert header == [
        "epoch", "loss", "train_loss", "test_loss", "train_rmse", "test_rmse", "train_r2",
        "test_r2",
    ]  # fmt: skip
    data = json.loads((folder / "data.json").read_text())
    assert data["task"] == "regress" and data["target_normalize"]["kind"] == "standard"


def test_the_printed_line_and_the_run_summary(tmp_path: Path) -> None:
    path = write(tmp_path, line_data(), REGRESS)
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    line = out.splitlines()[0]
    words = line.split()
    assert words[0:2] == ["train", "rmse"] and words[3:5] == ["test", "rmse"]
    assert words[6:8] == ["test", "r2"] and "   test rmse " in line and "   test r2 " in line
    final = json.loads(next((tmp_path / "runs").glob("*/metrics.json")).read_text())["final"]
    assert float(words[2]) == pytest.approx(final["train_rmse"], rel=1e-5)
    assert float(words[8]) == pytest.approx(final["test_r2"], rel=1e-5, abs=1e-6)


def test_rmse_and_r2_are_on_the_targets_own_scale_as_sklearn_computes_them(
    tmp_path: Path,
) -> None:
    folder = trained(
        tmp_path,
        line_data(targets=2),
        REGRESS.replace("target=t0", "target=[t0, t1]").replace("Linear ->1", "Linear ->2"),
    )
    program = minidl.load(folder)
    frame = pd.read_csv(tmp_path / "d.csv")
    predicted = np.array(program.predict(frame))
    truth = frame[["t0", "t1"]].to_numpy()
    assert predicted.shape == (40, 2)
    # every row: train and test together, so compare with figures computed here
    rmse = np.sqrt(((predicted - truth) ** 2).mean(axis=0)).mean()
    sst = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    r2 = (1 - ((predicted - truth) ** 2).sum(axis=0) / sst).mean()
    assert math.isfinite(rmse) and r2 < 1
    figures = minidl.train.regression_scores(
        __import__("torch").tensor(predicted), __import__("torch").tensor(truth),
        __import__("torch").ones(2, dtype=__import__("torch").float64),
    )  # fmt: skip
    assert float(figures[0]) == pytest.approx(rmse) and float(figures[1]) == pytest.approx(r2)


def test_several_targets_predict_one_column_each(tmp_path: Path) -> None:
    spec = REGRESS.replace("target=t0", "target=[t0, t1]").replace("Linear ->1", "Linear ->2")
    folder = trained(tmp_path, line_data(targets=2), spec)
    code, out, err = run(str(folder), "--predict", str(tmp_path / "d.csv"))
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert header[-2:] == ["prediction_t0", "prediction_t1"]


def test_regression_prediction_column(tmp_path: Path) -> None:
    folder = trained(tmp_path, line_data(), REGRESS)
    code, out, err = run(str(folder), "--predict", str(tmp_path / "d.csv"))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[-1] == "prediction" and "output" not in rows[0]
    frame = pd.read_csv(tmp_path / "d.csv")
    loaded = minidl.load(str(folder)).predict(frame)
    assert [float(r["prediction"]) for r in rows] == pytest.approx(loaded, rel=1e-12)


def test_numbers_stay_classes_with_several_outputs_or_task_classify(tmp_path: Path) -> None:
    """v2's meaning: MSE with one output per class; `task=classify` says so outright."""
    text = "a,y\n" + "".join(f"{i},{i % 3 + 1}\n" for i in range(12))
    spec = 'Linear ->3; train epochs=1; data csv train="d.csv" target=y'
    folder = trained(tmp_path, text, spec)
    final = json.loads((folder / "metrics.json").read_text())["final"]
    assert "train_error" in final and "train_rmse" not in final
    path = write(
        tmp_path, text, spec.replace("->3", "->1").replace("target=y", "target=y task=classify")
    )
    status, _, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "r2"))
    assert status == 2 and "error[E315]" in err


# -- the run folder: --predict with gaps, DataFrames, ONNX ----------------------------------

CLASSIFY = (
    "Linear ->8 | ReLU | Linear ->2; loss CrossEntropy; adam lr=0.01 batch=4; train epochs=3; "
    'data csv train="d.csv" target=label ignore=[id] normalize=standard'
)


def test_predict_encodes_gaps_and_unseen_categories_and_warns(tmp_path: Path) -> None:
    folder = trained(tmp_path, TOWNS, CLASSIFY)
    (tmp_path / "new.csv").write_text("id,town,size,colour\n1,Rome,NA,green\n2,Paris,2,\n")
    code, out, err = run(str(folder), "--predict", str(tmp_path / "new.csv"))
    assert code == 0, err
    assert "warning[W211]" in err and "warning[W210]" in err and "Traceback" not in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["1", "2"] and rows[0]["size"] == "NA"
    assert {r["prediction"] for r in rows} <= {"no", "yes"}
    frame = pd.DataFrame(
        {"town": ["Rome", "Paris"], "size": [None, 2.0], "colour": ["green", None]}
    )
    assert minidl.load(folder).predict(frame) == [r["prediction"] for r in rows]


def test_predict_refuses_text_in_a_numeric_column_at_its_place(tmp_path: Path) -> None:
    folder = trained(tmp_path, TOWNS, CLASSIFY)
    (tmp_path / "new.csv").write_text("id,town,size,colour\n1,Rome,big,red\n")
    code, _, err = run(str(folder), "--predict", str(tmp_path / "new.csv"))
    assert code == 2
    assert "new.csv:2:8: error[E334]: `big` is text" in err and "Traceback" not in err


def test_an_array_is_refused_when_a_feature_is_categorical(tmp_path: Path) -> None:
    folder = trained(tmp_path, TOWNS, CLASSIFY)
    with pytest.raises(ValueError, match="DataFrame"):
        minidl.load(folder).predict(np.zeros((1, 3)))


def test_onnx_takes_one_input_per_column_and_agrees_with_predict(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    folder = trained(tmp_path, TOWNS, CLASSIFY)
    code, _, err = run(str(folder), "--emit", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    inputs = {i.name: (i.type, i.shape) for i in session.get_inputs()}
    assert inputs == {
        "town": ("tensor(string)", ["N", 1]),
        "size": ("tensor(float)", ["N", 1]),
        "colour": ("tensor(string)", ["N", 1]),
    }
    frame = pd.DataFrame(
        {
            "town": ["Rome", "Paris", "Lyon"],
            "size": [np.nan, 2.0, 9.5],
            "colour": ["", "red", "N/A"],
        }
    )
    feeds = {
        "town": frame[["town"]].to_numpy(dtype=object),
        "size": frame[["size"]].to_numpy(dtype=np.float32),
        "colour": frame[["colour"]].to_numpy(dtype=object),
    }
    (got,) = session.run(["output"], feeds)
    program = minidl.load(folder)
    from minidl.compiler.predictions import encode_inputs, network_outputs

    with_gaps = frame.replace({"": None, "N/A": None})
    expected = network_outputs(program, encode_inputs(program, with_gaps)).numpy()
    assert np.abs(got - expected).max() <= 1e-5


def test_onnx_of_a_regression_gives_values_on_their_own_scale(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    folder = trained(tmp_path, line_data(), REGRESS)
    code, _, err = run(str(folder), "--emit", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    frame = pd.read_csv(tmp_path / "d.csv")
    feeds = {
        name: frame[[name]].to_numpy(dtype=np.float32 if name != "kind" else object)
        for name in ("x1", "x2", "kind")
    }
    (got,) = session.run(["output"], feeds)
    expected = np.array(minidl.load(folder).predict(frame))
    assert np.abs(got[:, 0] - expected).max() <= 1e-5 * np.abs(expected).max()


# -- the summary, the torch backend, --emit python --------------------------------------------


def test_the_summary_shows_each_columns_expansion_and_the_task_without_torch(
    tmp_path: Path,
) -> None:
    spec = ROOT / "specs" / "penguins.mdl"
    code = "import sys, minidl.cli.main as m; m.main([sys.argv[1]]); print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code, str(spec)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  island: 3 categories" in out and "  sex: 2 categories + missing" in out
    assert "data: 7 feature columns -> 11 inputs, target `species`" in out
    assert "Linear 11->32" in out and "task: classify `species`" in out
    assert out.splitlines()[-1] == "False"
    code_cars, out_cars, _ = run(str(ROOT / "specs" / "cars.mdl"))
    assert code_cars == 0 and "task: regress `Miles_per_Gallon`" in out_cars
    assert "ignored: Name" in out_cars and "Year: 12 categories" in out_cars


def test_the_torch_backend_trains_tables_alike(tmp_path: Path) -> None:
    spec = REGRESS.replace("train epochs=5", "train epochs=2 dtype=float64")
    path = write(tmp_path, line_data(), spec)
    ours = compile_spec(minidl.lang.parse_file(path)).fit()[-1]
    torch_spec = parse(path.read_text().replace("epochs=2", "epochs=2 backend=torch"), str(path))
    theirs = compile_spec(torch_spec).fit()[-1]
    assert theirs.regression and ours.regression
    assert theirs.test_rmse == pytest.approx(ours.test_rmse, rel=1e-9)
    assert theirs.test_r2 == pytest.approx(ours.test_r2, rel=1e-9)


def test_emit_python_prints_what_train_prints(tmp_path: Path) -> None:
    path = write(tmp_path, TOWNS, CLASSIFY.replace("target=label", "target=label missing=drop"))
    code, script, err = run(str(path), "--emit", "python")
    assert code == 0, err
    (tmp_path / "script.py").write_text(script)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "script.py")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    assert result.stdout.split()[:6] == out.split()[:6]
    path = write(tmp_path, line_data(), REGRESS)
    code, script, _ = run(str(path), "--emit", "python")
    (tmp_path / "script.py").write_text(script)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "script.py")], capture_output=True, text=True, timeout=300
    )
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs2"))
    assert result.stdout.split() == out.splitlines()[0].split()


def test_a_sweep_table_and_results_csv_show_rmse_and_r2(tmp_path: Path) -> None:
    path = write(tmp_path, line_data(), REGRESS + "; sweep lr=[0.01, 0.001]")
    code, out, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert code == 0, err
    assert "Test RMSE" in out and "Test R2" in out
    (folder,) = (tmp_path / "runs").iterdir()
    header = (folder / "results.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == ["train_rmse", "test_rmse", "train_r2", "test_r2"]


# -- bad input: a diagnostic at its place, exit 2, never a traceback -------------------------

BAD = {
    "target list lacks a column": (
        "a,b,y\n1,2,3\n",
        'Linear ->2; data csv train="d.csv" target=[y, z]',
        "E332",
        "s.mdl:1:47: error[E332]: no column named `z` in d.csv",
    ),
    "categorical lacks a column": (
        "a,b,y\n1,2,3\n",
        'Linear ->1; data csv train="d.csv" target=y categorical=[town]',
        "E332",
        "error[E332]: no column named `town`",
    ),
    "ignore suggests a column": (
        "name,b,y\n1,2,3\n",
        'Linear ->1; data csv train="d.csv" target=y ignore=[Name]',
        "E332",
        "did you mean `name`?",
    ),
    "the same column twice": (
        "a,b,y\n1,2,3\n",
        'Linear ->1; data csv train="d.csv" target=y ignore=[y]',
        "E330",
        "column `y` is named in `target` and in `ignore`",
    ),
    "regress with CrossEntropy": (
        "a,b,y\n1,2,3\n",
        'Linear ->2; loss CrossEntropy; data csv train="d.csv" target=y task=regress',
        "E331",
        "`task=regress` means numbers to predict",
    ),
    "regress with BCE": (
        "a,b,y\n1,2,3\n",
        'Linear ->1; loss BCE; data csv train="d.csv" target=y task=regress',
        "E331",
        "`loss BCE` compares classes",
    ),
    "a categorical target with regress": (
        "a,y\n1,2\n2,x\n3,4\n",
        'Linear ->1; data csv train="d.csv" target=y task=regress',
        "E335",
        "d.csv:3:3: error[E335]: `x` is not a number to predict",
    ),
    "a column of only missing cells": (
        "a,b,y\n1,NA,0\n2,,1\n",
        'Linear ->1; data csv train="d.csv" target=y',
        "E333",
        "d.csv:1:3: error[E333]: column `b` has only missing cells",
    ),
    "every row dropped": (
        "a,b,y\n1,NA,0\n,2,1\n",
        'Linear ->1; data csv train="d.csv" target=y missing=drop',
        "E337",
        "s.mdl:1:53: error[E337]: every row of d.csv has a missing cell",
    ),
    "missing=error": (
        "a,b,y\n1,2,0\n3,NA,1\n",
        'Linear ->1; data csv train="d.csv" target=y missing=error',
        "E336",
        "d.csv:3:3: error[E336]: a missing cell (column `b`)",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_a_diagnostic_at_its_place(case: str, tmp_path: Path) -> None:
    csv_text, spec, code, message = BAD[case]
    path = write(tmp_path, csv_text, spec)
    status, _, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert status == 2, err
    assert f"error[{code}]" in err and message in err, err
    assert "help: " in err and "Traceback" not in err


def test_a_test_file_with_text_where_the_train_file_has_numbers(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("town,size,y\nParis,1,0\nLyon,big,1\n")
    path = write(
        tmp_path,
        "town,size,y\nParis,1,0\nLyon,2,1\n",
        'Linear ->1; loss BCE; data csv train="d.csv" test="t.csv" target=y',
    )
    status, _, err = run(str(path), "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert status == 2
    assert "t.csv:3:6: error[E334]: `big` is text, but column `size` holds numbers" in err
    assert "categorical=[size]" in err


def test_the_summary_reports_unknown_columns_too(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a,b,y\n1,2,3\n", 'Linear ->1; data csv train="d.csv" target=y ignore=[c]'
    )
    status, _, err = run(str(path))
    assert status == 2 and "error[E332]" in err


def test_parse_checks_the_new_options() -> None:
    with pytest.raises(SpecError, match="E131"):
        parse('Linear ->1; data csv train="d.csv" target=y missing=sometimes')


# -- the property: --predict on the training file gives the recorded training figure ----------


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**16),
    regress=st.booleans(),
    gaps=st.integers(0, 5),
)
def test_predicting_the_training_file_reproduces_the_training_figure(
    tmp_path_factory: pytest.TempPathFactory, seed: int, regress: bool, gaps: int
) -> None:
    tmp_path = tmp_path_factory.mktemp("property")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=30).round(4),
            "town": rng.choice(["a", "b", "c"], size=30),
            "value": rng.normal(size=30).round(4) * 10,
        }
    )
    frame["label"] = np.where(frame["x"] + (frame["town"] == "a") > 0.3, "hi", "lo")
    frame = frame.astype({"x": object, "town": object})
    for row in rng.choice(30, size=gaps, replace=False):
        frame.loc[row, "x" if row % 2 else "town"] = "NA"
    if regress:
        spec = (
            "Linear ->6 | ReLU | Linear ->1; loss MSE reduction=mean; adam lr=0.01 batch=8; "
            'train epochs=3 dtype=float64; data csv train="d.csv" target=value ignore=[label] '
            "normalize=standard"
        )
    else:
        spec = (
            "Linear ->6 | ReLU | Linear ->2; loss CrossEntropy; adam lr=0.01 batch=8; "
            'train epochs=3 dtype=float64; data csv train="d.csv" target=label ignore=[value]'
        )
    folder = trained(tmp_path, frame.to_csv(index=False), spec)
    final = json.loads((folder / "metrics.json").read_text())["final"]
    code, out, err = run(str(folder), "--predict", str(tmp_path / "d.csv"))
    assert code == 0, err
    predicted = pd.read_csv(io.StringIO(out), keep_default_na=False)
    if regress:
        truth = frame["value"].to_numpy(dtype=float)
        rmse = float(np.sqrt(((predicted["prediction"].to_numpy(float) - truth) ** 2).mean()))
        assert rmse == pytest.approx(final["train_rmse"], rel=1e-6)
    else:
        wrong = (predicted["prediction"] != frame["label"]).mean() * 100
        assert wrong == pytest.approx(final["train_error"], abs=1e-9)
