"""`--set` values and sweep cells go through the checks the file gets: options that contradict
each other are E137, exit 2, before anything trains (they were a `ValueError` traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidl.compile import main

SEED = Path(__file__).resolve().parent.parent / "specs" / "seed.mdl"


@pytest.mark.parametrize("command", [[], ["--train", "--quiet"]])
def test_set_nesterov_without_momentum_is_e137(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(SEED), *command, "--set", "sgd.nesterov=true", "--set", "lr=0.1"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--set:1:1: error[E137]: nesterov=true needs momentum\n")
    assert "  1 | sgd.nesterov=true\n" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
    assert main([*argv, "--set", "sgd.momentum=0.9", "--emit", "fmt"]) == 0


def test_set_split_beside_a_test_file_is_e137(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_text("a,y\n0.1,0\n0.9,1\n")
    spec = tmp_path / "s.mdl"
    spec.write_text('Linear ->1;\ndata csv train="d.csv" test="d.csv" target=y;\n')
    assert main([str(spec), "--set", "data.split=0.5"]) == 2
    assert "error[E137]: give `test` or `split`, not both" in capsys.readouterr().err


def test_a_sweep_cell_without_momentum_for_nesterov_is_e137(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "s.mdl"
    spec.write_text("Linear 2->1;\ntrain epochs=2;\nsweep sgd.nesterov=[false, true];\n")
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "s.mdl:3:1: error[E137]: cell true: nesterov=true needs momentum" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_summary_refuses_the_sweep_cell_that_training_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the CLI fuzz (issue 19): the summary printed the sweep and exited 0."""
    spec = tmp_path / "s.mdl"
    spec.write_text("Linear 2->1;\ntrain epochs=2;\nsweep sgd.nesterov=[false, true];\n")
    assert main([str(spec)]) == 2
    summary = capsys.readouterr()
    assert summary.out == ""
    assert "s.mdl:3:1: error[E137]: cell true: nesterov=true needs momentum" in summary.err
    assert main([str(spec), "--train", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == summary.err
