"""The decision-boundary plot: its grid goes through the network a few rows at a time, and a
plot that fails never fails a finished run (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import minidl.cli.plots as plots
from minidl.compile import main
from minidl.nn import Linear, ReLU, Sequential

SEED = Path(__file__).resolve().parent.parent / "specs" / "seed.mdl"


def test_the_grid_goes_through_the_network_in_chunks_that_fit_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    model = Sequential([Linear(2, 1000, dtype=torch.float64), ReLU(),
                        Linear(1000, 3, dtype=torch.float64)])  # fmt: skip
    grid = torch.rand(4000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    whole = model.forward(grid)
    seen: list[int] = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x: seen.append(len(x)) or forward(x))
    monkeypatch.setattr(plots, "PLOT_BUDGET", 100_000)
    torch.testing.assert_close(plots._forward_in_chunks(model, grid), whole, rtol=0, atol=1e-12)
    assert max(seen) * 2 * (1000 + 3) <= 100_000 and sum(seen) == 4000


def test_a_plot_that_fails_leaves_the_run_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError("160 GB for the grid")

    monkeypatch.setattr(plots, "plot_boundary", out_of_memory)
    argv = [str(SEED), "--train", "--quiet", "--set", "train.epochs=2", "--out", str(tmp_path)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "minidl: warning: the plots were not drawn: 160 GB for the grid" in err
    (folder,) = tmp_path.iterdir()
    assert '"status": "completed"' in (folder / "metrics.json").read_text()
