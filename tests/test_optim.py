"""minidl's optimisers against torch.optim, on the flat-buffer path and on plain lists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from minidl.nn import Linear, LossMSE, ReLU, Sequential, Tanh
from minidl.nn.flat import FlatParameters, Parameters, flatten_parameters
from minidl.optim import SGD, Adam, AdamW, Optimizer

f64 = torch.float64
ATOL = 1e-12  # float64, as the brief states it; on CPU the results are in fact bit-identical

OptimizerPair = tuple[Callable[..., Optimizer], Callable[..., torch.optim.Optimizer]]
OPTIMIZERS: dict[str, OptimizerPair] = {
    "sgd": (SGD, torch.optim.SGD),
    "sgd_momentum": (
        lambda p, **kw: SGD(p, momentum=0.9, **kw),
        lambda p, **kw: torch.optim.SGD(p, momentum=0.9, **kw),
    ),
    "sgd_nesterov": (
        lambda p, **kw: SGD(p, momentum=0.9, nesterov=True, **kw),
        lambda p, **kw: torch.optim.SGD(p, momentum=0.9, nesterov=True, **kw),
    ),
    "adam": (Adam, torch.optim.Adam),
    "adam_betas": (
        lambda p, **kw: Adam(p, betas=(0.8, 0.99), eps=1e-6, **kw),
        lambda p, **kw: torch.optim.Adam(p, betas=(0.8, 0.99), eps=1e-6, **kw),
    ),
    "adamw": (AdamW, torch.optim.AdamW),
}


def small_model(g: torch.Generator) -> Sequential:
    return Sequential(
        [Linear(3, 8, dtype=f64, generator=g), ReLU(), Linear(8, 2, dtype=f64, generator=g)]
    )


def torch_loss(leaves: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    w1, b1, w2, b2 = leaves
    pred = torch.relu(x @ w1.T + b1) @ w2.T + b2
    return ((pred - y) ** 2).mean(dim=1).sum()


def minidl_step(model: Sequential, optimizer: Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    loss = LossMSE()
    optimizer.zero_grad()
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    optimizer.step()


@pytest.mark.parametrize("path", ["flat", "list"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_matches_torch_over_50_steps_with_a_resume(
    name: str, weight_decay: float, path: str
) -> None:
    """50 steps; at step 20 the state moves to a new optimiser, at step 30 lr changes."""
    ours_class, theirs_class = OPTIMIZERS[name]
    g = torch.Generator().manual_seed(0)
    model = small_model(g)
    params = model.param() if path == "flat" else list(model.param())
    leaves = [value.clone().requires_grad_(True) for value, _ in params]
    ours = ours_class(params, lr=0.01, weight_decay=weight_decay)
    theirs = theirs_class(leaves, lr=0.01, weight_decay=weight_decay)
    assert (ours.flat is not None) == (path == "flat")
    for step in range(50):
        if step == 20:
            state = ours.state_dict()
            ours = ours_class(params, lr=0.5, weight_decay=weight_decay)
            ours.load_state_dict(state)
        if step == 30:
            ours.lr = 0.003
            theirs.param_groups[0]["lr"] = 0.003
        x = torch.randn(4, 3, dtype=f64, generator=g)
        y = torch.randn(4, 2, dtype=f64, generator=g)
        minidl_step(model, ours, x, y)
        theirs.zero_grad()
        torch_loss(leaves, x, y).backward()
        theirs.step()
    for (value, _), leaf in zip(model.param(), leaves, strict=True):
        torch.testing.assert_close(value, leaf.detach(), atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_bit_identically(name: str) -> None:
    """A run saved at step 7 and loaded into fresh objects ends exactly as one never stopped."""
    make, _ = OPTIMIZERS[name]
    data = torch.Generator().manual_seed(1)
    batches = [
        (torch.randn(5, 3, dtype=f64, generator=data), torch.randn(5, 2, dtype=f64, generator=data))
        for _ in range(15)
    ]
    model = small_model(torch.Generator().manual_seed(2))
    optimizer = make(model.param(), lr=0.01, weight_decay=0.01)
    for x, y in batches[:7]:
        minidl_step(model, optimizer, x, y)
    saved_weights = [value.clone() for value, _ in model.param()]
    saved_state = optimizer.state_dict()
    for x, y in batches[7:]:
        minidl_step(model, optimizer, x, y)

    resumed = small_model(torch.Generator().manual_seed(3))
    for (value, _), weights in zip(resumed.param(), saved_weights, strict=True):
        value.copy_(weights)
    # plain lists here: the saved state does not depend on the path that made it
    again = make(list(resumed.param()), lr=1.0, weight_decay=0.01)
    again.load_state_dict(saved_state)
    assert again.steps == 7 and again.lr == 0.01
    for x, y in batches[7:]:
        minidl_step(resumed, again, x, y)
    for (a, _), (b, _) in zip(model.param(), resumed.param(), strict=True):
        assert torch.equal(a, b)


def test_state_dict_is_a_copy_of_plain_values() -> None:
    model = small_model(torch.Generator().manual_seed(0))
    optimizer = Adam(model.param())
    minidl_step(model, optimizer, torch.ones(2, 3, dtype=f64), torch.zeros(2, 2, dtype=f64))
    state = optimizer.state_dict()
    assert set(state) == {"step", "lr", "exp_avg", "exp_avg_sq"} and state["step"] == 1
    exp_avg = state["exp_avg"]
    assert isinstance(exp_avg, torch.Tensor) and exp_avg.shape == (3 * 8 + 8 + 8 * 2 + 2,)
    before = exp_avg.clone()
    minidl_step(model, optimizer, torch.ones(2, 3, dtype=f64), torch.zeros(2, 2, dtype=f64))
    assert torch.equal(exp_avg, before)  # the saved state does not move with the optimiser


def test_load_state_dict_rejects_what_does_not_fit() -> None:
    model = small_model(torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="unknown entries"):
        SGD(model.param(), lr=0.1).load_state_dict(Adam(model.param()).state_dict() | {"x": 1.0})
    with pytest.raises(ValueError, match="does not fit"):
        Adam(model.param()).load_state_dict({"step": 1, "lr": 0.1, "exp_avg": torch.zeros(3)})


def test_sgd_on_a_sequential_takes_the_flat_path() -> None:
    """The seed report's public API alone gives the fast path: no flatten call needed."""
    g = torch.Generator().manual_seed(0)
    model = Sequential([Linear(2, 5, generator=g), Tanh(), Linear(5, 1, generator=g)])
    params = model.param()
    assert isinstance(params, Parameters) and params.flat is not None
    optimizer = SGD(params, lr=0.1)
    assert optimizer.flat is params.flat and optimizer.values == [params.flat.values]
    assert model.param().flat is optimizer.flat  # later calls hand out the same buffer
    # the model's layers are views into the buffer that the optimiser updates
    first = model[0]
    assert isinstance(first, Linear)
    optimizer.flat.grads.fill_(1.0)
    before = first.weight.clone()
    optimizer.step()
    torch.testing.assert_close(first.weight, before - 0.1)
    optimizer.zero_grad()
    assert float(first.weight_grad.abs().sum()) == 0


def test_the_flat_path_after_to() -> None:
    g = torch.Generator().manual_seed(0)
    model = Sequential([Linear(2, 5, generator=g), Tanh(), Linear(5, 1, generator=g)])
    old = SGD(model.param(), lr=0.1).flat
    model.to(dtype=torch.float64)
    optimizer = SGD(model.param(), lr=0.1)
    assert optimizer.flat is not None and optimizer.flat is not old
    assert optimizer.flat.values.dtype == torch.float64
    first = model[0]
    assert isinstance(first, Linear) and first.weight.dtype == torch.float64
    optimizer.flat.grads.fill_(1.0)
    before = first.weight.clone()
    optimizer.step()
    torch.testing.assert_close(first.weight, before - 0.1)


def test_a_plain_list_takes_the_per_tensor_path() -> None:
    model = small_model(torch.Generator().manual_seed(0))
    pairs = list(model.param())
    optimizer = SGD(pairs, lr=0.1)
    assert optimizer.flat is None and len(optimizer.values) == 4
    assert all(a is value for a, (value, _) in zip(optimizer.values, pairs, strict=True))


def test_nested_sequentials_share_the_outer_buffer() -> None:
    g = torch.Generator().manual_seed(0)
    inner = Sequential([Linear(2, 3, generator=g), ReLU()])
    outer = Sequential([inner, Linear(3, 1, generator=g)])
    inner.param()  # the inner model flattens itself first
    flat = outer.param().flat
    assert flat is not None and len(flat) == 4
    inner_flat = inner.param().flat
    assert inner_flat is not None and inner_flat.holds(flat.params[:2])
    assert outer.param().flat is flat  # asking the inner model did not move the outer one
    optimizer = SGD(outer.param(), lr=1.0)
    flat.grads.fill_(1.0)
    weight = inner[0]
    assert isinstance(weight, Linear)
    before = weight.weight.clone()
    optimizer.step()
    torch.testing.assert_close(weight.weight, before - 1.0)


def test_flatten_parameters_serves_any_module() -> None:
    layer = Linear(3, 2, generator=torch.Generator().manual_seed(0))
    flat = flatten_parameters(layer)
    assert isinstance(flat, FlatParameters) and flat.holds(layer.param())
    optimizer = SGD(flat, lr=0.5)
    assert optimizer.flat is flat
    flat.grads.fill_(2.0)
    before = layer.weight.clone()
    optimizer.step()
    torch.testing.assert_close(layer.weight, before - 1.0)


def test_flat_parameters_need_one_dtype() -> None:
    pairs = [
        (torch.zeros(2), torch.zeros(2)),
        (torch.zeros(2, dtype=f64), torch.zeros(2, dtype=f64)),
    ]
    with pytest.raises(ValueError, match="one dtype and device"):
        FlatParameters(pairs)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="lr"):
        SGD([], lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD([], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam([], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: eps"):
        AdamW([], eps=-1)


def test_adamw_defaults_to_decay_001() -> None:
    assert AdamW([]).weight_decay == 0.01 and Adam([]).weight_decay == 0.0


def test_alpha_is_the_reports_name_for_lr() -> None:
    value, grad = torch.ones(2), torch.full((2,), 3.0)
    SGD([(value, grad)], alpha=0.5).step()
    assert value.tolist() == [-0.5, -0.5]
