"""Graphs (`A + B`, `A & B`): hand-written gradients against torch autograd and central
differences, stacked runs, the torch backend, and the language around them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import independent_generators
from test_gradcheck import derivative_check

from minidl.compiler.program import build_model, compile_spec
from minidl.compiler.torch_backend import to_torch
from minidl.lang import format_spec, ir, parse, resolve
from minidl.lang.settings import apply_settings
from minidl.nn import Concat, Identity, Linear, Sequential, Sum, Tanh, stack

SPECS = Path(__file__).parents[1] / "specs"
LEAVES = ["Tanh", "ReLU", "Identity", "Sigmoid", "LayerNorm", "block"]


def widths() -> st.SearchStrategy[int]:
    return st.integers(1, 32)


@st.composite
def pipelines(draw: st.DrawFn, depth: int) -> str:
    """MDL text of 1 to 3 stages: layers, the block, sums, concats, repetitions."""
    return " | ".join(draw(st.lists(graph_stages(depth), min_size=1, max_size=2)))


@st.composite
def graph_stages(draw: st.DrawFn, depth: int) -> str:
    kinds = ["linear", "leaf"] + (["sum", "concat", "repeat"] if depth else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "linear":
        return f"Linear ->{draw(widths())}"
    if kind == "leaf":
        return draw(st.sampled_from(LEAVES))
    if kind == "repeat":
        return f"({draw(pipelines(depth - 1))}) * {draw(st.integers(1, 2))}"
    count = draw(st.integers(2, 3))
    branches = [draw(pipelines(depth - 1)) for _ in range(count)]
    if kind == "concat":
        return " & ".join(f"({b})" for b in branches)
    width = draw(widths())  # `+` needs equal widths
    return " + ".join(f"({b} | Linear ->{width})" for b in branches)


def build(network: str, features: int, seed: int = 0) -> Sequential:
    spec = parse(f"let block = Linear ->5 | Tanh; Linear ->{features} | {network} | Linear ->1")
    model = build_model(spec, features, 1, torch.Generator().manual_seed(seed))
    return model.to(dtype=torch.float64)


def check_against_autograd(model: Sequential, x: torch.Tensor) -> None:
    twin = to_torch(model)
    x_torch = x.clone().requires_grad_(True)
    out_torch = twin(x_torch)
    out = model.forward(x)
    torch.testing.assert_close(out, out_torch.detach(), rtol=0, atol=1e-10)
    upstream = torch.randn_like(out)
    model.zero_grad()
    grad_in = model.backward(upstream)
    out_torch.backward(upstream)
    assert x_torch.grad is not None
    torch.testing.assert_close(grad_in, x_torch.grad, rtol=0, atol=1e-10)
    theirs = list(twin.parameters())
    assert len(theirs) == len(model.param())
    for (value, grad), param in zip(model.param(), theirs, strict=True):
        assert param.grad is not None and value.shape == param.shape
        torch.testing.assert_close(grad, param.grad, rtol=0, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(pipelines(4), st.integers(1, 32), st.integers(0, 2**31))
def test_random_graphs_match_autograd(network: str, features: int, seed: int) -> None:
    (inputs,) = independent_generators(seed, 1)  # not the model's stream, seeded `seed`
    model = build(network, features, seed)
    f64 = torch.float64
    check_against_autograd(model, torch.randn(4, features, generator=inputs, dtype=f64))
    check_against_autograd(model, torch.randn(features, generator=inputs, dtype=f64))


@pytest.mark.parametrize(
    "network",
    [
        "(Linear ->3 | Tanh) + Identity",
        "(Linear ->2 | Sigmoid) & Tanh & (Linear ->1)",
        "((Linear ->3 & Tanh) | Linear ->2) + (block | Linear ->2)",
        "block + block | Linear ->2",
    ],
)
def test_graphs_central_difference(network: str) -> None:
    torch.manual_seed(0)
    derivative_check(build(network, 3), torch.randn(4, 3, dtype=torch.float64))


def test_central_difference_catches_a_wrong_join_backward() -> None:
    class WrongSum(Sum):
        def backward(self, *gradwrtoutput: torch.Tensor) -> torch.Tensor:
            (grad,) = gradwrtoutput
            return self.branches[0].backward(grad)  # forgets the other branch

    torch.manual_seed(0)
    model = WrongSum([Sequential(Linear(2, 2)), Sequential(Tanh())]).to(dtype=torch.float64)
    model.bind([(v.double(), g.double()) for v, g in model.param()])
    with pytest.raises(AssertionError):
        derivative_check(model, torch.randn(3, 2, dtype=torch.float64))


def test_stacked_graph_equals_runs_one_by_one() -> None:
    network = "((Linear ->3 | Tanh) + Identity) & (block | LayerNorm) | BatchNorm"
    models = [build(network, 3, seed) for seed in range(3)]
    stacked = stack(models)
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    out = stacked.forward(x)
    upstream = torch.randn_like(out)
    stacked.zero_grad()
    grad_in = stacked.backward(upstream)
    for r, model in enumerate(models):
        model.zero_grad()
        torch.testing.assert_close(out[r], model.forward(x[r]), rtol=0, atol=1e-12)
        torch.testing.assert_close(grad_in[r], model.backward(upstream[r]), rtol=0, atol=1e-12)
        for (_, mine), (_, theirs) in zip(model.param(), stacked.param(), strict=True):
            torch.testing.assert_close(theirs[r], mine, rtol=0, atol=1e-12)


def test_join_parameters_live_in_the_flat_buffer() -> None:
    model = build("(Linear ->4 | Tanh) + (Linear ->4)", 2)
    params = model.param()
    assert params.flat is not None
    assert params.flat.values.numel() == sum(v.numel() for v, _ in params)
    x = torch.randn(3, 2, dtype=torch.float64)
    before = model.forward(x)
    params.flat.values.add_(0.1)  # what an optimiser step does: one call
    assert not torch.equal(before, model.forward(x))
    join = model[1]
    assert isinstance(join, Sum)
    assert join.param()[0][0].data_ptr() == params[2][0].data_ptr()  # a view, not a copy


def test_train_and_eval_reach_the_branches() -> None:
    join = Concat([Sequential(Identity()), Sequential(Linear(2, 1))])
    join.eval()
    assert not any(m.training for b in join.branches for m in b.children())
    join.train()
    assert all(m.training for b in join.branches for m in b.children())


def test_a_block_joined_with_itself_has_two_sets_of_weights() -> None:
    spec = parse("let b = Linear ->4 | Tanh; Linear ->4 | b + b | Linear ->1")
    assert resolve(spec).parameters == 12 + 2 * 20 + 5
    model = build_model(spec, 2, 1, torch.Generator().manual_seed(0))
    join = model[1]
    assert isinstance(join, Sum)
    first, second = (b.param()[0][0] for b in join.branches)
    assert not torch.equal(first, second)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("A | B + C | D", "A | B + C | D"),
        ("A | (B + C) | D", "A | (B + C) | D"),
        ("(A | B) + C", "(A | B) + C"),
        ("A * 2 + (B)", "A * 2 + B"),
        ("(A + B) & C", "(A + B) & C"),
        ("A + B + C", "A + B + C"),
        ("(A + B) + C", "(A + B) + C"),
        ("((A | B)) & C", "((A | B)) & C"),
        ("(A & B) * 2", "(A & B) * 2"),
    ],
)
def test_format_prints_the_fewest_parentheses(text: str, canonical: str) -> None:
    blocks = "let A = Linear ->3; let B = Linear ->3; let C = Linear ->3; let D = Linear ->3;"
    spec = parse(f"{blocks} Linear ->3 | {text} | Linear ->1")
    network = format_spec(spec).splitlines()[4]
    assert network == f"Linear ->3 | {canonical} | Linear ->1;"
    assert parse(format_spec(spec)) == spec


def test_precedence() -> None:
    spec = parse("Linear ->3 | Tanh * 2 + Identity | Linear ->1")
    join = spec.network[1]
    assert isinstance(join, ir.Join) and join.op == "sum"
    assert [b[0].kind for b in join.branches] == ["repeat", "Identity"]


def test_torch_backend_equals_minidl_on_the_residual_spec() -> None:
    spec = parse((SPECS / "residual.mdl").read_text(), filename=str(SPECS / "residual.mdl"))
    spec = apply_settings(
        spec,
        [
            "train.epochs=1",
            "train.dtype=float64",
            "adam.batch=100",
            "data.train=200",
            "data.test=200",
        ],
    )
    results = []
    for backend in ("minidl", "torch"):
        program = compile_spec(apply_settings(spec, [f"train.backend={backend}"]))
        program.fit()
        results.append([value.clone() for value, _ in program.model.param()])
    for mine, theirs in zip(*results, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-9)
