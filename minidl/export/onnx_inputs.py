"""The inputs of an exported ONNX model and the encoding inside it (contract v3).

Numeric features only: one input `input` `(N, D)` float32 of raw features, a missing
value NaN, filled with the train mean inside. With a categorical feature: one input per
feature column, named as the column, `(N, 1)`: float32 for a numeric column (NaN
missing), string for a categorical one (`""` or `NA`... missing). Inside, a category
becomes its index (`ai.onnx.ml` LabelEncoder; an unseen value -1) and the index one-hot
(Equal against 0..K-1), so the graph computes what `--predict` computes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minidl.data.encoding import ColumnCode, Encoding
from minidl.data.missing import na_spellings

__all__ = ["ML_DOMAIN", "encoded_inputs"]

ML_DOMAIN = "ai.onnx.ml"


def encoded_inputs(g: Any, encoding: Encoding | None, features: int) -> tuple[str, list[Any]]:
    """(the value holding the raw network inputs `(N, W)`, the graph's input infos)."""
    helper, proto = g.helper, _tensor_proto()
    if encoding is None or not encoding.categorical:
        infos = [helper.make_tensor_value_info("input", proto.FLOAT, ["N", features])]
        if encoding is None:
            return "input", infos
        means = np.array([column.mean for column in encoding.columns], dtype=np.float32)
        return _fill("input", means, g), infos
    infos, blocks = [], []
    for column in encoding.columns:
        kind = proto.FLOAT if column.kind == "numeric" else proto.STRING
        infos.append(helper.make_tensor_value_info(column.name, kind, ["N", 1]))
        if column.kind == "numeric":
            blocks.append(_fill(column.name, np.array([column.mean], np.float32), g))
        else:
            blocks.append(_one_hot(column, g))
    joined: str = g.node("Concat", blocks, "features", axis=1) if len(blocks) > 1 else blocks[0]
    return joined, infos


def _fill(x: str, means: np.ndarray, g: Any) -> str:
    """Missing (NaN) values take the train means."""
    missing = g.node("IsNaN", [x], "missing")
    filled: str = g.node("Where", [missing, g.constant("means", means), x], "filled")
    return filled


def _one_hot(column: ColumnCode, g: Any) -> str:
    keys = [str(category) for category in column.categories]
    values = list(range(len(keys)))
    if column.missing:  # missing cells: the category after the others
        spare = [word for word in na_spellings() if word not in keys]
        keys += spare
        values += [len(column.categories)] * len(spare)
    code = g.name("code")
    g.nodes.append(
        g.helper.make_node(
            "LabelEncoder",
            [column.name],
            [code],
            name=code,
            domain=ML_DOMAIN,
            keys_strings=keys,
            values_int64s=values,
            default_int64=-1,
        )
    )
    indices = g.numpy_helper.from_array(np.arange(column.width, dtype=np.int64), g.name("index"))
    g.initializers.append(indices)
    hot = g.node("Equal", [code, indices.name], "is_category")
    one_hot: str = g.node("Cast", [hot], "one_hot", to=_tensor_proto().FLOAT)
    return one_hot


def _tensor_proto() -> Any:
    from onnx import TensorProto

    return TensorProto
