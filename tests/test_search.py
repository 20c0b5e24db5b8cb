"""Random search: `sweep KEY=uniform(A, B) ... samples=N`, its draws, its checks, its output."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from scipy import stats

from minidl.cli.main import main
from minidl.cli.sweep_grid import cells
from minidl.lang import SpecError, format_spec, parse

NETWORK = "Linear 2->8 | ReLU | Linear 8->1 | Tanh;"
SEARCH = NETWORK + "sweep lr=loguniform(1e-4, 0.1) batch=randint(4, 6) backend=[minidl, torch]"


def drawn(text: str) -> list[tuple[object, ...]]:
    return [tuple(v for _, v in c.settings) for c in cells(parse(text))]


def first_floats(text: str) -> list[float]:
    """The first key's draws, each checked to be a float."""
    values = [v[0] for v in drawn(text)]
    assert all(isinstance(v, float) for v in values)
    return [float(v) for v in values if isinstance(v, float)]


def test_the_same_spec_draws_the_same_configurations() -> None:
    first = drawn(SEARCH + " samples=50")
    assert first == drawn(SEARCH + " samples=50")
    assert len(first) == 50 and len(set(first)) == 50
    assert drawn(NETWORK + "train seed=1;" + SEARCH.removeprefix(NETWORK) + " samples=50") != first


def test_loguniform_draws_are_in_range_and_uniform_in_the_log() -> None:
    values = first_floats(NETWORK + "sweep lr=loguniform(1e-4, 0.1) samples=2000")
    assert all(1e-4 <= v < 0.1 for v in values)
    # log10 of the draws is uniform on [-4, -1): 10 equal bins, chi-square with 9 degrees of
    # freedom; 27.88 is its 0.999 quantile. A plain uniform draw puts ~90 % in the top bin.
    counts = [0] * 10
    for v in values:
        counts[min(9, int((math.log10(v) + 4) / 3 * 10))] += 1
    expected = len(values) / 10
    assert sum((c - expected) ** 2 / expected for c in counts) < 27.88
    # The draws are seeded, so this is the same test every time (scipy: the `test` extra).
    logs = [(math.log10(v) + 4) / 3 for v in values]
    assert stats.kstest(logs, "uniform").pvalue > 0.001


def test_uniform_stays_below_its_high_bound() -> None:
    values = first_floats(NETWORK + "sweep sgd.momentum=uniform(0.5, 0.9) samples=500")
    assert all(0.5 <= v < 0.9 for v in values) and max(values) > 0.85 and min(values) < 0.55


def test_randint_includes_both_ends_and_lists_draw_every_value() -> None:
    configurations = drawn(SEARCH + " samples=200")
    assert {c[1] for c in configurations} == {4, 5, 6}
    assert {c[2] for c in configurations} == {"minidl", "torch"}
    assert all(isinstance(c[1], int) for c in configurations)


def test_a_search_prints_back_and_parses_to_itself() -> None:
    spec = parse(SEARCH + " sgd.momentum=uniform(0, 0.9) samples=7 runs=2")
    text = format_spec(spec)
    assert "sgd.lr=loguniform(0.0001, 0.1) sgd.batch=randint(4, 6)" in text
    assert "samples=7 runs=2" in text
    assert parse(text) == spec


@pytest.mark.parametrize(
    ("sweep", "code"),
    [
        ("sweep lr=uniform(0.1, 1)", "E224"),
        ("sweep lr=uniform(0.1, 1) samples=0", "E132"),
        ("sweep lr=loguniform(0, 1) samples=3", "E225"),
        ("sweep lr=uniform(1, 0.1) samples=3", "E225"),
        ("sweep batch=randint(1.5, 3) samples=3", "E225"),
        ("sweep batch=randint(3, 2) samples=3", "E225"),
        ("sweep lr=gauss(0.1, 1) samples=3", "E225"),
        ("sweep batch=uniform(1, 9) samples=3", "E222"),
        ("sweep batch=randint(0, 9) samples=3", "E222"),
    ],
)
def test_bad_searches_are_diagnostics(sweep: str, code: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(NETWORK + sweep)
    assert f"error[{code}]" in str(caught.value)


def test_a_search_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "search.mdl"
    spec.write_text(NETWORK + "train epochs=2; data disk train=64 test=64;")
    search = ["--set", "sweep.lr=loguniform(1e-3, 0.5)", "--set", "sweep.batch=randint(4, 16)"]
    assert main([str(spec), "--train", *search]) == 2
    assert "error[E224]" in capsys.readouterr().err
    args = [str(spec), "--train", "--quiet", "--jobs", "2", "--out", str(tmp_path), *search]
    assert main([*args, "--set", "sweep.samples=5", "--set", "sweep.runs=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "search: 5 configurations × 2 runs, 2 epochs"
    assert out[1].split()[:3] == ["#", "sgd.lr", "sgd.batch"]
    means = [float(line.split()[-3]) for line in out[2:7]]
    assert means == sorted(means)  # best test error first
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    with (folder / "results.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["cell"] for r in rows] == ["0", "0", "1", "1", "2", "2", "3", "3", "4", "4"]
    expected = cells(
        parse(spec.read_text() + "sweep lr=loguniform(1e-3, 0.5) batch=randint(4, 16) samples=5")
    )
    assert [float(r["sgd.lr"]) for r in rows[::2]] == [c.settings[0][1] for c in expected]
    assert (folder / "sweep.png").read_bytes()[:4] == b"\x89PNG"
