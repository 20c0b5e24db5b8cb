"""`minidl RUN_DIR --emit onnx`: a trained network as an ONNX model, written with onnx.helper.

The graph takes `input` `(N, D)` float32 raw features, normalises them (Sub, Div) as
training did, and runs the built modules in order: one entry per module class in
`EXPORTS`, a join's branches on the same input (Sum or Concat). Dropout is the identity in
evaluation and disappears. The output `output` is the network's last stage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from minidl import nn
from minidl.compiler.predictions import classes_of
from minidl.compiler.program import Program

__all__ = ["EXPORTS", "OPSET", "OnnxMissing", "to_onnx"]

OPSET = 17
"""LayerNormalization needs opset 17; GELU is written in its erf form."""


class OnnxMissing(Exception):
    """The optional `onnx` package is not installed."""


class _Graph:
    """The nodes and initialisers being written; `name()` hands out fresh value names."""

    def __init__(self, helper: Any, numpy_helper: Any) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, stem: str, value: torch.Tensor | np.ndarray | float) -> str:
        array = np.asarray(
            value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor) else value,
            dtype=np.float32,
        )
        name = self.name(stem)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def constant_int(self, stem: str, value: list[int]) -> str:
        name = self.name(stem)
        array = np.asarray(value, dtype=np.int64)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attributes: Any) -> str:
        output = self.name(stem)
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output


Export = Callable[[Any, _Graph, str], str]


def _linear(m: nn.Linear, g: _Graph, x: str) -> str:
    inputs = [x, g.constant("weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.constant("bias", m.bias))
    return g.node("Gemm", inputs, "linear", transB=1)


def _gelu(m: nn.GELU, g: _Graph, x: str) -> str:
    # 0.5 * x * (1 + erf(x / sqrt 2)), as minidl computes it
    scaled = g.node("Div", [x, g.constant("sqrt2", math.sqrt(2.0))], "gelu_scaled")
    erf = g.node("Erf", [scaled], "gelu_erf")
    one = g.node("Add", [erf, g.constant("one", 1.0)], "gelu_one")
    half = g.node("Mul", [x, g.constant("half", 0.5)], "gelu_half")
    return g.node("Mul", [half, one], "gelu")


def _affine(m: Any, g: _Graph) -> tuple[str, str]:
    shape = getattr(m, "shape", (m.features,)) if isinstance(m, nn.LayerNorm) else (m.features,)
    ones, zeros = torch.ones(shape), torch.zeros(shape)
    weight = m.weight if m.weight is not None else ones
    bias = m.bias if m.bias is not None else zeros
    return g.constant("scale", weight), g.constant("shift", bias)


def _layer_norm(m: nn.LayerNorm, g: _Graph, x: str) -> str:
    scale, shift = _affine(m, g)
    axis = -len(m.shape)  # an image's (C, H, W) together
    return g.node("LayerNormalization", [x, scale, shift], "layer_norm", axis=axis, epsilon=m.eps)


def _batch_norm(m: nn.BatchNorm, g: _Graph, x: str) -> str:
    scale, shift = _affine(m, g)
    mean, var = g.constant("running_mean", m.running_mean), g.constant("running_var", m.running_var)
    return g.node("BatchNormalization", [x, scale, shift, mean, var], "batch_norm", epsilon=m.eps)


def _conv(m: nn.Conv2d, g: _Graph, x: str) -> str:
    inputs = [x, g.constant("weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.constant("bias", m.bias))
    k, s, p = m.kernel, m.stride, m.padding
    return g.node("Conv", inputs, "conv", kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)


def _pool(op: str) -> Export:
    def export(m: Any, g: _Graph, x: str) -> str:
        k, s = m.kernel, m.stride
        return g.node(op, [x], op.lower(), kernel_shape=[k, k], strides=[s, s])

    return export


def _concat(m: nn.Concat, g: _Graph, x: str) -> str:
    outputs = [export_module(branch, g, x) for branch in m.children()]
    return g.node("Concat", outputs, "concat", axis=m.dim)


def _sequential(m: nn.Sequential, g: _Graph, x: str) -> str:
    for module in m.children():
        x = export_module(module, g, x)
    return x


def _join(op: str, **attributes: Any) -> Export:
    def export(m: nn.Module, g: _Graph, x: str) -> str:
        outputs = [export_module(branch, g, x) for branch in m.children()]
        return g.node(op, outputs, op.lower(), **attributes)

    return export


def _plain(op: str, **attributes: Any) -> Export:
    return lambda m, g, x: g.node(op, [x], op.lower(), **attributes)


EXPORTS: dict[type, Export] = {
    nn.Linear: _linear,
    nn.ReLU: _plain("Relu"),
    nn.Tanh: _plain("Tanh"),
    nn.Sigmoid: _plain("Sigmoid"),
    nn.Identity: lambda m, g, x: x,
    nn.Dropout: lambda m, g, x: x,  # the identity in evaluation mode
    nn.LeakyReLU: lambda m, g, x: g.node("LeakyRelu", [x], "leaky_relu", alpha=m.slope),
    nn.GELU: _gelu,
    nn.Softmax: _plain("Softmax", axis=-1),
    nn.LayerNorm: _layer_norm,
    nn.BatchNorm: _batch_norm,
    nn.Sequential: _sequential,
    nn.Conv2d: _conv,
    nn.MaxPool2d: _pool("MaxPool"),
    nn.AvgPool2d: _pool("AveragePool"),
    nn.Flatten: _plain("Flatten", axis=1),
    nn.Sum: _join("Sum"),
    nn.Concat: _concat,
}


def export_module(module: nn.Module, g: _Graph, x: str) -> str:
    """Append `module`'s nodes reading value `x`; return the name of its output."""
    export = EXPORTS.get(type(module))
    if export is None:
        raise TypeError(f"--emit onnx: no ONNX form for {type(module).__name__}")
    return export(module, g, x)


def to_onnx(program: Program, name: str = "minidl") -> Any:
    """The trained program as an `onnx.ModelProto` (checked with `full_check=True`)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise OnnxMissing(
            '--emit onnx needs the onnx package: pip install "minidl[onnx]"'
        ) from None
    from minidl.export.onnx_inputs import ML_DOMAIN, encoded_inputs

    g = _Graph(helper, numpy_helper)
    image = program.data[0].shape
    features = len(program.feature_names) or int(program.data[0].inputs.shape[-1])
    x, inputs = encoded_inputs(g, program.encoding, features)
    normalizer = program.normalizer
    if normalizer is not None and normalizer.shift is not None and normalizer.scale is not None:
        x = g.node("Sub", [x, g.constant("shift", normalizer.shift)], "centred")
        x = g.node("Div", [x, g.constant("scale", normalizer.scale)], "normalised")
    if not isinstance(image, int):
        if program.feature_names:  # CSV rows of C*H*W features, made images here
            shape = g.constant_int("image_shape", [-1, *image])
            x = g.node("Reshape", [x, shape], "image")
        else:  # image files: the pixels themselves in [0, 1]
            pixels: list[str | int] = ["N", *image]
            inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, pixels)]
    program.model.eval()
    last = export_module(program.model, g, x)
    targets = program.target_normalizer
    if targets is not None and targets.shift is not None and targets.scale is not None:
        last = g.node("Mul", [last, g.constant("target_scale", targets.scale)], "unscaled")
        last = g.node("Add", [last, g.constant("target_shift", targets.shift)], "values")
    outputs = int(program.data[0].targets.shape[-1])
    g.nodes.append(helper.make_node("Identity", [last], ["output"], name="output"))
    graph = helper.make_graph(
        g.nodes,
        name,
        inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", outputs])],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    if any(node.domain == ML_DOMAIN for node in g.nodes):
        opsets.append(helper.make_opsetid(ML_DOMAIN, 2))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="minidl")
    model.ir_version = min(model.ir_version, 9)  # readable by onnxruntime releases of 2024
    if program.regress:
        helper.set_model_props(model, {"targets": json.dumps(list(program.targets))})
    else:
        labels = [_jsonable(label) for label in classes_of(program, outputs)]
        helper.set_model_props(model, {"labels": json.dumps(labels)})
    onnx.checker.check_model(model, full_check=True)
    return model


def _jsonable(label: Any) -> Any:
    return label if isinstance(label, int | float | str) else str(label)
