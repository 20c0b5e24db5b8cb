"""Image folders: trained, predicted (`file`, `prediction`, `p_LABEL`) and exported to ONNX
(input `(N, C, H, W)` float32 in [0, 1]), and every fault of the folders a diagnostic that
names the file, exit code 2, never a traceback."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import minidl

SPEC = """Conv2d ->4 kernel=3 padding=1 | ReLU | MaxPool kernel=2 | Flatten | Linear ->2;
loss CrossEntropy reduction=mean;
adam lr=0.02 batch=8;
train epochs=15 seed=0;
data images train="train" test="test"{options};
"""


def _draw(path: Path, label: str, rng: np.random.Generator, mode: str = "L", side: int = 8) -> None:
    """A bright left (`left`) or right (`right`) half, with noise."""
    pixels = rng.uniform(0, 60, (side, side))
    half = slice(0, side // 2) if label == "left" else slice(side // 2, side)
    pixels[:, half] += 180
    image = Image.fromarray(pixels.astype(np.uint8), mode="L")
    image.convert(mode).save(path)


def make_folder(root: Path, per_class: int = 12, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for label in ("left", "right"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            _draw(root / label / f"{label}{i}.png", label, rng)


def minidl_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minidl.compile", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the spec's folder, the run folder) of a small image classifier."""
    base = tmp_path_factory.mktemp("images")
    make_folder(base / "train", 16, seed=0)
    make_folder(base / "test", 6, seed=1)
    (base / "spec.mdl").write_text(SPEC.format(options=""), encoding="utf-8")
    result = minidl_cli(base / "spec.mdl", "--train", "--quiet", "--out", base / "runs")
    assert result.returncode == 0, result.stderr
    (run,) = (base / "runs").iterdir()
    return base, run


def test_a_folder_trains(trained: tuple[Path, Path]) -> None:
    base, run = trained
    summary = minidl_cli(base / "spec.mdl")
    assert "4x8x8" in summary.stdout and "4x4x4" in summary.stdout, summary.stdout
    metrics = (run / "metrics.json").read_text()
    assert '"test_error": 0.0' in metrics, metrics


def test_predict_a_folder_and_files(trained: tuple[Path, Path]) -> None:
    base, run = trained
    result = minidl_cli(run, "--predict", base / "test")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["file", "prediction", "p_left", "p_right"]
    assert len(rows) == 12
    for row in rows:
        assert row["prediction"] == Path(row["file"]).parent.name
        assert abs(float(row["p_left"]) + float(row["p_right"]) - 1) < 1e-9
    files = [base / "test" / "right" / "right0.png", base / "test" / "left" / "left1.png"]
    out = base / "predictions.csv"
    result = minidl_cli(run, "--predict", *files, "--out", out)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["prediction"] for r in rows] == ["right", "left"]


def test_load_predicts_an_array(trained: tuple[Path, Path]) -> None:
    base, run = trained
    program = minidl.load(run)
    left = np.asarray(Image.open(base / "test" / "left" / "left0.png"), dtype=np.float64) / 255
    right = np.asarray(Image.open(base / "test" / "right" / "right0.png"), dtype=np.float64) / 255
    assert program.predict(np.stack([left, right])[:, None]) == ["left", "right"]


def test_onnx_takes_pixels(trained: tuple[Path, Path]) -> None:
    ort = pytest.importorskip("onnxruntime")
    base, run = trained
    model = base / "model.onnx"
    result = minidl_cli(run, "--emit", "onnx", "--out", model)
    assert result.returncode == 0, result.stderr
    session = ort.InferenceSession(str(model))
    (given,) = session.get_inputs()
    assert given.name == "input" and given.shape[1:] == [1, 8, 8]
    pixels = minidl.data.read_images(sorted((base / "test").glob("*/*.png")))
    (logits,) = session.run(None, {"input": pixels.numpy().astype(np.float32)})
    from minidl.compiler.predictions import network_outputs

    expected = network_outputs(minidl.load(run), pixels).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)


def _fails(base: Path, code: str, *words: str, options: str = "") -> str:
    (base / "spec.mdl").write_text(SPEC.format(options=options), encoding="utf-8")
    result = minidl_cli(base / "spec.mdl", "--train", "--quiet", "--out", base / "runs")
    assert result.returncode == 2, result.stderr
    assert f"error[{code}]" in result.stderr, result.stderr
    assert "spec.mdl:5:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def test_mixed_sizes_need_size(tmp_path: Path) -> None:
    make_folder(tmp_path / "train")
    make_folder(tmp_path / "test")
    _draw(tmp_path / "train" / "left" / "zbig.png", "left", np.random.default_rng(0), side=10)
    _fails(tmp_path, "E373", "zbig.png", "size=[8, 8]")
    (tmp_path / "spec.mdl").write_text(SPEC.format(options=" size=[8, 8]"), encoding="utf-8")
    assert minidl_cli(tmp_path / "spec.mdl", "--train", "--out", tmp_path).returncode == 0


def test_grayscale_and_rgb_need_channels(tmp_path: Path) -> None:
    make_folder(tmp_path / "train")
    make_folder(tmp_path / "test")
    _draw(tmp_path / "train" / "right" / "colour.png", "right", np.random.default_rng(0), "RGB")
    _fails(tmp_path, "E374", "colour.png", "channels=")


def test_a_class_folder_without_images(tmp_path: Path) -> None:
    make_folder(tmp_path / "train")
    make_folder(tmp_path / "test")
    (tmp_path / "train" / "empty").mkdir()
    _fails(tmp_path, "E372", "empty")


def test_an_unreadable_file(tmp_path: Path) -> None:
    make_folder(tmp_path / "train")
    make_folder(tmp_path / "test")
    (tmp_path / "train" / "left" / "broken.png").write_bytes(b"not a png")
    _fails(tmp_path, "E375", "broken.png")


def test_a_folder_without_classes_and_an_unknown_test_class(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    make_folder(tmp_path / "test")
    _fails(tmp_path, "E370", "subfolder")
    make_folder(tmp_path / "train2")
    (tmp_path / "train").rmdir()
    (tmp_path / "train2").rename(tmp_path / "train")
    (tmp_path / "test" / "up").mkdir()
    _draw(tmp_path / "test" / "up" / "u.png", "left", np.random.default_rng(0))
    _fails(tmp_path, "E371", "`up`")


def test_without_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_folder(tmp_path / "train", 2)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(minidl.data.DataError) as caught:
        minidl.data.read_image_folder(tmp_path / "train")
    assert caught.value.code == "E376" and "minidl[images]" in caught.value.message


def test_predict_wants_images(trained: tuple[Path, Path]) -> None:
    base, run = trained
    table = base / "rows.csv"
    table.write_text("a,b\n1,2\n", encoding="utf-8")
    result = minidl_cli(run, "--predict", table)
    assert result.returncode == 2 and "error[E378]" in result.stderr, result.stderr


def test_shapes_example_generator(tmp_path: Path) -> None:
    """specs/data/make_shapes.py writes what specs/shapes.mdl reads (same files)."""
    script = Path(__file__).parents[1] / "specs" / "data" / "make_shapes.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--train", "2", "--test", "1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    shipped = script.parent / "shapes" / "train" / "circle" / "circle_000.png"
    assert (tmp_path / "train" / "circle" / "circle_000.png").read_bytes() == shipped.read_bytes()
    pixels = minidl.data.read_image_folder(tmp_path / "train").pixels
    assert pixels.shape == (6, 1, 16, 16) and 0 <= float(pixels.min()) <= float(pixels.max()) <= 1
    assert pixels.dtype == torch.float64
