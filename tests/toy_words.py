"""A plug-in of one toy word of each kind, each one record per side (issue 20).

`tests/test_toy_words.py` runs this file in a fresh interpreter (a registered word stays
registered): a loss (`LogCosh`), an optimiser (`signsgd`), a data source (`data xor`), a
stage (`Swish`) and the ONNX form of the stage's module. Each record is what a plug-in
would write; nothing else in minidl is told about them. The script then takes every word
through parse, check, summary, format, compile, one epoch of training (minidl against
`backend=torch`, which the torch-side records make), a run folder, `--predict` and ONNX.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor

from minidl.compiler.data import DATA_SOURCES, seeded
from minidl.compiler.words import LAYERS as LAYER_RECORDS
from minidl.compiler.words import LOSSES as LOSS_RECORDS
from minidl.compiler.words import OPTIMIZERS as OPTIMIZER_RECORDS
from minidl.compiler.words import LayerEntry, LossEntry, OptimizerEntry
from minidl.data import Dataset
from minidl.lang.layer_words import LAYERS, LayerWord
from minidl.lang.nodes import Node
from minidl.lang.statement_words import DATA_SOURCES as SOURCES
from minidl.lang.statement_words import LOSSES, OPTIMIZERS, SeededData
from minidl.nn import Loss, Module
from minidl.optim import Optimizer

# -- the language's side: one class each, registered where it is defined ----------------


@LAYERS.register
class Swish(LayerWord):
    """x * sigmoid(beta x), element-wise."""

    kind: Literal["Swish"] = "Swish"
    beta: float = Field(1.0, description="the slope inside the sigmoid")


@LOSSES.register
class LogCosh(Node):
    """log(cosh(y - t)), mean over the output features."""

    targets: ClassVar[str] = "binary"
    applies: ClassVar[str | None] = None
    name: Literal["LogCosh"] = "LogCosh"
    reduction: Literal["sum", "mean"] = Field("sum", description="over the batch")


@OPTIMIZERS.register
class SignSgd(Node):
    """signSGD: `p <- p - lr * sign(g)`."""

    kind: Literal["signsgd"] = "signsgd"
    lr: float = Field(0.01, gt=0, allow_inf_nan=False, description="the step")
    batch: int = Field(16, ge=1, description="samples per mini-batch")


@SOURCES.register
class XorData(SeededData):
    """Points in [0,1]^2, label 1 where exactly one coordinate passes one half."""

    features: ClassVar[tuple[str, ...]] = ("u", "v")
    kind: Literal["xor"] = "xor"
    train: int = Field(200, ge=1, description="training points")
    test: int = Field(100, ge=1, description="test points")
    validation: float | None = Field(None, gt=0, lt=1, description="held out")


# -- the framework's side: a module, a loss, an optimiser (hand-written gradients) -------


class SwishModule(Module):
    def __init__(self, beta: float) -> None:
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        self.x, self.s = x, torch.sigmoid(self.beta * x)
        return x * self.s

    def backward(self, g: Tensor) -> Tensor:
        s = self.s
        return g * (s + self.beta * self.x * s * (1 - s))


class LossLogCosh(Loss):
    def per_sample(self, output: Tensor, target: Tensor) -> Tensor:
        return _log_cosh(output - self._target_like(output, target)).mean(dim=-1)

    def _sample_grad(self, pred: Tensor, target: Tensor) -> Tensor:
        return torch.tanh(pred - self._target_like(pred, target)) / pred.shape[-1]


def _log_cosh(d: Tensor) -> Tensor:
    return d.abs() + torch.nn.functional.softplus(-2 * d.abs()) - math.log(2.0)


class SignSGD(Optimizer):
    def __init__(self, params: Any, lr: float) -> None:
        super().__init__(params, lr)

    def step(self) -> None:
        self.steps += 1
        torch._foreach_add_(self.values, [g.sign() for g in self.grads], alpha=-self.lr)


class TorchSignSGD(torch.optim.Optimizer):
    def __init__(self, params: Any, lr: float) -> None:
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=-group["lr"])


class TorchSwish(torch.nn.Module):
    def __init__(self, beta: float) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.beta * x)


def draw_xor(word: XorData, n: int, generator: torch.Generator) -> Dataset:
    points = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    label = (points[:, 0] > 0.5) ^ (points[:, 1] > 0.5)
    return Dataset(points, label.to(torch.float64).unsqueeze(1))


# -- the compiler's side: one record each ------------------------------------------------

LAYER_RECORDS["Swish"] = LayerEntry(
    lambda w, b: SwishModule(w.beta),
    lambda m: TorchSwish(m.beta),
    "Swish({beta!r})",
    SwishModule,
)
LOSS_RECORDS["LogCosh"] = LossEntry(
    lambda w: LossLogCosh(w.reduction),
    lambda w, y, t: _log_cosh(y - t).mean(-1),
    "LossLogCosh",
)
OPTIMIZER_RECORDS["signsgd"] = OptimizerEntry(
    lambda w, p: SignSGD(p, w.lr), lambda w, p: TorchSignSGD(p, w.lr), "SignSGD"
)
DATA_SOURCES["xor"] = seeded(draw_xor, "draw_xor(None, {n}, generator)", "from toy import draw_xor")

# -- the export side: the module's ONNX form ---------------------------------------------


def _swish_onnx(m: SwishModule, g: Any, x: str) -> str:
    scaled = g.node("Mul", [x, g.constant("beta", m.beta)], "swish_scaled")
    return g.node("Mul", [x, g.node("Sigmoid", [scaled], "swish_gate")], "swish")


def register_onnx_form() -> None:
    from minidl.export.onnx_graph import EXPORTS

    EXPORTS[SwishModule] = _swish_onnx


# -- every word through every command ----------------------------------------------------

SPEC = """\
Linear 2->8 | Swish beta=2.0 | (Swish + Identity) | Linear ->1;
loss LogCosh;
signsgd lr=0.01 batch=8;
train epochs=1 dtype=float64;
data xor train=64 test=32;
"""


def main(folder: Path) -> None:
    import numpy as np
    import onnxruntime as ort

    from minidl import compile_spec, load
    from minidl.cli.main import main as command
    from minidl.export.onnx_graph import to_onnx
    from minidl.lang import format_spec, format_text, parse
    from minidl.lang.ir import spec_schema
    from minidl.lang.summary import summarize

    register_onnx_form()
    spec = parse(SPEC)
    assert type(spec.loss) is LogCosh and type(spec.optimizer) is SignSgd
    assert type(spec.data) is XorData
    assert parse(format_spec(spec)) == spec  # the canonical text reads back the same
    assert format_text(SPEC.replace("lr=0.01", "lr = 0.01")) == format_text(SPEC)
    summary = summarize(spec, "toy")
    for word in ("Swish beta=2.0", "loss LogCosh", "signsgd lr=0.01", "data xor train=64"):
        assert word in summary, (word, summary)
    schema = spec_schema()["$defs"]
    assert {"Swish", "LogCosh", "SignSgd", "XorData"} <= set(schema)
    # A wrong option of a toy word is a diagnostic like any word's.
    try:
        parse(SPEC.replace("lr=0.01", "lr=-1"))
    except Exception as caught:
        assert "E131" in str(caught) or "greater than 0" in str(caught), caught
    else:
        raise AssertionError("lr=-1 was accepted")

    ours = compile_spec(spec)
    theirs = compile_spec(parse(SPEC.replace("dtype=float64", "dtype=float64 backend=torch")))
    for (a, _), (b, _) in zip(ours.model.param(), theirs.model.param(), strict=True):
        assert torch.equal(a, b)
    start = [value.clone() for value, _ in ours.model.param()]
    history, torch_history = ours.fit(), theirs.fit()
    assert len(history) == 1 and math.isfinite(history[0].loss)
    for (a, _), (b, _), s in zip(ours.model.param(), theirs.model.param(), start, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0)  # hand-written = autograd
        assert not torch.equal(a, s)
    assert history[0].test_error == torch_history[0].test_error

    # The command line: a run folder, the folder loaded back, --predict, ONNX.
    spec_file = folder / "toy.mdl"
    spec_file.write_text(SPEC)
    run = folder / "run"
    assert command([str(spec_file), "--train", "--out", str(run), "--quiet"]) == 0
    (run,) = run.iterdir()  # run/toy-<timestamp>
    program = load(run)
    rows = folder / "rows.csv"
    rows.write_text("u,v\n0.1,0.2\n0.9,0.3\n0.6,0.7\n")
    assert command([str(run), "--predict", str(rows), "--out", str(folder / "p.csv")]) == 0
    predicted = (folder / "p.csv").read_text().splitlines()
    assert predicted[0].startswith("u,v,prediction"), predicted
    model = to_onnx(program)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.array([[0.1, 0.2], [0.9, 0.3], [0.6, 0.7]], dtype=np.float32)
    (got,) = session.run(["output"], {"input": x})
    program.model.eval()
    expected = program.model.forward(torch.from_numpy(x).to(torch.float64)).numpy()
    assert float(np.abs(got - expected).max()) <= 1e-5, (got, expected)
    print("ok", summary.splitlines()[0])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
