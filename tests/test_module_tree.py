"""The module tree (issue 20): the base Module walks children() once for param, bind,
buffers, to, zero_grad and the state dict; leaves name their own tensors; flattening is an
explicit call; stacked modules say so with `runs`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch import Tensor

from minidl.compiler.program import build_model
from minidl.lang import parse
from minidl.nn import (
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    StateDictError,
    Sum,
    Tanh,
    stack,
)
from minidl.optim import SGD
from minidl.runs.run_folder import RunFolderError, load_into, weights_of

F64 = torch.float64

FLAT = (
    "Linear ->4 | BatchNorm | ReLU | ((Linear ->3 | Tanh) + (Linear ->3 | LayerNorm)) | "
    "Dropout p=0.1 | (Identity & (Sigmoid | Linear ->2 | BatchNorm)) | LeakyReLU | GELU | "
    "((Linear ->5 | (Tanh + (Linear ->5 | ReLU))) & Identity) | Linear ->2 | Softmax | Linear ->1"
)


def flat_model(seed: int = 0) -> Sequential:
    return build_model(parse(f"{FLAT};"), 3, 1, torch.Generator().manual_seed(seed))


def image_model(seed: int = 0) -> Sequential:
    """What `Conv2d ->4 kernel=3 padding=1 | BatchNorm | ReLU | MaxPool kernel=2 | Conv2d ->2
    kernel=1 | AvgPool kernel=2 | Flatten | LayerNorm | Linear ->1` builds for (1, 8, 8)."""
    g = torch.Generator().manual_seed(seed)
    return Sequential(
        [
            Conv2d(1, 4, 3, padding=1, generator=g),
            BatchNorm(4, image=True),
            ReLU(),
            MaxPool2d(2),
            Conv2d(4, 2, 1, generator=g),
            AvgPool2d(2),
            Flatten(),
            LayerNorm(8),
            Linear(8, 1, generator=g),
        ]
    )


def legacy_names(model: Module, prefix: str = "") -> list[tuple[str, Tensor]]:
    """How run folders named the tensors before the modules did (cli/run_folder.py's old
    named_tensors): children by position, depth first; a leaf's parameters weight, bias and
    its buffers running_mean, running_var, by their order."""
    children = model.children()
    if children:
        return [
            pair
            for position, child in enumerate(children)
            for pair in legacy_names(child, f"{prefix}{position}.")
        ]
    params = [value for value, _ in model.param()]
    named = [(prefix + ("weight", "bias")[i], v) for i, v in enumerate(params)]
    names = ("running_mean", "running_var")
    return named + [(prefix + names[i], b) for i, b in enumerate(model.buffers())]


@pytest.mark.parametrize("build", [flat_model, image_model], ids=["flat", "image"])
def test_state_dict_keys_are_the_run_folders_names(build: type[Sequential]) -> None:
    model = build()
    state = model.state_dict()
    legacy = legacy_names(model)
    assert list(state) == [name for name, _ in legacy]
    for (name, live), saved in zip(legacy, state.values(), strict=True):
        assert torch.equal(live, saved), name
        assert saved.data_ptr() != live.data_ptr(), "state_dict() copies"
    assert list(weights_of(model)) == list(state)


def test_every_layer_word_with_tensors_names_them() -> None:
    flat, image = flat_model().state_dict(), image_model().state_dict()
    assert {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"} <= set(
        flat
    )
    # stage 3 is a sum: branch 1, its layer 1 (LayerNorm) and layer 0 (Linear)
    assert {"3.0.0.weight", "3.1.0.bias", "3.1.1.weight", "3.1.1.bias"} <= set(flat)
    # a concat (stage 5) whose branch 1 holds a Linear and a BatchNorm
    assert {"5.1.1.weight", "5.1.2.running_var"} <= set(flat)
    # a concat nested around a sum: stage 8, branch 0, layer 1 (the sum), branch 1, layer 0
    assert "8.0.1.1.0.weight" in flat
    assert {"0.weight", "0.bias", "1.running_mean", "4.weight", "7.weight", "8.bias"} <= set(image)
    assert not [name for name in (*flat, *image) if "param" in name or "buffer" in name]


def test_a_third_parameter_has_the_name_its_module_declares() -> None:
    class Gained(Linear):
        parameter_names: ClassVar[tuple[str, ...]] = ("weight", "bias", "gain")

        def __init__(self) -> None:
            super().__init__(2, 2)
            self.gain = torch.ones(2)
            self.gain_grad = torch.zeros(2)

    model = Sequential([Gained(), ReLU()])
    assert list(model.state_dict()) == ["0.weight", "0.bias", "0.gain"]
    assert len(model.param()) == 3 and model.param().flat is not None
    assert model[0].gain is model.param()[2][0]  # bound to the flat buffer like the others
    model.to(dtype=F64)
    assert model[0].gain.dtype == F64 and model[0].gain_grad.dtype == F64
    state = {name: torch.full_like(t, 0.5) for name, t in model.state_dict().items()}
    model.load_state_dict(state)
    assert torch.equal(model[0].gain, torch.full((2,), 0.5, dtype=F64))


def test_load_state_dict_copies_in_place_into_the_flat_buffer() -> None:
    model, other = flat_model(0), flat_model(1)
    optimizer = SGD(model.param(), lr=0.1)
    assert optimizer.flat is not None
    model.load_state_dict(other.state_dict())
    for (name, mine), (_, theirs) in zip(model.named_tensors(), other.named_tensors(), strict=True):
        assert torch.equal(mine, theirs), name
    assert model.param().flat is optimizer.flat  # the same live buffer, not rebound
    assert torch.equal(optimizer.flat.values, other.param().flat.values)


@pytest.mark.parametrize(
    ("change", "problem", "key"),
    [
        (lambda s: s.pop("3.1.1.weight"), "missing", "3.1.1.weight"),
        (lambda s: s.update({"9.param2": torch.zeros(1)}), "unexpected", "9.param2"),
        (lambda s: s.update({"1.running_var": torch.ones(5)}), "shape", "1.running_var"),
    ],
    ids=["missing", "extra", "shape"],
)
def test_load_state_dict_names_the_key_at_fault_and_copies_nothing(
    change: object, problem: str, key: str, tmp_path: Path
) -> None:
    model, other = flat_model(0), flat_model(1)
    state = other.state_dict()
    change(state)  # type: ignore[operator]
    before = model.state_dict()
    with pytest.raises(StateDictError, match=key.replace(".", r"\.")) as caught:
        model.load_state_dict(state)
    assert (caught.value.key, caught.value.problem) == (key, problem)
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    with pytest.raises(RunFolderError, match="weights of another network") as folder_error:
        load_into(model, state, tmp_path / "weights.safetensors")
    assert key in str(folder_error.value) and "weights.safetensors" in str(folder_error.value)


def test_load_into_keeps_its_messages(tmp_path: Path) -> None:
    model = Sequential([Linear(2, 3), ReLU(), Linear(3, 1)])
    path = tmp_path / "weights.safetensors"
    state = model.state_dict()
    cases = {
        "the file lacks 2.bias": {k: v for k, v in state.items() if k != "2.bias"},
        "the file has 3.weight, which the network lacks": {**state, "3.weight": torch.ones(1)},
        "0.weight is (3, 3), the spec makes it (3, 2)": {**state, "0.weight": torch.ones(3, 3)},
    }
    for message, tensors in cases.items():
        with pytest.raises(RunFolderError) as caught:
            load_into(model, tensors, path)
        assert str(caught.value) == f"{path}: weights of another network: {message}"


@pytest.mark.parametrize("build", [flat_model, image_model], ids=["flat", "image"])
def test_to_moves_every_tensor_of_the_tree(build: type[Sequential]) -> None:
    model = build().eval()  # no batch statistics, no dropout: forward is a function of x
    x = torch.rand(4, 3) if build is flat_model else torch.rand(4, 1, 8, 8)
    expected = model.forward(x)
    for dtype in (F64, torch.float32, F64):
        assert model.to(dtype=dtype) is model
        pairs = model.param()
        assert pairs and all(t.dtype == dtype for pair in pairs for t in pair)
        assert model.buffers() and all(t.dtype == dtype for t in model.buffers())
        assert all(t.dtype == dtype for _, t in model.named_tensors())
        assert pairs.flat is not None and pairs.flat.values.dtype == dtype
    model.to(dtype=torch.float32)
    torch.testing.assert_close(model.forward(x), expected)


def test_a_leaf_alone_moves_too() -> None:
    """The base to() used to do nothing for a module that did not write its own."""
    layer = BatchNorm(3)
    layer.to(dtype=F64)
    assert {t.dtype for t in (*layer.buffers(), *[t for p in layer.param() for t in p])} == {F64}
    join = Sum([Linear(2, 2), Concat([Linear(2, 1), Linear(2, 1)])]).to(dtype=F64)
    assert {t.dtype for pair in join.param() for t in pair} == {F64}


def test_param_has_no_side_effect() -> None:
    model = flat_model()
    first, second = model.param(), model.param()
    assert [id(t) for p in first for t in p] == [id(t) for p in second for t in p]
    assert first.flat is second.flat is not None
    # bound to plain tensors, the model keeps them: param() neither copies nor rebinds
    plain = [(v.clone(), g.clone()) for v, g in model.param()]
    model.bind(plain)
    for _ in range(2):
        again = model.param()
        assert again.flat is None
        assert all(v is pv and g is pg for (v, g), (pv, pg) in zip(again, plain, strict=True))
    flat = model.flatten()  # the explicit call
    assert model.param().flat is flat
    assert all(v is not pv for (v, _), (pv, _) in zip(model.param(), plain, strict=True))


def test_the_report_fast_path_still_gets_the_flat_buffer() -> None:
    model = Sequential([Linear(2, 25), ReLU(), Linear(25, 1), Tanh()])
    assert SGD(model.param(), lr=0.1).flat is not None
    model.to(dtype=F64)
    optimizer = SGD(model.param(), lr=0.1)
    assert optimizer.flat is not None and optimizer.flat.values.dtype == F64


def test_a_model_of_mixed_dtypes_is_built_then_flattened_by_to() -> None:
    model = Sequential([Linear(2, 2, dtype=F64), Linear(2, 2)])
    assert model.param().flat is None
    model.to(dtype=F64)
    assert model.param().flat is not None


def test_stacked_modules_say_their_runs() -> None:
    models = [flat_model(seed) for seed in range(3)]
    stacked = stack(models)

    def walk(module: Module) -> list[Module]:
        return [module, *[m for child in module.children() for m in walk(child)]]

    assert {m.runs for m in walk(stacked)} == {3}
    assert {m.runs for model in models for m in walk(model)} == {None}
    weight = torch.zeros(2, 3, 4)
    assert Linear.from_tensors(weight).runs == 2
    assert Sequential([Linear.from_tensors(weight), ReLU()]).runs == 2
    assert Linear.from_tensors(weight[0]).runs is None
    norm = stack([Sequential([LayerNorm(3, affine=False)])] * 2)[0]
    assert repr(norm).startswith("LayerNorm(runs=2, ")
    conv = stack([Sequential([Conv2d(1, 2, 3)])] * 2)[0]
    assert repr(conv).startswith("Conv2d(runs=2, ")
