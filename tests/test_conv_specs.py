"""Convolutional specs end to end: random image networks compiled from MDL equal a torch
build of the same within 1e-10 (float64), forward and backward, parameters in spec order;
the summary prints image shapes without torch; CSV rows become images with `shape=`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from minidl import compile_spec
from minidl.compiler.torch_backend import to_torch
from minidl.lang import SpecError, parse, resolve

CLOSE = dict(atol=1e-10, rtol=1e-10)
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def image_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 rows of 2x6x5 = 60 features and a class of 3."""
    path = tmp_path_factory.mktemp("images") / "rows.csv"
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(12, 60, generator=generator, dtype=torch.float64)
    names = [f"p{i}" for i in range(60)]
    lines = [",".join([*names, "label"])]
    lines += [
        ",".join([*(repr(float(v)) for v in row), "abc"[i % 3]]) for i, row in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stage() -> st.SearchStrategy[str]:
    conv = st.builds(
        "Conv2d ->{} kernel={} stride={} padding={}".format,
        st.integers(1, 4),
        st.integers(1, 3),
        st.integers(1, 2),
        st.integers(0, 1),
    )
    pool = st.builds(
        "{} kernel={} stride={}".format,
        st.sampled_from(["MaxPool", "AvgPool"]),
        st.integers(1, 2),
        st.integers(1, 2),
    )
    plain = st.sampled_from(
        ["ReLU", "Tanh", "BatchNorm", "LayerNorm", "Identity", "GELU", "LeakyReLU slope=0.1"]
    )
    joins = st.sampled_from(
        [
            "(Conv2d ->2 kernel=1 & Identity)",
            "(Tanh + Identity)",
            "(Conv2d ->3 kernel=3 padding=1 & Sigmoid)",
        ]
    )
    return st.one_of(conv, pool, plain, joins)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(_stage(), min_size=1, max_size=5), st.integers(0, 1000))
def test_random_conv_specs_equal_torch(image_csv: Path, stages: list[str], seed: int) -> None:
    network = " | ".join([*stages, "Flatten", "Linear ->3"])
    text = (
        f"{network}; loss CrossEntropy; train dtype=float64 seed={seed}; "
        f'data csv train="{image_csv}" target=label shape=[2, 6, 5]'
    )
    try:
        spec = parse(text)
    except SpecError:
        assume(False)
        return
    assume(not resolve(spec).diagnostics)
    program = compile_spec(spec)
    model, x = program.model, program.data[0].inputs
    assert x.shape == (12, 2, 6, 5)
    twin = to_torch(model)
    shapes = [tuple(value.shape) for value, _ in model.param()]
    assert shapes == [tuple(p.shape) for p in twin.parameters()]
    upstream = torch.randn(12, 3, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    x_ref = x.clone().requires_grad_()
    expected = twin(x_ref)
    expected.backward(upstream)
    torch.testing.assert_close(model.forward(x), expected.detach(), **CLOSE)
    torch.testing.assert_close(model.backward(upstream), x_ref.grad, **CLOSE)
    for (_, grad), theirs in zip(model.param(), twin.parameters(), strict=True):
        torch.testing.assert_close(grad, theirs.grad, **CLOSE)


def test_parameters_come_in_spec_order(image_csv: Path) -> None:
    spec = parse(
        "Conv2d ->4 kernel=3 | BatchNorm | (Conv2d ->2 kernel=1 & Conv2d ->3 kernel=1 bias=false)"
        " | LayerNorm | Flatten | Linear ->3; loss CrossEntropy;"
        f' data csv train="{image_csv}" target=label shape=[2, 6, 5]'
    )
    shapes = [tuple(v.shape) for v, _ in compile_spec(spec).model.param()]
    assert shapes == [
        (4, 2, 3, 3),
        (4,),
        (4,),
        (4,),
        (2, 4, 1, 1),
        (2,),
        (3, 4, 1, 1),
        (5, 4, 3),
        (5, 4, 3),
        (3, 60),
        (3,),
    ]


def test_backend_torch_trains_the_same(image_csv: Path) -> None:
    text = (
        "Conv2d ->3 kernel=3 padding=1 | BatchNorm | ReLU | MaxPool kernel=2 | Flatten | "
        "Linear ->3; loss CrossEntropy; sgd lr=0.05 batch=4; train epochs=3 dtype=float64; "
        f'data csv train="{image_csv}" target=label shape=[2, 6, 5]'
    )
    mine = compile_spec(parse(text))
    mine.fit()
    theirs = compile_spec(parse(text.replace("dtype=float64", "dtype=float64 backend=torch")))
    theirs.fit()
    for (a, _), (b, _) in zip(mine.model.param(), theirs.model.param(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)


def test_summary_prints_images_without_torch() -> None:
    code = (
        "import sys\n"
        "from minidl.lang import parse_file\n"
        "from minidl.lang.summary import summarize\n"
        f"text = summarize(parse_file({str(ROOT / 'specs' / 'digits_conv.mdl')!r}), 'd')\n"
        "assert 'torch' not in sys.modules, 'the summary imported torch'\n"
        "print(text)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Conv2d 1->16 kernel=3 padding=1   16x8x8         160" in result.stdout
    assert "Flatten                              128           0" in result.stdout


def test_shape_must_hold_the_feature_count(tmp_path: Path, image_csv: Path) -> None:
    spec_file = tmp_path / "bad.mdl"
    spec_file.write_text(
        "Conv2d ->2 kernel=3 | Flatten | Linear ->3; loss CrossEntropy;\n"
        f'data csv train="{image_csv}" target=label shape=[3, 6, 5];\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "minidl.compile", str(spec_file), "--train", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "bad.mdl:2:" in result.stderr and "error[E377]" in result.stderr, result.stderr
    assert "shape=[3, 6, 5] holds 90 values, but each row of the data has 60" in result.stderr
    assert "Traceback" not in result.stderr


def test_hover_shows_image_shapes(image_csv: Path) -> None:
    from lsprotocol import types

    from minidl.lsp.analysis import analyze
    from minidl.lsp.features import hover

    text = (
        "Conv2d ->8 kernel=3 | MaxPool kernel=2 | Flatten | Linear ->3;\n"
        f'loss CrossEntropy; data csv train="{image_csv}" target=label shape=[2, 6, 5];\n'
    )
    analysis = analyze("file:///x.mdl", 1, text, "x.mdl")
    shown = []
    for column in (2, 24, 42):
        found = hover(analysis, types.Position(line=0, character=column))
        assert found is not None
        assert isinstance(found.contents, types.MarkupContent)
        shown.append(found.contents.value)
    assert "2x6x5 → 8x4x3, 152 parameters" in shown[0], shown[0]
    assert "8x4x3 → 8x2x1, 0 parameters" in shown[1], shown[1]
    assert "8x2x1 → 16, 0 parameters" in shown[2], shown[2]


def test_a_csv_image_run_predicts_and_exports(image_csv: Path, tmp_path: Path) -> None:
    """A run on CSV rows shaped as images: `load().predict` takes (N, C, H, W) or the rows;
    `--predict` reads the CSV; ONNX keeps the raw `(N, D)` features and reshapes inside."""
    import csv as csv_module

    import numpy as np

    import minidl

    spec_file = tmp_path / "rows.mdl"
    spec_file.write_text(
        "Conv2d ->3 kernel=3 padding=1 | ReLU | AvgPool kernel=2 | Flatten | Linear ->3;\n"
        "loss CrossEntropy; train epochs=2;\n"
        f'data csv train="{image_csv}" target=label normalize=standard shape=[2, 6, 5];\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "minidl.compile"]
    result = subprocess.run(
        [*command, str(spec_file), "--train", "--quiet", "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "runs").iterdir()
    program = minidl.load(run)
    rows = np.loadtxt(image_csv, delimiter=",", skiprows=1, usecols=range(60))
    as_rows = program.predict(rows)
    assert program.predict(rows.reshape(-1, 2, 6, 5)) == as_rows
    result = subprocess.run(
        [*command, str(run), "--predict", str(image_csv)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    written = list(csv_module.DictReader(result.stdout.splitlines()))
    assert [row["prediction"] for row in written] == as_rows
    ort = pytest.importorskip("onnxruntime")
    model = tmp_path / "rows.onnx"
    result = subprocess.run(
        [*command, str(run), "--emit", "onnx", "--out", str(model)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    session = ort.InferenceSession(str(model))
    assert session.get_inputs()[0].shape == ["N", 60]
    (logits,) = session.run(None, {"input": rows.astype(np.float32)})
    classes = ["a", "b", "c"]
    assert [classes[i] for i in logits.argmax(1)] == as_rows
