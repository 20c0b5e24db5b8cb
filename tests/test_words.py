"""Every word of the language has what stands behind it, and a new word needs one entry.

The language (`minidl.lang`) describes each word once; the compiler maps each IR kind to
its minidl object and torch twin (`minidl.compiler.words`). These tests fail when a word
lacks either side.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from minidl.compiler import words as compiler
from minidl.lang import registry
from minidl.lang.statement_words import LOSSES, OPTIMIZERS


def test_every_layer_word_has_a_module_and_a_torch_twin() -> None:
    assert set(registry.LAYERS) == set(compiler.LAYERS)


def test_every_loss_and_optimiser_has_its_objects() -> None:
    assert set(LOSSES) == set(compiler.LOSSES)
    assert set(OPTIMIZERS) == set(compiler.OPTIMIZERS)


def test_every_word_has_a_meaning_and_every_option_one() -> None:
    models = [*registry.LAYERS.values(), *LOSSES.values(), *OPTIMIZERS.values()]
    for statement in registry.STATEMENTS.values():
        models.extend(statement.variants.values())
    for model in models:
        assert registry.doc(model), model
        for name in registry.option_names(model):
            assert registry.option_description(model, name), f"{model.__name__}.{name}"


TOY = """
import torch
from minidl.lang import ir
from minidl.lang.layer_words import LAYERS, LayerWord
from typing import Literal

# The language side: one entry, registered where it is defined.
@LAYERS.register
class Swish(LayerWord):
    \"\"\"x * sigmoid(beta x), element-wise.\"\"\"
    kind: Literal["Swish"] = "Swish"
    beta: float = 1.0

# The framework side: its module.
from minidl.nn import Module
class SwishModule(Module):
    def __init__(self, beta):
        self.beta = beta
    def forward(self, x):
        self.x, self.s = x, torch.sigmoid(self.beta * x)
        return x * self.s
    def backward(self, g):
        s = self.s
        return g * (s + self.beta * self.x * s * (1 - s))

# The compiler side: one line.
from minidl.compiler import words
words.LAYERS["Swish"] = words.LayerEntry(
    lambda w, b: SwishModule(w.beta), lambda m: torch.nn.SiLU(), "Swish()"
)

from minidl.lang import parse, format_spec, format_text
from minidl.lang.summary import summarize
from minidl import compile_spec

text = "Linear 2->8 | Swish beta=2.0 | Linear ->1; train epochs=1; data disk train=64 test=32"
spec = parse(text)
assert parse(format_spec(spec)) == spec
assert "Swish beta=2.0" in format_text(text)
summary = summarize(spec, "toy")
assert "Swish beta=2.0" in summary, summary
program = compile_spec(spec)
history = program.fit()
assert len(history) == 1 and history[0].loss == history[0].loss

# Inside a join (issue 20: `Join` was not rebuilt and this raised a raw ValidationError).
joined = parse("Linear 2->8 | (Swish + Identity) | Linear ->1; train epochs=1; data disk")
assert parse(format_spec(joined)) == joined
assert len(compile_spec(joined).fit()) == 1

# On images: the word keeps the shape it receives.
images = parse(
    "Conv2d ->4 kernel=3 | Swish | (Swish & Identity) | Flatten | Linear ->10; "
    "loss CrossEntropy; train epochs=1; "
    f"data csv train={DIGITS!r} target=digit shape=[1, 8, 8]".replace("'", '"')
)
shown = summarize(images, "images")
assert "Swish" in shown and "8x6x6" in shown and "4x6x6" in shown, shown
assert len(compile_spec(images).fit()) == 1
print("ok", summary.splitlines()[0])
"""


def test_a_toy_word_end_to_end() -> None:
    """A word made of one language entry and one compiler line parses, checks, prints,
    formats, compiles and trains, in a fresh interpreter (entries are read at import), also
    inside a join and on images."""
    digits = Path(__file__).parents[1] / "specs" / "data" / "digits_train.csv"
    script = f"DIGITS = {str(digits)!r}\n" + textwrap.dedent(TOY)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok toy: 3 stages, 33 parameters")


def test_the_docs_tables_are_the_entries() -> None:
    """docs/LANGUAGE.md holds exactly the tables the entries give (regenerate them with
    `python -m minidl.lang.word_tables`)."""
    from pathlib import Path

    from minidl.lang.word_tables import BEGIN, END, word_tables

    page = (Path(__file__).parents[1] / "docs" / "LANGUAGE.md").read_text(encoding="utf-8")
    between = page.split(BEGIN, 1)[1].split(END, 1)[0]
    assert between == "\n" + word_tables()
