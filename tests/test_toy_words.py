"""A new word of each kind is one record per side (issue 20): `tests/toy_words.py` defines
a toy loss, optimiser, data source, stage and ONNX form as a plug-in would, and takes them
through parse, check, summary, format, compile, one epoch against `backend=torch`, a run
folder, `--predict` and ONNX (onnxruntime against minidl's forward)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minidl.lang import ir, parse
from minidl.lang.statement_words import LOSSES

pytest.importorskip("onnxruntime")


def test_a_toy_word_of_each_kind_end_to_end(tmp_path: Path) -> None:
    script = Path(__file__).with_name("toy_words.py")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok toy: 5 stages, 33 parameters" in result.stdout
    assert "prediction" in (tmp_path / "p.csv").read_text()


def test_an_unknown_word_in_the_ir_json_is_named() -> None:
    """Fields look the word up when validated: an unknown one says which, and lists the known."""
    spec = parse("Linear 2->1; loss L1; data disk")
    text = spec.model_dump_json().replace('"L1"', '"Nope"')
    with pytest.raises(ValueError, match="unknown loss 'Nope': known are MSE, L1"):
        ir.Spec.model_validate_json(text)
    assert ir.Spec.model_validate_json(spec.model_dump_json()) == spec


def test_a_node_of_an_unregistered_class_is_refused() -> None:
    class Stray(ir.Node):
        name: str = "L1"

    with pytest.raises(ValueError, match="is not a known loss"):
        ir.Spec(network=(ir.Linear(out_features=1),), loss=Stray())  # type: ignore[arg-type]
    assert all(model.__name__ != "Stray" for model in LOSSES.values())
