"""`import minidl` and `minidl.load` load nothing from the command line (issue 20).

Run folders live in `minidl.runs`, below the command line, so that a program embedding
minidl to load a trained run pays for neither argparse wiring nor the sweep machinery, and
`import minidl` alone stays torch-free. Each check runs in a fresh interpreter, whose
`sys.modules` holds only what that import loaded. import-linter checks the same statically
("import minidl loads nothing from the command line" in pyproject.toml; tests/test_layers.py
plants a violation of it).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from minidl.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"
SHORT = ["--set", "train.epochs=1", "--set", "data.train=200"]

CLI_MODULES = "sorted(m for m in sys.modules if m == 'minidl.cli' or m.startswith('minidl.cli.'))"


def fresh(code: str) -> dict[str, object]:
    """Run `code` in a new interpreter; it prints one JSON object, returned here."""
    result = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seed")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(
            [str(SEED), "--train", "--quiet", "--out", str(out), *SHORT],
        )
    assert code == 0, err.getvalue()
    (folder,) = out.iterdir()
    return folder


def test_import_minidl_loads_neither_torch_nor_the_command_line() -> None:
    found = fresh(
        "import minidl\n"
        f"print(json.dumps({{'cli': {CLI_MODULES}, 'torch': 'torch' in sys.modules}}))"
    )
    assert found == {"cli": [], "torch": False}


def test_load_loads_nothing_from_the_command_line(seed_run: Path) -> None:
    found = fresh(
        "import minidl\n"
        f"program = minidl.load({str(seed_run)!r})\n"
        "labels = program.predict([[0.5, 0.25], [0.9, 0.1]])\n"
        f"print(json.dumps({{'cli': {CLI_MODULES}, 'labels': labels,"
        " 'runs': 'minidl.runs.saved_run' in sys.modules}))"
    )
    assert found["cli"] == []
    assert found["runs"] is True  # the run was read through minidl.runs, not around it
    labels = found["labels"]
    assert isinstance(labels, list) and len(labels) == 2 and set(labels) <= {0, 1}


def test_a_damaged_folder_raises_the_run_folder_error_of_minidl_runs(
    seed_run: Path, tmp_path: Path
) -> None:
    """What `minidl.load`'s docstring promises: `minidl.runs.run_folder.RunFolderError`
    naming the file, still without the command line."""
    folder = tmp_path / "damaged"
    folder.mkdir()
    for path in seed_run.iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    (folder / "weights.safetensors").write_bytes(b"")
    found = fresh(
        "import minidl\n"
        "from minidl.runs.run_folder import RunFolderError\n"
        f"try:\n    minidl.load({str(folder)!r})\n"
        "except RunFolderError as error:\n    message = str(error)\n"
        f"print(json.dumps({{'cli': {CLI_MODULES}, 'message': message}}))"
    )
    assert found["cli"] == []
    assert "weights.safetensors" in str(found["message"])
