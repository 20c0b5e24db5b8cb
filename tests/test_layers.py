"""The import layers of the design hold, and a planted violation is caught.

`lint-imports` (import-linter, configured in pyproject.toml) checks that the framework
never imports the language, the language never the compiler, the compiler never the run
folders nor the command line; that the language never imports torch; that no package has a
cycle; and that `import minidl` (its __init__, `load` included) reaches nothing of the
command line (tests/test_layers_contract.py checks the same at run time).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT, "--config", str(folder / "pyproject.toml")],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tree")
    shutil.copytree(
        ROOT / "minidl", folder / "minidl", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", folder)
    return folder


def test_the_layers_hold(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_planted_violations_are_caught(copy: Path) -> None:
    """One planted file per contract (one lint run for all four, which is slow)."""
    planted = {
        "minidl/nn/planted.py": "import minidl.lang\n",
        "minidl/lang/planted.py": "import torch\n",
        "minidl/cli/planted.py": "import minidl.cli.main\n",
    }
    main, root = copy / "minidl/cli/main.py", copy / "minidl/__init__.py"
    saved, saved_root = main.read_text(), root.read_text()
    try:
        for name, line in planted.items():
            (copy / name).write_text(line)
        main.write_text(saved + "\nimport minidl.cli.planted  # a cycle: main -> planted -> main\n")
        root.write_text(
            saved_root + "\nimport minidl.cli.exits  # the root reaches the command line\n"
        )
        result = lint(copy)
    finally:
        for name in planted:
            (copy / name).unlink()
        main.write_text(saved)
        root.write_text(saved_root)
    assert result.returncode != 0
    for contract in (
        "command line above compiler above language above framework BROKEN",
        "the language and the language server never import torch BROKEN",
        "no import cycles between the modules of any package BROKEN",
        "import minidl loads nothing from the command line BROKEN",
    ):
        assert contract in result.stdout, result.stdout
    assert "minidl.nn.planted -> minidl.lang" in result.stdout
    assert "minidl -> minidl.cli.exits" in result.stdout
