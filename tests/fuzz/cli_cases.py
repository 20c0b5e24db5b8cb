"""Command-line inputs for fuzzing: specs from the grammar, mutated example specs, and
random `--set` arguments. Shared by tests/test_reliability.py (CI) and tests/fuzz/run.py."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from minidl.lang.parser import grammar_text

ROOT = Path(__file__).parents[2]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))
WORDS = [
    "Linear",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "relu",
    "hidden",
    "loss",
    "MSE",
    "sgd",
    "lr",
    "batch",
    "momentum",
    "train",
    "epochs",
    "seed",
    "backend",
    "torch",
    "data",
    "disk",
    "csv",
    "target",
    "sweep",
    "runs",
    "sum",
    "mean",
    "true",
    "false",
    "x",
]
EXPLICIT = {
    "NAME": st.sampled_from(WORDS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    "INT": st.integers(-3, 40).map(str) | st.sampled_from(["0", "99999999999999999999"]),
    "FLOAT": st.sampled_from(["0.001", "1e-3", "-0.5", "1e999", ".5", "2.", "-0.0"]),
    "STRING": st.sampled_from(['"a.csv"', '"x\\"y"', '""', '"\\\\"']),
    "SHAPE": st.tuples(st.none() | st.integers(-1, 30), st.integers(-1, 2_000_000)).map(
        lambda t: f"{'' if t[0] is None else t[0]}->{t[1]}"
    ),
}
TOKENS = [
    "Linear",
    "ReLU",
    "|",
    ";",
    "->",
    "(",
    ")",
    "*",
    "+",
    "&",
    "=",
    "[",
    "]",
    ",",
    "let",
    "2",
    "-1",
    "0.5",
    '"',
    "#",
    "\n",
    "sgd",
    "lr",
    "sweep",
    "é",
    "\x00",
    "1e999",
    "->25",
]
KEYS = [
    "sgd.lr",
    "lr",
    "batch",
    "sgd.batch",
    "sgd.momentum",
    "train.epochs",
    "train.seed",
    "train.backend",
    "train.device",
    "train.dtype",
    "loss.reduction",
    "data.train",
    "data.radius",
    "sweep.runs",
    "sweep.batch",
    "sweep.lr",
    "bogus",
    "sgd",
    "",
    "sgd.lr.x",
]
VALUES = [
    "0.1",
    "-1",
    "0",
    "16",
    "abc",
    "true",
    "[4, 8]",
    "[]",
    "1e999",
    '"x"',
    "torch",
    "mean",
    "=",
    "[",
    "float64",
    "cuda",
    "99999999999999999999",
]


def grammar_specs() -> st.SearchStrategy[str]:
    return from_lark(
        Lark(grammar_text(), start="spec", parser="lalr"), start="spec", explicit=EXPLICIT
    )


def mutate(text: str, rng: random.Random, edits: int) -> str:
    """`edits` random character and token insertions, deletions and swaps."""
    for _ in range(edits):
        at = rng.randrange(len(text) + 1)
        action = rng.choice(["insert", "delete", "swap", "token"])
        if action == "insert":
            text = text[:at] + chr(rng.randrange(32, 0x250)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + rng.randint(1, 5) :]
        elif action == "swap" and 0 < at < len(text):
            text = text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]
        else:
            text = text[:at] + rng.choice(TOKENS) + text[at:]
    return text


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(SPECS))
    rng = draw(st.randoms(use_true_random=False))
    return mutate(path.read_text(), rng, draw(st.integers(0, 6)))


def settings_args() -> st.SearchStrategy[list[str]]:
    one = st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)).map(
        lambda kv: f"{kv[0]}={kv[1]}"
    )
    return st.lists(one | st.text(max_size=12), max_size=3)


def cli_cases() -> st.SearchStrategy[tuple[str, list[str], list[str]]]:
    """(spec text, --set arguments, other options) for an in-process `main` call."""
    options = st.sampled_from(
        [[], ["--emit", "fmt"], ["--emit", "ir"], ["--emit", "python"], TRAIN, TRAIN]
    )
    return st.tuples(grammar_specs() | mutated_specs(), settings_args(), options)


TRAIN = [
    "--train",
    "--quiet",
    "--jobs=1",
    "--set=train.epochs=1",
    "--set=data.train=64",
    f"--out={Path(tempfile.gettempdir()) / 'minidl-fuzz-runs'}",
]
"""Training too, kept small: one epoch on 64 points (a CSV spec refuses `data.train=64`)."""
