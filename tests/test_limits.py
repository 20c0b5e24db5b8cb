"""Specs and settings at the limits (issue 26): huge literals, thousands of errors, networks
too large for memory, very deep networks, values the dtype cannot hold."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torch

from minidl import compile_spec
from minidl.cli.main import main
from minidl.lang import Diagnoser, SpecError, diagnose, parse
from minidl.lang.errors import MAX_SHOWN, Diagnostic
from minidl.lang.memory import MAX_MEMORY_BYTES, estimate_bytes
from minidl.lang.shapes import resolve
from minidl.nn.flat import FlatParameters

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"
SMALL = "Linear 2->4 | ReLU | Linear ->1;\nloss MSE;\nsgd lr=0.1 batch={batch};\n"


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


# -- integer literals too long for any field (E170) ------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        (SMALL.format(batch="9" * 100_000), 100_000),
        ("Linear 2->" + "9" * 5000 + " | Linear ->1;", 5000),
        ("(Linear ->4) * " + "1" * 5000 + " | Linear ->1;", 5000),
        (SMALL.format(batch=16) + "sweep sgd.batch=[1, " + "9" * 4400 + "];", 4400),
    ],
    ids=["batch", "width", "repeat", "in-a-list"],
)
def test_an_integer_too_long_is_a_diagnostic_at_the_literal(text: str, digits: int) -> None:
    with pytest.raises(SpecError) as caught:
        parse(text, "big.mdl")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E170" and f"{digits:,} digits" in diagnostic.message
    start = text.index("9" * 50) if "9" * 50 in text else text.index("1" * 50)
    line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert (diagnostic.end_line, diagnostic.end_column) == (line, column + digits)
    # The editor's incremental path says the same.
    (again,) = Diagnoser("big.mdl").diagnose(text)[1]
    assert again == diagnostic


def test_an_integer_too_long_in_set_is_a_diagnostic() -> None:
    code, out, err = run(SEED, "--set", "sgd.lr=" + "9" * 5000, "--set", "sgd.batch=" + "9" * 31)
    assert code == 2 and not out and "Traceback" not in err
    assert err.count("error[E170]") == 2 and "--set:1:8:" in err and "--set:1:11:" in err


def test_thirty_digits_go_on_to_the_range_check() -> None:
    with pytest.raises(SpecError) as caught:
        parse(SMALL.format(batch="9" * 30))
    assert [d.code for d in caught.value.diagnostics] == ["E132"]


# -- thousands of errors ---------------------------------------------------------------


def many_errors(count: int) -> str:
    lines = [f"bogus{i} x=1;" for i in range(count)]
    return "Linear 2->4 | ReLU | Linear ->1;\nloss MSE;\n" + "\n".join(lines)


def test_ten_thousand_errors_are_all_found_and_the_first_few_hundred_shown() -> None:
    spec, diagnostics = diagnose(many_errors(10_000), "many.mdl")
    assert spec is None and len(diagnostics) == 10_000
    shown = SpecError(diagnostics, many_errors(10_000)).render()
    assert shown.count("error[E120]") == MAX_SHOWN
    assert shown.endswith(f"... and {10_000 - MAX_SHOWN:,} more, not shown: fix these first")


def test_recording_errors_is_not_quadratic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new error used to be compared with every earlier one (10,000 errors: 50 million
    comparisons, 40 s); now with a set. Counted, not timed."""
    compared = [0]
    equal = Diagnostic.__eq__

    def counting(self: Diagnostic, other: object) -> bool:
        compared[0] += 1
        return equal(self, other)

    monkeypatch.setattr(Diagnostic, "__eq__", counting)
    assert len(diagnose(many_errors(2000))[1]) == 2000
    assert compared[0] < 20_000


def test_the_same_error_twice_is_reported_once() -> None:
    text = "Linear 2->4 | Linear 4->1;\nloss MSE;\nloss MSE;\nloss MSE;"
    codes = [d.code for d in diagnose(text)[1]]
    assert codes.count("E121") == len(set(d for d in diagnose(text)[1] if d.code == "E121"))


# -- memory, estimated before any tensor exists (E171) --------------------------------


def test_the_estimate_counts_parameters_and_activations_by_hand() -> None:
    spec = parse(
        "Linear 2->10 | ReLU | Linear ->1;\nloss MSE;\nsgd batch=8;\ndata disk train=100 test=50;"
    )
    resolution = resolve(spec, 2, 1)
    parameters = 2 * 10 + 10 + 10 + 1
    widths = 2 + 10 + 10 + 1
    expected = 4 * (4 * parameters + max(8 * widths * 2, 100 * widths))
    assert estimate_bytes(spec, resolution, 2, 100) == expected


def test_a_network_too_large_for_memory_is_refused_before_training(tmp_path: Path) -> None:
    rows = "\n".join(f"{i / 10},{i % 3},{i % 2}" for i in range(40))
    (tmp_path / "d.csv").write_text("a,b,y\n" + rows + "\n")
    spec = tmp_path / "wide.mdl"
    spec.write_text(
        "Linear ->1000000 | ReLU | Linear ->1000000 | ReLU | Linear ->1;\nloss MSE;\n"
        'sgd batch=4;\ndata csv train="d.csv" target=y;\n'
    )
    code, _, err = run(spec, "--train", "--quiet", "--out", tmp_path / "runs")
    assert code == 2 and "error[E114]" in err  # the parameter limit speaks first
    spec.write_text(
        "Linear ->1000000 | ReLU | Linear ->1;\nloss MSE;\n"
        'sgd batch=4;\ndata csv train="d.csv" target=y;\n'
    )
    code, _, err = run(
        spec, "--train", "--quiet", "--out", tmp_path / "runs", "--set", "sgd.batch=1000000"
    )
    assert code == 2 and "error[E171]" in err and "over the limit of 8.0 GiB" in err, err
    assert "Traceback" not in err and not list((tmp_path / "runs").iterdir())
    with pytest.raises(SpecError, match="E171"):
        compile_spec(parse(spec.read_text().replace("batch=4", "batch=1000000"), str(spec)))
    assert MAX_MEMORY_BYTES == 8 << 30


# -- deep networks: binding 20,000 layers is linear ----------------------------------------


def test_binding_a_deep_network_part_by_part_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """`FlatParameters.part` summed the sizes of every earlier parameter: a repetition of
    10,000 Linear layers spent minutes binding. Counted, not timed."""
    pairs = [(torch.zeros(3), torch.zeros(3)) for _ in range(4000)]
    flat = FlatParameters(pairs)
    counted = [0]
    numel = torch.Tensor.numel

    def counting(self: torch.Tensor) -> int:
        counted[0] += 1
        return numel(self)

    monkeypatch.setattr(torch.Tensor, "numel", counting)
    parts = [flat.part(i, i + 1) for i in range(len(pairs))]
    assert counted[0] < 3 * len(pairs)
    assert all(p.values.data_ptr() == flat.values[3 * i :].data_ptr() for i, p in enumerate(parts))
    assert flat.part(3990, 5000).values.numel() == 30


def test_a_ten_thousand_layer_repetition_trains(tmp_path: Path) -> None:
    rows = "\n".join(f"{i / 10},{i % 3},{i % 5},{i % 2}" for i in range(8))
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + rows + "\n")
    spec = tmp_path / "deep.mdl"
    spec.write_text(
        "(Linear ->2 | ReLU) * 10000 | Linear ->1;\nloss MSE;\nsgd lr=0.01 batch=4;\n"
        'train epochs=1;\ndata csv train="d.csv" target=y;\n'
    )
    code, out, err = run(spec, "--train", "--quiet", "--out", tmp_path / "runs")
    assert code == 0, err
    assert "train error" in out


# -- values the dtype cannot hold (E172) ----------------------------------------------------


@pytest.mark.parametrize("backend", ["minidl", "torch"])
def test_lr_that_overflows_float32_is_a_diagnostic_at_lr(backend: str, tmp_path: Path) -> None:
    code, _, err = run(
        SEED,
        "--train",
        "--quiet",
        "--out",
        tmp_path,
        "--set",
        f"train.backend={backend}",
        "--set",
        "sgd.lr=1e308",
    )
    assert code == 2 and "error[E172]" in err and "sgd.lr=1e308" in err, err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def test_lr_that_fits_but_explodes_diverges_on_both_backends(tmp_path: Path) -> None:
    for backend in ("minidl", "torch"):
        code, _, err = run(
            SEED,
            "--train",
            "--quiet",
            "--out",
            tmp_path,
            "--set",
            f"train.backend={backend}",
            "--set",
            "sgd.lr=1e38",
            "--set",
            "data.train=64",
            "--set",
            "train.epochs=2",
        )
        assert code == 1 and "diverged" in err and "Traceback" not in err, err


def test_float64_holds_what_float32_cannot() -> None:
    text = SEED.read_text().replace("lr=0.001", "lr=1e300")
    with pytest.raises(SpecError, match="E172"):
        parse(text)
    assert parse(text.replace("seed=0", "seed=0 dtype=float64")).optimizer.lr == 1e300
