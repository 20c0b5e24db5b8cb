"""A trained program's predictions for raw features: normalise, run in eval mode, decide.

What `Program.predict`, `minidl RUN_DIR --predict` and the ONNX check share: with K >= 2
outputs the arg-max class and the softmax of the outputs; with one output the class the
error rate counts (output > 0.5, or logit > 0 for BCE) and the output itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from minidl.data import Label, Normalizer
from minidl.data.encoding import Encoding
from minidl.nn import Loss, LossBCE, Module


class Program(Protocol):
    """What predicting needs of a compiled program (`minidl.compiler.program.Program`)."""

    @property
    def model(self) -> Module: ...

    @property
    def loss(self) -> Loss: ...

    @property
    def labels(self) -> Sequence[Any] | None: ...

    @property
    def normalizer(self) -> Normalizer | None: ...

    @property
    def encoding(self) -> Encoding | None: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    @property
    def targets(self) -> tuple[str, ...]: ...

    @property
    def target_normalizer(self) -> Normalizer | None: ...


__all__ = [
    "CHUNK_ROWS",
    "classes_of",
    "decide",
    "encode_inputs",
    "network_outputs",
    "predict_labels",
    "values_of",
]

CHUNK_ROWS = 65_536
"""Rows through the network at a time: memory stays flat however many rows there are."""


def classes_of(program: Program, outputs: int) -> tuple[Label, ...]:
    """The class each prediction index means: the data's labels in sorted order, or the
    indices themselves (0 and 1 for one output) where the data has no labels (the disk)."""
    if program.labels is not None:
        return tuple(program.labels)
    return (0, 1) if outputs == 1 else tuple(range(outputs))


def encode_inputs(program: Program, inputs: Tensor | Any) -> Tensor | Any:
    """Raw rows as the network's raw inputs: a pandas DataFrame (columns by name) encoded
    as training encoded its feature columns; an array of numeric features with its
    missing cells (NaN) filled as in training."""
    encoding = program.encoding
    import pandas as pd

    if isinstance(inputs, pd.DataFrame):
        names = tuple(program.feature_names)
        absent = [name for name in names if name not in inputs.columns]
        if absent:
            raise ValueError(f"predict: the rows lack the feature column `{absent[0]}`")
        if encoding is None:
            return inputs[list(names)].to_numpy(dtype=np.float64)
        return encoding.encode(inputs).inputs
    if encoding is None:
        return inputs
    if encoding.categorical:
        raise ValueError(
            "predict: a feature is categorical; pass a pandas DataFrame with the columns "
            + ", ".join(encoding.names)
        )
    raw = torch.as_tensor(np.asarray(inputs) if not isinstance(inputs, Tensor) else inputs)
    raw = raw.to("cpu", torch.float64)
    if raw.dim() == 2 and raw.shape[1] == encoding.width and raw.isnan().any():
        means = torch.tensor([column.mean for column in encoding.columns], dtype=torch.float64)
        raw = torch.where(raw.isnan(), means, raw)
    return raw


def network_outputs(program: Program, inputs: Tensor | Any) -> Tensor:
    """The network's last stage `(N, K)` in float64 for raw inputs `(N, D)` (encoded, see
    `encode_inputs`), in eval mode."""
    raw = torch.as_tensor(np.asarray(inputs) if not isinstance(inputs, Tensor) else inputs)
    raw = raw.to("cpu", torch.float64)
    if raw.dim() != 2:
        raise ValueError(f"predict: expected raw features (N, D), got shape {tuple(raw.shape)}")
    width = _input_width(program)
    if width is not None and raw.shape[1] != width:
        raise ValueError(f"predict: the network takes {width} features per row, got {raw.shape[1]}")
    first = next(iter(program.model.param()), None)
    dtype = first[0].dtype if first is not None else torch.float64
    device = first[0].device if first is not None else torch.device("cpu")
    program.model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, raw.shape[0], CHUNK_ROWS):
            chunk = raw[start : start + CHUNK_ROWS]
            if program.normalizer is not None:
                chunk = program.normalizer.apply(chunk)
            parts.append(program.model.forward(chunk.to(device, dtype)).to("cpu", torch.float64))
    if not parts:
        return torch.zeros(0, _width(program), dtype=torch.float64)
    return torch.cat(parts)


def decide(program: Program, outputs: Tensor) -> tuple[Tensor, Tensor]:
    """Class indices `(N,)` and the columns written after them: the softmax `(N, K)` for
    K >= 2, the output itself `(N, 1)` for one output."""
    if outputs.shape[-1] >= 2:
        return outputs.argmax(-1), torch.softmax(outputs, dim=-1)
    threshold = 0.0 if isinstance(program.loss, LossBCE) else 0.5
    return (outputs[:, 0] > threshold).long(), outputs


def values_of(program: Program, outputs: Tensor) -> Tensor:
    """Regression: the network's outputs `(N, T)` as the targets' values, own scale."""
    normalizer = program.target_normalizer
    return outputs.to(torch.float64) if normalizer is None else normalizer.invert(outputs)


def predict_labels(program: Program, inputs: Tensor | Any) -> list[Any]:
    """The predicted class of each row of raw features, as the data writes it; for values
    to predict, the value (a tuple of values for several target columns)."""
    outputs = network_outputs(program, encode_inputs(program, inputs))
    if program.target_normalizer is not None:
        values = values_of(program, outputs)
        if values.shape[-1] == 1:
            return [float(v) for v in values[:, 0].tolist()]
        return [tuple(row) for row in values.tolist()]
    indices, _ = decide(program, outputs)
    classes = classes_of(program, outputs.shape[-1])
    return [classes[i] for i in indices.tolist()]


def _input_width(program: Program) -> int | None:
    """The feature count the first stage with weights takes, when there is one."""
    first = next(iter(program.model.param()), None)
    return None if first is None or first[0].dim() != 2 else int(first[0].shape[-1])


def _width(program: Program) -> int:
    last = [value for value, _ in program.model.param()]
    return int(last[-1].shape[0]) if last else 1
