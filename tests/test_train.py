"""The training loop: reproducibility, divergence, no autograd, the report's accuracy."""

from __future__ import annotations

import ast
import math
import pathlib
import statistics

import pytest
import torch

import minidl
from minidl.data import DISK_RADIUS, Dataset, disk, stack_datasets
from minidl.nn import Linear, LossBCE, LossMSE, Module, ReLU, Sequential, Tanh, stack
from minidl.optim import SGD, Adam, Optimizer
from minidl.schedule import Schedule
from minidl.train import DivergenceError, EpochRecord, fit, fit_ensemble


def report_network(g: torch.Generator, dtype: torch.dtype = torch.float32) -> Sequential:
    return Sequential(
        [
            Linear(2, 25, generator=g, dtype=dtype),
            ReLU(),
            Linear(25, 25, generator=g, dtype=dtype),
            ReLU(),
            Linear(25, 25, generator=g, dtype=dtype),
            ReLU(),
            Linear(25, 1, generator=g, dtype=dtype),
            Tanh(),
        ]
    )


def train_report(
    seed: int, epochs: int, n: int = 1000, dtype: torch.dtype = torch.float32
) -> tuple[Sequential, list[EpochRecord]]:
    g = torch.Generator().manual_seed(seed)
    train, test = disk(n, generator=g, dtype=dtype), disk(n, generator=g, dtype=dtype)
    model = report_network(g, dtype)
    history = fit(
        model,
        LossMSE(),
        SGD(model.param(), lr=0.001),
        train,
        test,
        epochs=epochs,
        batch_size=16,
        generator=g,
    )
    return model, history


def test_disk_is_balanced_and_seeded() -> None:
    a = disk(20000, generator=torch.Generator().manual_seed(0))
    b = disk(20000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert float(a.inputs.min()) >= 0 and float(a.inputs.max()) <= 1
    assert float(a.targets.mean()) == pytest.approx(0.5, abs=0.01)
    inside = ((a.inputs - 0.5) ** 2).sum(1) < DISK_RADIUS**2
    assert torch.equal(inside.float(), a.targets.squeeze(1))
    assert a.targets.shape == (20000, 1)


def test_global_generator_is_not_used() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    train_report(seed=3, epochs=1, n=64)
    assert torch.equal(before, torch.get_rng_state())


def test_same_seed_gives_bit_identical_weights_and_history() -> None:
    model_a, history_a = train_report(seed=5, epochs=3, n=300)
    model_b, history_b = train_report(seed=5, epochs=3, n=300)
    _, history_c = train_report(seed=6, epochs=3, n=300)
    assert history_a == history_b
    assert history_a != history_c
    for (a, _), (b, _) in zip(model_a.param(), model_b.param(), strict=True):
        assert torch.equal(a, b)


def test_history_is_per_epoch_and_callback_sees_each() -> None:
    seen: list[int] = []
    g = torch.Generator().manual_seed(0)
    data = disk(100, generator=g)
    model = report_network(g)
    history = fit(
        model,
        LossMSE(),
        SGD(model.param(), lr=0.001),
        data,
        data,
        epochs=4,
        batch_size=32,
        generator=g,
        callback=lambda r: seen.append(r.epoch),
    )
    assert [r.epoch for r in history] == seen == [1, 2, 3, 4]
    assert history[-1].train_error == history[-1].test_error


def test_divergence_names_epoch_and_step() -> None:
    g = torch.Generator().manual_seed(0)
    data = disk(200, generator=g)
    model = Sequential([Linear(2, 25, generator=g), ReLU(), Linear(25, 1, generator=g)])
    with pytest.raises(DivergenceError) as caught:
        fit(
            model, LossMSE(), SGD(model.param(), lr=1e6), data, epochs=5, batch_size=16, generator=g
        )
    error = caught.value
    assert error.epoch == 1 and error.step > 1
    assert f"epoch 1, step {error.step}" in str(error)
    assert error.history == []


def test_ensemble_equals_runs_one_by_one() -> None:
    seeds = [0, 1, 2]
    f64 = torch.float64
    alone = [train_report(s, epochs=2, n=100, dtype=f64) for s in seeds]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    trains = [disk(100, generator=g, dtype=f64) for g in gens]
    tests = [disk(100, generator=g, dtype=f64) for g in gens]
    model = stack([report_network(g, f64) for g in gens])
    histories = fit_ensemble(
        model,
        LossMSE(),
        SGD(model.param(), lr=0.001),
        stack_datasets(trains),
        stack_datasets(tests),
        epochs=2,
        batch_size=16,
        generators=gens,
    )
    for run, (single, history) in enumerate(alone):
        for (stacked_value, _), (value, _) in zip(model.param(), single.param(), strict=True):
            torch.testing.assert_close(stacked_value[run], value, atol=1e-12, rtol=0)
        for ours, theirs in zip(histories[run], history, strict=True):
            assert ours.test_error == theirs.test_error
            assert ours.loss == pytest.approx(theirs.loss, rel=1e-12)


def test_schedule_sets_the_rate_before_each_epoch() -> None:
    g = torch.Generator().manual_seed(0)
    data = disk(64, generator=g)
    model = report_network(g)
    optimizer = SGD(model.param(), lr=0.5)
    schedule = Schedule("step", 0.01, 5, every=2, gamma=0.5, warmup=1)
    rates: list[float] = []
    fit(
        model,
        LossMSE(),
        optimizer,
        data,
        epochs=5,
        batch_size=16,
        generator=g,
        schedule=schedule,
        callback=lambda _: rates.append(optimizer.lr),
    )
    assert rates == [schedule.lr_at(e) for e in range(5)] == [0.01, 0.01, 0.01, 0.005, 0.005]


class ModeRecorder(Module):
    """Passes its input through and notes the mode of each forward."""

    def __init__(self) -> None:
        self.modes: list[bool] = []

    def forward(self, *input: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        return input[0]

    def backward(self, *gradwrtoutput: torch.Tensor) -> torch.Tensor:
        return gradwrtoutput[0]


def test_trains_in_training_mode_and_scores_in_eval_mode() -> None:
    g = torch.Generator().manual_seed(0)
    recorder = ModeRecorder()
    model = Sequential([Linear(2, 1, generator=g), recorder]).eval()
    data = disk(32, generator=g)
    fit(
        model,
        LossMSE(),
        SGD(model.param(), lr=0.01),
        data,
        data,
        epochs=2,
        batch_size=16,
        generator=g,
    )
    # per epoch: two mini-batches in training mode, then the train and test sets scored
    assert recorder.modes == [True, True, False, False] * 2
    assert model.training


def test_history_scores_with_the_loss_itself() -> None:
    """BCE on logits: its own loss and error rate (a logit > 0 is class 1), not MSE's."""
    data = Dataset(
        torch.rand(40, 2, generator=torch.Generator().manual_seed(0)), torch.zeros(40, 1)
    )
    layer = Linear.from_tensors(torch.zeros(1, 2), torch.full((1,), 0.25))
    model = Sequential([layer])
    loss = LossBCE()
    history = fit(
        model,
        loss,
        SGD(model.param(), lr=1e-30),  # the weights stay as they are: every logit is 0.25
        data,
        data,
        epochs=1,
        batch_size=8,
        generator=torch.Generator().manual_seed(1),
    )
    (record,) = history
    assert record.train_error == record.test_error == 100.0  # MSE's rule (> 0.5) says 0
    assert record.train_loss == pytest.approx(math.log1p(math.exp(0.25)), rel=1e-6)
    expected = float(loss.per_sample(model.forward(data.inputs), data.targets).mean())
    assert record.train_loss == expected


def test_mse_history_is_the_mean_per_sample_squared_error() -> None:
    model, history = train_report(seed=1, epochs=2, n=200)
    g = torch.Generator().manual_seed(1)
    disk(200, generator=g)
    test = disk(200, generator=g)
    squared = (model.forward(test.inputs) - test.targets).square().mean(dim=-1).mean(dim=-1)
    assert history[-1].test_loss == float(squared)


def adam_cosine_run(seed: int) -> tuple[torch.Generator, Dataset, Sequential, Optimizer, Schedule]:
    g = torch.Generator().manual_seed(seed)
    data = disk(96, generator=g)
    model = report_network(g)
    optimizer = Adam(model.param(), lr=0.01, weight_decay=0.001)
    return g, data, model, optimizer, Schedule("cosine", 0.01, 6, warmup=2)


def test_fit_resumes_bit_identically_from_an_epoch_end() -> None:
    """What the callback can read at epoch 3 restarts the run exactly where it was."""
    g, data, model, optimizer, schedule = adam_cosine_run(seed=4)
    weights: list[torch.Tensor] = []
    state: dict[str, torch.Tensor | float] = {}
    generator_state: list[torch.Tensor] = []

    def checkpoint(record: EpochRecord) -> None:
        if record.epoch == 3:
            weights.extend(value.clone() for value, _ in model.param())
            state.update(optimizer.state_dict())
            generator_state.append(g.get_state())

    full = fit(
        model,
        LossMSE(),
        optimizer,
        data,
        data,
        epochs=6,
        batch_size=16,
        generator=g,
        schedule=schedule,
        callback=checkpoint,
    )

    _, _, resumed, again, _ = adam_cosine_run(seed=99)  # other weights, overwritten below
    for (value, _), saved in zip(resumed.param(), weights, strict=True):
        value.copy_(saved)
    again.load_state_dict(state)
    history = fit(
        resumed,
        LossMSE(),
        again,
        data,
        data,
        epochs=6,
        batch_size=16,
        generator=torch.Generator().set_state(generator_state[0]),
        schedule=schedule,
        history=full[:3],
    )
    assert history == full
    for (a, _), (b, _) in zip(model.param(), resumed.param(), strict=True):
        assert torch.equal(a, b)


def test_fit_ensemble_resumes_bit_identically() -> None:
    seeds = [0, 1]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    data = stack_datasets([disk(64, generator=g) for g in gens])
    model = stack([report_network(g) for g in gens])
    optimizer = SGD(model.param(), lr=0.01, momentum=0.9, nesterov=True)
    schedule = Schedule("step", 0.01, 4, every=1, gamma=0.5)
    weights: list[torch.Tensor] = []
    state: dict[str, torch.Tensor | float] = {}
    generator_states: list[torch.Tensor] = []

    def checkpoint(records: list[EpochRecord]) -> None:
        if records[0].epoch == 2:
            weights.extend(value.clone() for value, _ in model.param())
            state.update(optimizer.state_dict())
            generator_states.extend(g.get_state() for g in gens)

    full = fit_ensemble(
        model,
        LossMSE(),
        optimizer,
        data,
        data,
        epochs=4,
        batch_size=16,
        generators=gens,
        schedule=schedule,
        callback=checkpoint,
    )

    resumed = stack([report_network(torch.Generator().manual_seed(7)) for _ in seeds])
    for (value, _), saved in zip(resumed.param(), weights, strict=True):
        value.copy_(saved)
    again = SGD(resumed.param(), lr=1.0, momentum=0.9, nesterov=True)
    again.load_state_dict(state)
    histories = fit_ensemble(
        resumed,
        LossMSE(),
        again,
        data,
        data,
        epochs=4,
        batch_size=16,
        generators=[torch.Generator().set_state(s) for s in generator_states],
        schedule=schedule,
        histories=[h[:2] for h in full],
    )
    assert histories == full
    for (a, _), (b, _) in zip(model.param(), resumed.param(), strict=True):
        assert torch.equal(a, b)


def test_resume_refuses_a_history_that_does_not_fit() -> None:
    g, data, model, optimizer, _ = adam_cosine_run(seed=0)
    history = fit(model, LossMSE(), optimizer, data, epochs=2, batch_size=32, generator=g)
    with pytest.raises(ValueError, match="more than epochs=1"):
        fit(
            model, LossMSE(), optimizer, data, epochs=1, batch_size=32, generator=g, history=history
        )
    with pytest.raises(ValueError, match="in order"):
        fit(
            model,
            LossMSE(),
            optimizer,
            data,
            epochs=3,
            batch_size=32,
            generator=g,
            history=history[1:],
        )


MINIDL_ROOT = pathlib.Path(minidl.__file__).parent
AUTOGRAD_FREE = ["nn", "data", "optim", "schedule", "train"]
"""The framework, each a package (a folder) or a module (NAME.py)."""


def test_no_autograd_in_minidl_sources() -> None:
    paths = [MINIDL_ROOT / name for name in AUTOGRAD_FREE]
    files = [
        file
        for path in paths
        for file in (sorted(path.glob("**/*.py")) if path.is_dir() else [path.with_suffix(".py")])
    ]
    assert len(files) >= 8
    for path in files:
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"requires_grad", "requires_grad_", "autograd", "grad_fn"}, path


def test_no_autograd_graph_at_run_time() -> None:
    with torch.enable_grad():
        model, _ = train_report(seed=0, epochs=1, n=64)
        out = model.forward(torch.rand(3, 2))
    assert out.grad_fn is None and not out.requires_grad
    assert all(not v.requires_grad and not g.requires_grad for v, g in model.param())


def test_dataset_to_dtype() -> None:
    data = Dataset(torch.zeros(2, 3), torch.ones(2, 1)).to(dtype=torch.float64)
    assert data.inputs.dtype == torch.float64 and data.features == 3 and data.outputs == 1


@pytest.mark.slow
def test_report_network_reaches_under_5_percent_test_error() -> None:
    """The report's setting (batch 16, lr 0.001, 100 epochs, sum) over seeds 0 to 4."""
    errors = [train_report(seed, epochs=100)[1][-1].test_error for seed in range(5)]
    print("test errors, seeds 0-4:", errors)
    assert statistics.mean(errors) < 5.0
