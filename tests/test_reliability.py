"""Reliability: command-line fuzzing, Ctrl-C, crashes during saves, safe loading, limits,
and a fresh non-editable install."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from cli_cases import cli_cases
from hypothesis import given, settings

import minidl
from minidl.compile import main
from minidl.lang import SpecError, parse
from minidl.runs.run_folder import load_weights, remove_stale_temporaries

ROOT = Path(__file__).parents[1]
SEED = ROOT / "specs" / "seed.mdl"


@settings(max_examples=2000)
@given(cli_cases())
def test_fuzz_the_command_line(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, list[str], list[str]]
) -> None:
    text, sets, options = case
    spec = tmp_path_factory.getbasetemp() / "fuzz.mdl"
    spec.write_text(text, encoding="utf-8", errors="surrogatepass")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([str(spec), *[f"--set={s}" for s in sets], *options])
    assert code in ((0, 1, 2) if "--train" in options else (0, 2))  # 1: training diverged
    assert "Traceback" not in err.getvalue()


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "minidl.compile", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(condition: object, limit: float = 600) -> None:
    assert callable(condition)
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)


def interrupt(process: subprocess.Popen[str]) -> tuple[int, str, str, float]:
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)  # a hang guard: minutes, for a loaded machine
    return process.returncode, out, err, time.monotonic() - sent


def test_ctrl_c_during_training_keeps_history_and_weights(tmp_path: Path) -> None:
    process = start(
        str(SEED),
        "--train",
        "--set",
        "train.epochs=100000",
        "--set",
        "data.train=200",
        "--out",
        str(tmp_path),
    )
    wait_for(lambda: any(tmp_path.iterdir()))
    # An epoch is complete once a checkpoint exists (a busy machine may take seconds).
    wait_for(lambda: any((f / "checkpoint.safetensors").exists() for f in tmp_path.iterdir()))
    code, _, err, seconds = interrupt(process)
    print(f"exit {code} {seconds:.2f} s after SIGINT")
    assert code == 130, err
    assert "Traceback" not in err and "interrupted after" in err
    (folder,) = tmp_path.iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["epochs_completed"] >= 1
    history = (folder / "history.csv").read_text().splitlines()
    assert len(history) == metrics["epochs_completed"] + 1
    weights = load_weights(folder / "weights.safetensors")
    assert weights["0.weight"].shape == (25, 2)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files


def test_ctrl_c_during_a_sweep(tmp_path: Path) -> None:
    process = start(
        str(ROOT / "specs" / "table1.mdl"),
        "--train",
        "--quiet",
        "--set",
        "train.epochs=5000",
        "--out",
        str(tmp_path),
    )
    wait_for(lambda: any(tmp_path.iterdir()))
    time.sleep(1.0)
    code, _, err, seconds = interrupt(process)
    print(f"exit {code} {seconds:.2f} s after SIGINT")
    assert code == 130, err
    assert "Traceback" not in err and "interrupted" in err
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "results.json").read_text())["status"] == "interrupted"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


WRITER = """
import sys
from pathlib import Path
from minidl.runs.run_folder import write_atomic
target = Path(sys.argv[1])
blobs = [bytes([i]) * 8_000_000 for i in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    write_atomic(target, blobs[i % 2])
    i += 1
"""


def test_a_process_killed_mid_save_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "weights.bin"
    target.write_bytes(bytes([1]) * 8_000_000)
    whole = {hashlib.sha256(bytes([i]) * 8_000_000).hexdigest() for i in (1, 2)}
    for delay in (0.05, 0.13, 0.31, 0.47, 0.71):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE
        )
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        process.kill()
        process.wait()
        assert hashlib.sha256(target.read_bytes()).hexdigest() in whole
    # A killed writer may leave its hidden temporary (SIGKILL cannot be caught), never a
    # file under another name; resuming removes them.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "weights.bin"]
    assert all(name.startswith(".weights.bin.") for name in leftovers), leftovers
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(leftovers)
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_nothing_in_the_load_paths_can_execute_code() -> None:
    forbidden_calls = {"eval", "exec", "compile", "__import__"}
    forbidden_modules = {"pickle", "cPickle", "dill", "marshal", "shelve"}
    for path in sorted(Path(minidl.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden_calls, (path, node.lineno)
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = {a.name.split(".")[0] for a in node.names}
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module.split(".")[0])
                assert not names & forbidden_modules, (path, node.lineno)
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("load", "loads") or not (
                    isinstance(node.value, ast.Name)
                    and node.value.id in ("torch", "pickle", "yaml")
                ), (path, node.lineno)


def test_too_many_parameters_is_refused_without_allocating() -> None:
    text = "Linear 2->1000000 | Linear ->1000000 | Linear ->1"
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        parse(text)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"refused in {seconds * 1e3:.1f} ms, peak Python allocation {peak / 1e6:.2f} MB")
    assert [d.code for d in caught.value.diagnostics] == ["E114"]
    assert peak < 5_000_000  # a 10^12-parameter model would need 4 TB


def test_a_one_mebibyte_spec_is_parsed_or_refused() -> None:
    accepted = "Linear 2->1 | " + "Sigmoid | " * 99_990 + "Tanh"
    refused = "Linear 2->1 | (" + "Tanh | " * 149_000 + "Tanh)"
    for text, codes in ((accepted, []), (refused, ["E115"])):
        assert len(text.encode()) <= 1 << 20
        started = time.perf_counter()
        try:
            parse(text)
            found = []
        except SpecError as caught:
            found = [d.code for d in caught.diagnostics]
        print(
            f"{len(text):,} bytes, {text.count('|') + 1:,} stages: {found or 'parsed'} "
            f"in {time.perf_counter() - started:.2f} s"
        )
        assert found == codes


@pytest.mark.slow
def test_fresh_install_from_the_wheel(tmp_path: Path) -> None:
    """Build the wheel, install it (not editable) into a new environment, run it elsewhere."""
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    (wheel,) = dist.glob("minidl-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0", str(wheel)], check=True)
    elsewhere.mkdir()
    (elsewhere / "seed.mdl").write_text(SEED.read_text())
    result = subprocess.run(
        [str(venv / "bin" / "minidl"), "seed.mdl"], cwd=elsewhere, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "8 stages, 1,401 parameters" in result.stdout
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import minidl.lang.parser as p; print(p.__file__); p.parser()",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout
    trained = subprocess.run(
        [str(venv / "bin" / "minidl"), "seed.mdl", "--train", "--quiet", "--set", "train.epochs=2"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr
