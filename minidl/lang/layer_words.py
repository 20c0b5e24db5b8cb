"""The layer words of MDL, one entry each: its options (type, range, default, meaning),
how it changes the width, and how many parameters it has.

Adding a layer word is one class here (and its minidl module and compiler line): the
checker, suggestions, summary, formatter, `--emit` and the docs all read these entries.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from minidl.lang.nodes import Node, Width

__all__ = [
    "GELU",
    "LAYERS",
    "BatchNorm",
    "Dropout",
    "Identity",
    "LayerNorm",
    "LayerWord",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "ShapedWord",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class LayerWord(Node):
    """Base of a layer word: keeps the width unless it is a `ShapedWord`.

    The class docstring's first line is the word's meaning in docs, hover and help.
    """

    kind: str
    takes_shape: ClassVar[bool] = False
    batch_statistics: ClassVar[bool] = False
    """Whether training normalises over the mini-batch (then a batch needs two samples)."""

    def parameters(self, width_in: int, width_out: int) -> int:
        """The number of learnt parameters for these input and output widths."""
        return 0


class ShapedWord(LayerWord):
    """A layer word written with a shape `IN->OUT` (`IN` may be left out, then inferred)."""

    takes_shape: ClassVar[bool] = True
    in_features: Width | None = None
    out_features: Width


class Linear(ShapedWord):
    """Affine layer `x W^T + b`."""

    kind: Literal["Linear"] = "Linear"
    bias: bool = Field(True, description="add a learnt bias b")

    def parameters(self, width_in: int, width_out: int) -> int:
        return width_out * (width_in + int(self.bias))


class ReLU(LayerWord):
    """max(0, x), element-wise."""

    kind: Literal["ReLU"] = "ReLU"


class Tanh(LayerWord):
    """tanh(x), element-wise."""

    kind: Literal["Tanh"] = "Tanh"


class Sigmoid(LayerWord):
    """1 / (1 + exp(-x)), element-wise."""

    kind: Literal["Sigmoid"] = "Sigmoid"


class Identity(LayerWord):
    """Passes its input on (a residual branch's skip)."""

    kind: Literal["Identity"] = "Identity"


class Dropout(LayerWord):
    """While training, zeroes each value with probability p and scales the rest by 1/(1-p)."""

    kind: Literal["Dropout"] = "Dropout"
    p: float = Field(0.5, ge=0, lt=1, allow_inf_nan=False, description="drop probability")


class LayerNorm(LayerWord):
    """Normalises each sample over its features, then a learnt scale and shift."""

    kind: Literal["LayerNorm"] = "LayerNorm"
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False, description="added to the variance")
    affine: bool = Field(True, description="learn a scale and a shift per feature")

    def parameters(self, width_in: int, width_out: int) -> int:
        return 2 * width_in if self.affine else 0


class BatchNorm(LayerWord):
    """Normalises each feature over the mini-batch; running statistics for evaluation."""

    kind: Literal["BatchNorm"] = "BatchNorm"
    batch_statistics: ClassVar[bool] = True
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False, description="added to the variance")
    momentum: float = Field(
        0.1, ge=0, le=1, allow_inf_nan=False, description="weight of a batch in the running stats"
    )
    affine: bool = Field(True, description="learn a scale and a shift per feature")

    def parameters(self, width_in: int, width_out: int) -> int:
        return 2 * width_in if self.affine else 0


class LeakyReLU(LayerWord):
    """x where x > 0, else slope * x, element-wise."""

    kind: Literal["LeakyReLU"] = "LeakyReLU"
    slope: float = Field(0.01, allow_inf_nan=False, description="the slope for x < 0")


class GELU(LayerWord):
    """x * Phi(x) (the exact, erf form), element-wise."""

    kind: Literal["GELU"] = "GELU"


class Softmax(LayerWord):
    """exp(x) / sum(exp(x)) over the features."""

    kind: Literal["Softmax"] = "Softmax"


LAYERS: dict[str, type[LayerWord]] = {
    word.model_fields["kind"].default: word
    for word in (
        Linear,
        ReLU,
        Tanh,
        Sigmoid,
        Identity,
        Dropout,
        LayerNorm,
        BatchNorm,
        LeakyReLU,
        GELU,
        Softmax,
    )
}
"""Every layer word by name, in the order the docs list them."""
