"""Every spec, briefly trained: its ONNX export, `--predict` and the recorded test error agree."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import minidl
from minidl.cli.main import main
from minidl.compiler.predictions import classes_of, decide, network_outputs
from minidl.compiler.program import compile_spec
from minidl.data import read_csv, split
from minidl.lang import parse, read_source
from minidl.lang.ir import CsvData
from minidl.lang.settings import apply_settings

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"penguins", "cars"}
"""v3 tables (text categories: one input per column; numbers to predict): their ONNX
models and predictions are checked in tests/test_tables.py."""
SPECS = sorted(
    path
    for path in (ROOT / "specs").glob("*.mdl")
    if "sweep " not in path.read_text() and path.stem not in TABLES
)


def train(spec: Path, out: Path, *sets: str) -> Path:
    """Train `spec` for two epochs into `out`; return its run folder."""
    options = ["--set", "train.epochs=3", *(x for s in sets for x in ("--set", s))]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main([str(spec), "--train", "--quiet", "--out", str(out), *options]) == 0
    (folder,) = out.iterdir()
    return folder


def run(*argv: str) -> tuple[int, bytes, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue().encode(), err.getvalue()


def same(a: str, b: str) -> bool:
    """Two labels as written: equal as text, or as numbers (`1` and `1.0`)."""
    try:
        return a == b or float(a) == float(b)
    except ValueError:
        return False


def test_a_spec_with_a_sweep_is_left_out() -> None:
    assert SPECS and all("sweep " not in path.read_text() for path in SPECS)


@pytest.fixture(scope="module", params=SPECS, ids=lambda path: path.stem)
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(request.param, tmp_path_factory.mktemp(request.param.stem))


def rows_like(program: minidl.Program, n: int = 1000) -> np.ndarray:
    """`n` rows of raw features spread over (a little beyond) the training data's range."""
    generator = np.random.default_rng(0)
    features = len(program.feature_names)
    if program.normalizer is not None and program.normalizer.shift is not None:
        shift = program.normalizer.shift.numpy()
        scale = program.normalizer.scale.numpy()
        return shift + scale * generator.normal(size=(n, features))
    return generator.uniform(-0.5, 1.5, size=(n, features))


def test_onnx_agrees_with_minidl(trained: Path, tmp_path: Path) -> None:
    code, _, err = run(str(trained), "--emit", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    program = minidl.load(trained)
    x = rows_like(program)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(["output"], {"input": x.astype(np.float32)})
    expected = network_outputs(program, x.astype(np.float32).astype(np.float64)).cpu().numpy()
    difference = float(np.abs(got - expected).max())
    print(f"{trained.name}: ONNX max abs difference {difference:.3g}")
    assert difference <= 1e-5
    labels = json.loads({p.key: p.value for p in model.metadata_props}["labels"])
    assert labels == list(classes_of(program, got.shape[-1]))

    # --predict's labels are the arg-max (or the threshold) of those outputs
    data = tmp_path / "rows.csv"
    np.savetxt(
        data,
        x.astype(np.float32),
        delimiter=",",
        header=",".join(program.feature_names),
        comments="",
        fmt="%.9g",
    )
    code, _, err = run(str(trained), "--predict", str(data), "--out", str(tmp_path / "p.csv"))
    assert code == 0, err
    with (tmp_path / "p.csv").open() as file:
        predicted = [row["prediction"] for row in csv.DictReader(file)]
    indices, _ = decide(program, torch.from_numpy(got.astype(np.float64)))
    assert predicted == [str(labels[i]) for i in indices.tolist()]


def test_predicting_the_test_set_gives_the_recorded_test_error(
    trained: Path, tmp_path: Path
) -> None:
    spec = apply_settings(
        parse(read_source(str(trained / "spec.mdl")), str(trained / "spec.mdl")), []
    )
    data_json = json.loads((trained / "data.json").read_text())
    spec = spec.model_copy(update={"source": data_json["spec_source"]})
    program = compile_spec(spec)
    _, test = program.data
    assert test is not None
    names = list(data_json["features"])
    classes = classes_of(minidl.load(trained), test.targets.shape[-1])
    if test.targets.shape[-1] == 1:
        truth = [classes[int(t > 0.5)] for t in test.targets[:, 0].tolist()]
    else:
        truth = [classes[i] for i in test.targets.argmax(-1).tolist()]
    path = tmp_path / "test.csv"
    if isinstance(spec.data, CsvData) and spec.data.test is not None:
        # the test file itself, raw, its target column as the truth
        path = Path(data_json["spec_source"]).parent / spec.data.test
        with path.open(newline="") as file:
            truth = [row[data_json["target"]].strip() for row in csv.DictReader(file)]
    elif isinstance(spec.data, CsvData) and spec.data.split is not None:
        # the rows the seeded split kept for testing, raw, as the file writes them
        source = Path(data_json["spec_source"]).parent / spec.data.train
        table = read_csv(source, spec.data.target)
        generator = torch.Generator().manual_seed(spec.train.seed)
        _, kept = split(table, spec.data.split, generator)
        assert kept.rows is not None
        with source.open(newline="") as file:
            rows = list(csv.DictReader(file))
        chosen = [rows[i] for i in kept.rows.tolist()]
        truth = [row[data_json["target"]].strip() for row in chosen]
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, list(rows[0]))
            writer.writeheader()
            writer.writerows(chosen)
    else:
        with path.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(names)
            writer.writerows([repr(v) for v in row] for row in test.inputs.double().tolist())
    code, out, err = run(str(trained), "--predict", str(path))
    assert code == 0, err
    predicted = [row["prediction"] for row in csv.DictReader(io.StringIO(out.decode()))]
    wrong = sum(not same(p, str(t)) for p, t in zip(predicted, truth, strict=True))
    recorded = json.loads((trained / "metrics.json").read_text())["final"]["test_error"]
    assert wrong / len(truth) * 100 == pytest.approx(recorded, abs=1e-9)
