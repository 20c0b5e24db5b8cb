"""The compiler and the command line, run as a user would (in a subprocess) and in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minidl import compile_spec
from minidl.compile import main
from minidl.lang import Spec, parse, parse_file
from minidl.runs.run_folder import load_weights

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))
SEED = ROOT / "specs" / "seed.mdl"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "minidl.compile", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def test_summary() -> None:
    result = cli(str(SEED))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("seed.mdl: 8 stages, 1,401 parameters")
    assert lines[1].split() == ["#", "stage", "output", "parameters"]
    assert lines[2].split() == ["1", "Linear", "2->25", "25", "75"]
    assert lines[9].split() == ["8", "Tanh", "1", "0"]
    assert lines[10].split() == ["total", "1,401"]


def test_summary_does_not_import_torch() -> None:
    code = (
        "import sys; from minidl.compile import main; "
        f"assert main([{str(SEED)!r}]) == 0; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_train_writes_a_complete_run_folder(tmp_path: Path) -> None:
    result = cli(str(SEED), "--train", "--set", "train.epochs=3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("seed-") and folder.name.endswith("Z")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "boundary.png",
        "curves.png",
        "data.json",
        "history.csv",
        "metrics.json",
        "spec.mdl",
        "weights.safetensors",
    ]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 3
    assert metrics["seed"] == 0 and set(metrics["versions"]) == {"minidl", "torch", "python"}
    final = metrics["final"]
    assert f"train error {final['train_error']:.2f} %" in result.stdout
    assert f"test error {final['test_error']:.2f} %" in result.stdout
    assert str(folder) in result.stdout
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,train_loss,test_loss,train_error,test_error"
    assert len(history) == 4
    resolved = parse_file(folder / "spec.mdl")
    assert resolved.train.epochs == 3 and resolved == parse(SEED.read_text()).model_copy(
        update={"train": resolved.train}
    )
    weights = load_weights(folder / "weights.safetensors")
    assert weights["0.weight"].shape == (25, 2) and weights["6.bias"].shape == (1,)
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    again = cli(str(SEED), "--train", "--quiet", "--set", "train.epochs=1", "--out", str(tmp_path))
    assert again.returncode == 0 and len(list(tmp_path.iterdir())) == 2  # never overwritten


def test_set_overrides_and_their_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SEED), "--set", "lr=0.01", "--set", "train.seed=4", "--emit", "fmt"]) == 0
    text = capsys.readouterr().out
    assert "sgd lr=0.01 batch=16" in text and "seed=4" in text
    assert main([str(SEED), "--set", "sgd.lrate=0.1"]) == 2
    err = capsys.readouterr().err
    assert (
        "--set:1:1: error[E220]: unknown key `sgd.lrate`" in err and "did you mean `sgd.lr`?" in err
    )
    assert main([str(SEED), "--set", "sgd.lr=-1"]) == 2
    assert "error[E222]: `sgd.lr` must be greater than 0, got -1" in capsys.readouterr().err
    assert main([str(SEED), "--set", "sgd.lr"]) == 2
    assert "error[E230]" in capsys.readouterr().err
    assert main([str(SEED), "--set", "sgd.lr=="]) == 2
    assert "error[E100]" in capsys.readouterr().err
    assert main([str(SEED), "--set", "sweep.batch=[4, 8]", "--set", "sweep.runs=3"]) == 0
    assert "sweep sgd.batch=[4, 8] runs=3: 2 cells, 6 runs" in capsys.readouterr().out


def test_emit_forms(capsys: pytest.CaptureFixture[str]) -> None:
    spec = parse_file(SEED)
    assert main([str(SEED), "--emit", "fmt"]) == 0
    assert parse(capsys.readouterr().out) == spec
    assert main([str(SEED), "--emit", "ir"]) == 0
    assert Spec.model_validate_json(capsys.readouterr().out) == spec
    assert main([str(SEED), "--emit", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Spec" and "network" in schema["properties"]


@pytest.mark.parametrize("name", ["seed", "csv", "digits_conv", "shapes"])
def test_emit_python_trains_the_same(name: str, tmp_path: Path) -> None:
    args = [str(ROOT / "specs" / f"{name}.mdl"), "--set", "train.epochs=4", "--set", "train.seed=3"]
    script = cli(*args, "--emit", "python")
    assert script.returncode == 0, script.stderr
    (tmp_path / "train.py").write_text(script.stdout)
    emitted = subprocess.run([sys.executable, str(tmp_path / "train.py")], capture_output=True,
                             text=True, check=True, cwd=tmp_path)  # fmt: skip
    trained = cli(*args, "--train", "--quiet", "--out", str(tmp_path / "runs"))
    line = emitted.stdout.strip().splitlines()[-1]
    assert line.startswith("train error")
    errors = line.split("  loss")[0]
    assert errors.split() == trained.stdout.splitlines()[0].split()


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_compiles_and_trains_two_epochs(path: Path, tmp_path: Path) -> None:
    sets = ["--set", "train.epochs=2"]
    if "warmup=" in path.read_text():  # a warm-up longer than two epochs is E136
        sets += ["--set", "schedule.warmup=1"]
    if "sweep" in path.read_text():
        sets += ["--set", "sweep.runs=2"]
    result = cli(str(path), "--train", "--quiet", *sets, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    assert (
        "train error" in result.stdout
        or "Train Error (%)" in result.stdout
        or (
            "train rmse" in result.stdout  # v3: a spec that predicts numbers
        )
    )


def test_backends_agree_after_one_epoch_in_float64() -> None:
    text = SEED.read_text() + "train epochs=1 dtype=float64;\n"
    text = text.replace("train epochs=100 seed=0;\n", "")
    minidl_program = compile_spec(parse(text))
    torch_program = compile_spec(
        parse(text.replace("dtype=float64", "dtype=float64 backend=torch"))
    )
    for (a, _), (b, _) in zip(
        minidl_program.model.param(), torch_program.model.param(), strict=True
    ):
        assert torch.equal(a, b)  # the very same initial weights
    minidl_history = minidl_program.fit()
    torch_history = torch_program.fit()
    for (a, _), (b, _) in zip(
        minidl_program.model.param(), torch_program.model.param(), strict=True
    ):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0)
    assert minidl_history[0].test_error == torch_history[0].test_error


def test_program_surface() -> None:
    program = compile_spec(
        parse("Linear 2->3 | Tanh | Linear 3->1; train epochs=2; data disk train=40 test=10")
    )
    assert repr(program.model).startswith("Sequential(")
    assert program.loss.reduction == "sum" and program.optimizer.lr == 0.001
    train, test = program.data
    assert train.inputs.shape == (40, 2) and test is not None and test.inputs.shape == (10, 2)
    assert len(program.fit()) == 2


BAD_FILES = {
    "missing": (None, "no such file"),
    "directory": ("dir", "not a run folder"),  # a folder is read as a run folder
    "latin1.mdl": (b"Linear 2->1 # caf\xe9\n", "is not UTF-8"),
    "binary.mdl": (b"\x7fELF\x00\x01\x02", "is a binary file"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_spec_files(name: str, tmp_path: Path) -> None:
    content, message = BAD_FILES[name]
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = cli(str(path))
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.startswith("minidl: error: ") and len(result.stderr.splitlines()) == 1


def test_empty_spec_file_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "empty.mdl").write_text("")
    result = cli(str(tmp_path / "empty.mdl"))
    assert (
        result.returncode == 2 and "empty.mdl:1:1: error[E104]: the spec is empty" in result.stderr
    )


def test_bad_options(tmp_path: Path) -> None:
    unknown = cli(str(SEED), "--emit", "yaml")
    assert unknown.returncode == 2 and "invalid choice: 'yaml'" in unknown.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = cli(str(SEED), "--train", "--out", str(blocker))
    assert out.returncode == 2 and "is a file, not a folder" in out.stderr
    for result in (unknown, out):
        no_traceback(result)


def test_help_reads_well() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for word in ("--train", "--set KEY=VALUE", "--emit", "--out", "--quiet", "exit codes"):
        assert word in result.stdout


def test_divergence_exits_1_and_keeps_history(tmp_path: Path) -> None:
    # No Tanh at the end: its output is bounded, so the seed network saturates, not diverges.
    spec = tmp_path / "blowup.mdl"
    spec.write_text("Linear 2->25 | ReLU | Linear 25->1; sgd lr=1e6; train epochs=3")
    result = cli(str(spec), "--train", "--out", str(tmp_path / "runs"))
    assert result.returncode == 1, result.stderr
    no_traceback(result)
    assert "training diverged at epoch 1, step" in result.stderr
    assert "smaller learning rate" in result.stderr and "--set sgd.lr=100000" in result.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert json.loads((folder / "metrics.json").read_text())["status"] == "diverged"
    assert (folder / "history.csv").exists() and (folder / "weights.safetensors").exists()


CSV_FAULTS = {
    "missing file": (None, "E301", "no such file"),
    "missing column": ("a,b,y\n1,2,0\n", "E302", ":1:1: error[E302]: no column named `label`"),
    # v3 gives a text cell (a category) and `nan` (a missing cell) a meaning: test_tables.py
    "ragged": ("a,b,label\n1,2,0\n1,2\n", "E304", ":3:1: error[E304]: line 3 has 2 cells"),
    "empty": ("", "E305", ":1:1: error[E305]: the file is empty"),
    "header only": ("a,b,label\n", "E306", "has a header but no data"),
    "no features": ("label\n0\n1\n", "E308", ":1:1: error[E308]: the file has no feature"),
    "inf": ("a,b,label\n1,2,0\ninf,1,1\n", "E307", ":3:1: error[E307]: `inf` is not a finite"),
    "bad class": ("a,b,label\n1,2,0\n\n1,2,7\n3,4,5\n", "E316", "2 outputs, but `label` has 3"),
}


@pytest.mark.parametrize("fault", CSV_FAULTS)
def test_csv_faults(fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, code, message = CSV_FAULTS[fault]
    if content is not None:
        (tmp_path / "d.csv").write_text(content)
    outputs = 2 if fault == "bad class" else 1
    spec = tmp_path / "s.mdl"
    spec.write_text(f'Linear ->4 | Linear ->{outputs}; data csv train="d.csv" target=label')
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and message in err, err
    blamed = "s.mdl" if code == "E316" else "d.csv"  # too few outputs is the spec's mistake
    assert str(tmp_path / blamed) in err and "Traceback" not in err


def test_csv_features_are_checked_against_the_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_text("a,b,c,label\n1,2,3,0\n4,5,6,1\n")
    spec = tmp_path / "s.mdl"
    spec.write_text('Linear 2->4 | Linear ->1;\ndata csv train="d.csv" target=label;\n')
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "s.mdl:1:1: error[E202]: Linear expects 2 inputs, but the data has 3 features" in err
    assert "  1 | Linear 2->4 | Linear ->1;" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_a_diagnostic(tmp_path: Path) -> None:
    result = cli(str(SEED), "--train", "--set", "train.device=cuda", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "seed.mdl:6:1: error[E150]: device=cuda, but torch sees no CUDA device" in result.stderr
    assert "Traceback" not in result.stderr and not any(tmp_path.iterdir())


def test_mse_on_one_output_needs_two_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract: with one output, MSE (as BCE) needs a target of two labels; a target of
    more labels is E315, whose help points at L1 and Huber for regression. (v3: a numeric
    target of more values is regression; text labels are classes.)"""
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,p\n3,4,q\n5,6,r\n")
    spec = tmp_path / "s.mdl"
    spec.write_text('Linear ->4 | Linear ->1; data csv train="d.csv" target=y')
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "error[E315]" in err and "`loss L1`" in err
    spec.write_text(
        'Linear ->4 | Linear ->1; loss L1; train epochs=1; data csv train="d.csv" target=y'
    )
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.5\n")
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 0


def test_the_summary_counts_numeric_classes_by_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`2` and `2.0` are one class, and 2 sorts before 10, as training sees them."""
    (tmp_path / "d.csv").write_text("a,y\n1,10\n2,2\n3,2.0\n4,10\n")
    spec = tmp_path / "s.mdl"
    spec.write_text('Linear ->3 | Linear ->2; loss CrossEntropy; data csv train="d.csv" target=y')
    assert main([str(spec)]) == 0
    assert "2 distinct targets: 2 2, 10 2" in capsys.readouterr().out
