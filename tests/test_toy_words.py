"""A new word of each kind is one record per side (issue 20): `tests/toy_words.py` defines
a toy loss, optimiser, data source, stage and ONNX form as a plug-in would, and takes them
through parse, check, summary, format, compile, one epoch against `backend=torch`, a run
folder, `--predict` and ONNX (onnxruntime against minidl's forward)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

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


def test_a_statement_word_is_seen_at_once_and_the_table_is_not_rebuilt() -> None:
    """STATEMENTS is made again only when a word table changes (the checker and the language
    server look words up in loops)."""
    from minidl.lang.registry import STATEMENTS
    from minidl.lang.statement_words import OPTIMIZERS

    assert STATEMENTS["sgd"] is STATEMENTS["sgd"]

    @OPTIMIZERS.register
    class Passing(ir.Node):
        kind: Literal["passing"] = "passing"

    try:
        assert STATEMENTS["passing"].variants == {"": Passing}
        assert STATEMENTS["passing"] is STATEMENTS["passing"]
    finally:
        del OPTIMIZERS["passing"]
    assert "passing" not in STATEMENTS


def test_a_word_without_its_compiler_record_is_named_with_the_line_that_adds_it() -> None:
    """A plug-in that registers a language word and forgets the compiler's record gets a
    message that names the word and the table, not a bare KeyError."""
    from minidl import compile_spec
    from minidl.compiler.words import MissingRecord
    from minidl.lang.layer_words import LAYERS, LayerWord

    @LAYERS.register
    class Forgotten(LayerWord):
        kind: Literal["Forgotten"] = "Forgotten"

    try:
        with pytest.raises(MissingRecord) as caught:
            compile_spec(parse("Linear 2->3 | Forgotten | Linear 3->1; loss MSE; data disk"))
    finally:
        del LAYERS["Forgotten"]
    message = str(caught.value)
    assert "the layer `Forgotten` is a word of the language with no compiler record" in message
    assert "minidl.compiler.words.LAYERS['Forgotten'] = ..." in message
