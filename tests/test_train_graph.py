"""The CUDA-graph epochs (minidl.train_graph): their buffers, batch order, divergence and
fallback decisions checked on the CPU against the plain loop, bit for bit; the captured
graphs themselves against the same steps uncaptured, where a CUDA device exists."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from minidl import compile_spec
from minidl.compiler.program import Ensemble, Program, compile_ensemble
from minidl.data import Dataset
from minidl.lang import parse
from minidl.nn import Dropout, Linear, LossMSE, ReLU, Sequential, Tanh
from minidl.optim import SGD, Optimizer
from minidl.train import DivergenceError, _epoch, _shuffled, fit
from minidl.train_graph import Diverged, GraphEpochs, fallback_reason

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# Each stage, join, loss, reduction and optimiser the graph path must reproduce; 150 rows in
# batches of 16 (or 32) leave a smaller last batch, so both captured shapes are exercised.
SPECS = {
    "seed": "Linear 2->25 | ReLU | Linear 25->25 | ReLU | Linear 25->1 | Tanh; loss MSE; "
    "sgd lr=0.01 batch=16",
    "mean_momentum": "Linear ->8 | Sigmoid | Linear ->1; loss MSE reduction=mean; "
    "sgd lr=0.1 batch=16 momentum=0.9 nesterov=true weight_decay=0.01",
    "batchnorm_ce": "Linear ->16 | BatchNorm | ReLU | Linear ->2; loss CrossEntropy; "
    "sgd lr=0.05 batch=32 momentum=0.5",
    "residual_adam": "let r = (Linear ->8 | GELU | Linear ->8) + Identity; "
    "Linear ->8 | r * 2 | LayerNorm | Linear ->1; loss BCE; adam lr=0.01 batch=16",
    "concat_adamw": "Linear ->8 | (Linear ->8 | Tanh) & (Linear ->8 | LeakyReLU) | Linear ->1; "
    "loss Huber; adamw lr=0.01 batch=16 weight_decay=0.1",
    "l1_schedule": "Linear ->8 | ReLU | Linear ->1; loss L1; sgd lr=0.1 batch=16; schedule cosine",
}


def spec_text(body: str, device: str = "cpu") -> str:
    return f"{body}; train epochs=3 seed=1 device={device}; data disk train=150 test=40"


def program(name: str, device: str = "cpu") -> Program:
    return compile_spec(parse(spec_text(SPECS[name], device)))


def ensemble(name: str, runs: int = 3, device: str = "cpu") -> Ensemble:
    return compile_ensemble(parse(spec_text(SPECS[name], device)), runs)


def plain_epochs(
    built: Program | Ensemble, epochs: int, generators: list[torch.Generator]
) -> list[torch.Tensor]:
    """The plain loop's epochs: each one's summed loss."""
    seen = []
    for epoch in range(epochs):
        built.optimizer.lr = built.schedule.lr_at(epoch)
        data = _shuffled(built.data[0], generators)
        seen.append(
            _epoch(built.model, built.loss, built.optimizer, data, built.spec.optimizer.batch)
        )
    return seen


def graph_epochs(
    built: Program | Ensemble, epochs: int, generators: list[torch.Generator], **options: Any
) -> list[torch.Tensor]:
    """The same epochs through GraphEpochs (uncaptured)."""
    runner = GraphEpochs(
        built.model, built.loss, built.optimizer, built.data[0], built.spec.optimizer.batch,
        **options,
    )  # fmt: skip
    seen = []
    for epoch in range(epochs):
        built.optimizer.lr = built.schedule.lr_at(epoch)
        seen.append(runner.epoch(generators).cpu())
    return seen


def state(built: Program | Ensemble) -> list[torch.Tensor]:
    optimizer = built.optimizer
    buffers = [t for name in sorted(optimizer.state) for t in optimizer.state[name]]
    return [*optimizer.values, *buffers, *built.model.buffers()]


def generators_of(built: Program | Ensemble) -> list[torch.Generator]:
    return built.generators if isinstance(built, Ensemble) else [built.generator]


def twins(name: str, stacked: bool) -> tuple[Program | Ensemble, Program | Ensemble]:
    return (ensemble(name), ensemble(name)) if stacked else (program(name), program(name))


@pytest.mark.parametrize("stacked", [False, True], ids=["one run", "stacked"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_uncaptured_graph_steps_equal_the_plain_loop_bit_for_bit(name: str, stacked: bool) -> None:
    """Same order, same batches, same figures: the static buffers and the in-step gathering
    change nothing (with the optimiser's plain `step`)."""
    plain, graphed = twins(name, stacked)
    expected = plain_epochs(plain, 3, generators_of(plain))
    got = graph_epochs(graphed, 3, generators_of(graphed), capture=False, device_scalars=False)
    for a, b in zip(expected, got, strict=True):
        assert a.dtype == b.dtype == torch.float64 and torch.equal(a, b)
    for a, b in zip(state(plain), state(graphed), strict=True):
        assert torch.equal(a, b)
    steps = 3 * -(-150 // plain.spec.optimizer.batch)
    assert plain.optimizer.steps == graphed.optimizer.steps == steps


@pytest.mark.parametrize("name", sorted(SPECS))
def test_device_scalar_updates_match_the_plain_step(name: str) -> None:
    """`graph_step` (learning rate and step number in tensors) is the same update: equal
    for SGD, within rounding for Adam's reordered arithmetic."""
    plain, graphed = twins(name, stacked=True)
    plain_epochs(plain, 3, generators_of(plain))
    graph_epochs(graphed, 3, generators_of(graphed), capture=False, device_scalars=True)
    for a, b in zip(state(plain), state(graphed), strict=True):
        if isinstance(plain.optimizer, SGD):
            assert torch.equal(a, b)
        else:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_batches_follow_the_epoch_order() -> None:
    """Each step's batch is the next `batch` indices of the drawn order, the last one short."""
    data = Dataset(torch.arange(10.0).unsqueeze(1), torch.zeros(10, 1))
    model = Sequential([Linear(1, 1, generator=torch.Generator().manual_seed(0))])
    runner = GraphEpochs(model, LossMSE(), SGD(model.param(), lr=0.1), data, 4, capture=False)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    runner.order.copy_(order)
    runner.position.zero_()
    seen = [runner._batch(4)[0].flatten(), runner._batch(4)[0].flatten(), runner._batch(2)[0]]
    assert [s.tolist() for s in seen] == [
        order[:4].float().tolist(),
        order[4:8].float().tolist(),
        order[8:].float().unsqueeze(1).tolist(),
    ]
    assert int(runner.position) == 2


@pytest.mark.parametrize("stacked", [False, True], ids=["one run", "stacked"])
def test_divergence_stops_at_the_same_step_with_the_epoch_undone(stacked: bool) -> None:
    name = "seed"
    plain, graphed = twins(name, stacked)
    for built in (plain, graphed):
        built.optimizer.lr = 1e30  # diverges within the first epoch
    data = _shuffled(plain.data[0], generators_of(plain))
    with pytest.raises(Exception) as plain_error:
        _epoch(plain.model, plain.loss, plain.optimizer, data, 16)
    before = [t.clone() for t in graphed.optimizer.values]
    runner = GraphEpochs(graphed.model, graphed.loss, graphed.optimizer, graphed.data[0], 16,
                         capture=False, device_scalars=False)  # fmt: skip
    runner.lr.fill_(1e30)
    seen = runner.epoch(generators_of(graphed))
    assert not bool(seen.isfinite().all())  # the loop reads this with the epoch's figures
    with pytest.raises(Diverged) as graph_error:
        runner.redo()
    a, b = plain_error.value, graph_error.value
    assert (a.step, a.what, a.run) == (b.step, b.what, b.run)  # type: ignore[attr-defined]
    assert graphed.optimizer.steps == b.step - 1 == plain.optimizer.steps
    for x, y in zip(state(plain), state(graphed), strict=True):
        assert torch.equal(x, y)  # both stopped before the failing step's update
    assert not torch.equal(before[0], graphed.optimizer.values[0]) or b.step == 1


def graph_loop_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `fit` take the graph path on the CPU, uncaptured, with the plain `step`."""
    import minidl.train as train

    def uncaptured(
        model: Any, loss: Any, optimizer: Any, data: Any, batch: int, stopping: bool = False
    ) -> Any:
        if stopping:  # early stopping trains without graphs, as on a GPU
            return None
        return GraphEpochs(model, loss, optimizer, data, batch, capture=False,
                           device_scalars=False)  # fmt: skip

    monkeypatch.setattr(train, "_graph_epochs", uncaptured)


def fit_program(built: Program) -> Any:
    try:
        return built.fit()
    except DivergenceError as error:
        return (error.epoch, error.step, error.what, error.run, error.history)


@pytest.mark.parametrize("lr", ["0.1", "1000"], ids=["converges", "diverges"])
def test_fit_through_the_graph_loop_equals_the_plain_loop(
    lr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's side: figures read in one transfer, a diverged epoch redone to find its
    step; histories, errors and weights as the plain loop's, bit for bit."""
    text = spec_text(SPECS["mean_momentum"]).replace("epochs=3", "epochs=4")
    text = text.replace("lr=0.1", f"lr={lr}")
    plain = compile_spec(parse(text))
    expected = fit_program(plain)
    graph_loop_on_the_cpu(monkeypatch)
    graphed = compile_spec(parse(text))
    got = fit_program(graphed)
    assert got == expected
    assert isinstance(got, tuple) == (lr == "1000")  # the case diverges, or does not
    assert all(torch.equal(a, b) for a, b in zip(state(plain), state(graphed), strict=True))


def test_fallback_reasons() -> None:
    g = torch.Generator().manual_seed(0)
    model = Sequential([Linear(2, 3, generator=g), ReLU(), Linear(3, 1, generator=g), Tanh()])
    assert fallback_reason(model, SGD(model.param(), lr=0.1)) is None
    with_dropout = Sequential([Linear(2, 3, generator=g), Dropout(0.5, g), Linear(3, 1)])
    reason = fallback_reason(with_dropout, SGD(with_dropout.param(), lr=0.1))
    assert reason is not None and "Dropout" in reason and "\n" not in reason
    no_op = Sequential([Linear(2, 3, generator=g), Dropout(0.0), Linear(3, 1)])
    assert fallback_reason(no_op, SGD(no_op.param(), lr=0.1)) is None  # p=0 draws nothing

    class Custom(Optimizer):
        def step(self) -> None:
            pass

    reason = fallback_reason(model, Custom(model.param(), lr=0.1))
    assert reason is not None and "Custom" in reason


# On a CUDA device: the captured graphs against the same steps uncaptured.


def cuda_fit(text: str, graphs: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Train on the GPU; with graphs, check that the steps were captured (no fallback)."""
    import minidl.train_graph as train_graph

    monkeypatch.setenv("MINIDL_CUDA_GRAPHS", "1" if graphs else "0")
    monkeypatch.setattr(train_graph, "_SAID", set())
    built = compile_spec(parse(text))
    history = built.fit()
    assert not train_graph._SAID, f"fell back: {train_graph._SAID}"
    return history, [t.cpu() for t in state(built)]


@CUDA
@pytest.mark.parametrize("name", sorted(SPECS))
def test_captured_graphs_equal_uncaptured_steps(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = spec_text(SPECS[name], "cuda")
    eager_history, eager_state = cuda_fit(text, False, monkeypatch)
    graph_history, graph_state = cuda_fit(text, True, monkeypatch)
    assert eager_history == graph_history
    assert all(torch.equal(a, b) for a, b in zip(eager_state, graph_state, strict=True))


@CUDA
@pytest.mark.parametrize("name", ["batchnorm_ce", "residual_adam"])
def test_captured_stacked_runs_equal_uncaptured(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = spec_text(SPECS[name], "cuda")
    import minidl.train_graph as train_graph

    monkeypatch.setattr(train_graph, "_SAID", set())
    results = []
    for graphs in ("0", "1"):
        monkeypatch.setenv("MINIDL_CUDA_GRAPHS", graphs)
        results.append(compile_ensemble(parse(text), 4).fit())
    assert results[0] == results[1] and not train_graph._SAID


@CUDA
def test_dropout_on_cuda_says_once_why_it_runs_eagerly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import minidl.train_graph as train_graph

    monkeypatch.setattr(train_graph, "_SAID", set())
    text = spec_text("Linear ->8 | Dropout p=0.5 | Linear ->1; sgd lr=0.01 batch=16", "cuda")
    cpu = compile_spec(parse(text.replace("device=cuda", "device=cpu"))).fit()
    gpu = compile_spec(parse(text)).fit()
    compile_spec(parse(text)).fit()
    lines = [line for line in capsys.readouterr().err.splitlines() if "Dropout" in line]
    assert len(lines) == 1 and len(gpu) == len(cpu)


def test_fit_on_the_cpu_never_builds_graph_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU keeps the plain loop (and its pinned bits) even with graphs asked for."""
    import minidl.train_graph as train_graph

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("GraphEpochs built on the CPU")

    monkeypatch.setattr(train_graph.GraphEpochs, "__init__", refuse)
    built = program("seed")
    fit(built.model, built.loss, built.optimizer, built.data[0], epochs=1, batch_size=16,
        generator=built.generator)  # fmt: skip


@CUDA
def test_captured_divergence_stops_where_uncaptured_steps_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = spec_text(SPECS["mean_momentum"], "cuda").replace("lr=0.1", "lr=1000")
    results = []
    for graphs in ("0", "1"):
        monkeypatch.setenv("MINIDL_CUDA_GRAPHS", graphs)
        results.append(fit_program(compile_spec(parse(text))))
    assert isinstance(results[0], tuple) and results[0] == results[1]
