"""The layer words of MDL, one entry each: its options (type, range, default, meaning),
how it changes the width, and how many parameters it has.

Adding a layer word is one class here, registered with `@LAYERS.register` (and its record
on the compiler's side, `minidl.compiler.words`): the checker, suggestions, summary,
formatter, `--emit` and the docs all read these entries.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from minidl.lang.carried import Carried, ShapeFault, channels, describe_shape, size, window_output
from minidl.lang.lookup import WordTable
from minidl.lang.nodes import Node, Width

__all__ = [
    "GELU",
    "LAYERS",
    "AvgPool",
    "BatchNorm",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LayerWord",
    "LeakyReLU",
    "Linear",
    "MaxPool",
    "PoolWord",
    "ReLU",
    "ShapedWord",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class LayerWord(Node):
    """Base of a layer word: keeps the width (or the image) unless its entry says otherwise.

    The class docstring's first line is the word's meaning in docs, hover and help.
    """

    kind: str
    takes_shape: ClassVar[bool] = False
    batch_statistics: ClassVar[bool] = False
    """Whether training normalises over the mini-batch (then a batch needs two samples)."""
    needs_image: ClassVar[bool] = False
    """Whether the stage takes only an image (C, H, W), never a width."""

    def output(self, value: Carried) -> Carried | ShapeFault:
        """What the stage gives for what it receives (a width or an image), or why it can't."""
        return value

    def parameters(self, width_in: Carried, width_out: Carried) -> int:
        """The number of learnt parameters for what the stage receives and gives."""
        return 0


class ShapedWord(LayerWord):
    """A layer word written with a shape `IN->OUT` (`IN` may be left out, then inferred)."""

    takes_shape: ClassVar[bool] = True
    in_features: Width | None = None
    out_features: Width


LAYERS: WordTable[LayerWord] = WordTable("layer word", "kind")
"""Every layer word by name, in the order the docs list them; a word joins with
`@LAYERS.register` (a plug-in's too: nothing else needs rebuilding)."""


@LAYERS.register
class Linear(ShapedWord):
    """Affine layer `x W^T + b`."""

    kind: Literal["Linear"] = "Linear"
    bias: bool = Field(True, description="add a learnt bias b")

    def output(self, value: Carried) -> Carried | ShapeFault:
        if not isinstance(value, int):
            return ShapeFault(
                "E270",
                f"Linear takes a width, but it receives the image {describe_shape(value)}",
                f"put `Flatten` before it (`Flatten | Linear ->{self.out_features}`)",
            )
        return self.out_features

    def parameters(self, width_in: Carried, width_out: Carried) -> int:
        return size(width_out) * (size(width_in) + int(self.bias))


def _needs_image(word: str, value: int) -> ShapeFault:
    return ShapeFault(
        "E271",
        f"{word} takes an image (C, H, W), but it receives the width {value:,}",
        "give the data a shape (`data csv ... shape=[C, H, W]`, or `data images`), and "
        "keep it an image up to here (no `Flatten` or `Linear` before)",
    )


def _windows(
    word: str, value: Carried, kernel: int, stride: int, padding: int
) -> Carried | ShapeFault:
    """The image after K x K windows with step S over it, padded by P (a conv or a pool)."""
    if isinstance(value, int):
        return _needs_image(word, value)
    c, h, w = value
    if kernel > min(h + 2 * padding, w + 2 * padding):
        padded = f" ({h + 2 * padding}x{w + 2 * padding} with padding={padding})" if padding else ""
        return ShapeFault(
            "E272",
            f"{word}'s kernel {kernel} is larger than its input {h}x{w}{padded}",
            f"use `kernel={min(h, w) + 2 * padding}` or less"
            + ("" if padding or word != "Conv2d" else ", or add `padding=`"),
        )
    return c, window_output(h, kernel, stride, padding), window_output(w, kernel, stride, padding)


@LAYERS.register
class ReLU(LayerWord):
    """max(0, x), element-wise."""

    kind: Literal["ReLU"] = "ReLU"


@LAYERS.register
class Tanh(LayerWord):
    """tanh(x), element-wise."""

    kind: Literal["Tanh"] = "Tanh"


@LAYERS.register
class Sigmoid(LayerWord):
    """1 / (1 + exp(-x)), element-wise."""

    kind: Literal["Sigmoid"] = "Sigmoid"


@LAYERS.register
class Identity(LayerWord):
    """Passes its input on (a residual branch's skip)."""

    kind: Literal["Identity"] = "Identity"


@LAYERS.register
class Dropout(LayerWord):
    """While training, zeroes each value with probability p and scales the rest by 1/(1-p)."""

    kind: Literal["Dropout"] = "Dropout"
    p: float = Field(0.5, ge=0, lt=1, allow_inf_nan=False, description="drop probability")


@LAYERS.register
class LayerNorm(LayerWord):
    """Normalises each sample over its features, then a learnt scale and shift."""

    kind: Literal["LayerNorm"] = "LayerNorm"
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False, description="added to the variance")
    affine: bool = Field(True, description="learn a scale and a shift per feature")

    def parameters(self, width_in: Carried, width_out: Carried) -> int:
        return 2 * size(width_in) if self.affine else 0


@LAYERS.register
class BatchNorm(LayerWord):
    """Normalises each feature over the mini-batch; running statistics for evaluation."""

    kind: Literal["BatchNorm"] = "BatchNorm"
    batch_statistics: ClassVar[bool] = True
    eps: float = Field(1e-5, gt=0, allow_inf_nan=False, description="added to the variance")
    momentum: float = Field(
        0.1, ge=0, le=1, allow_inf_nan=False, description="weight of a batch in the running stats"
    )
    affine: bool = Field(True, description="learn a scale and a shift per feature")

    def parameters(self, width_in: Carried, width_out: Carried) -> int:
        return 2 * channels(width_in) if self.affine else 0


@LAYERS.register
class LeakyReLU(LayerWord):
    """x where x > 0, else slope * x, element-wise."""

    kind: Literal["LeakyReLU"] = "LeakyReLU"
    slope: float = Field(0.01, allow_inf_nan=False, description="the slope for x < 0")


@LAYERS.register
class GELU(LayerWord):
    """x * Phi(x) (the exact, erf form), element-wise."""

    kind: Literal["GELU"] = "GELU"


@LAYERS.register
class Softmax(LayerWord):
    """exp(x) / sum(exp(x)) over the features."""

    kind: Literal["Softmax"] = "Softmax"


@LAYERS.register
class Conv2d(ShapedWord):
    """2-D convolution: OUT filters of IN x K x K slid over the image (torch.nn.Conv2d)."""

    kind: Literal["Conv2d"] = "Conv2d"
    needs_image: ClassVar[bool] = True
    kernel: Width = Field(description="the side K of the square filter")
    stride: Width = Field(1, description="the step between windows")
    padding: int = Field(0, ge=0, le=1_000, description="zeros added on each border")
    bias: bool = Field(True, description="add a learnt bias per output channel")

    def output(self, value: Carried) -> Carried | ShapeFault:
        out = _windows("Conv2d", value, self.kernel, self.stride, self.padding)
        return out if isinstance(out, ShapeFault | int) else (self.out_features, *out[1:])

    def parameters(self, width_in: Carried, width_out: Carried) -> int:
        return self.out_features * (channels(width_in) * self.kernel**2 + int(self.bias))


class PoolWord(LayerWord):
    """Base of the pools: a K x K window moved by a stride, per channel."""

    needs_image: ClassVar[bool] = True
    kernel: Width = Field(description="the side K of the window")
    stride: Width | None = Field(None, description="the step between windows (default K)")

    def output(self, value: Carried) -> Carried | ShapeFault:
        return _windows(self.kind, value, self.kernel, self.stride or self.kernel, 0)


@LAYERS.register
class MaxPool(PoolWord):
    """The largest value of each K x K window, per channel (torch.nn.MaxPool2d)."""

    kind: Literal["MaxPool"] = "MaxPool"


@LAYERS.register
class AvgPool(PoolWord):
    """The mean of each K x K window, per channel (torch.nn.AvgPool2d)."""

    kind: Literal["AvgPool"] = "AvgPool"


@LAYERS.register
class Flatten(LayerWord):
    """An image (C, H, W) as the width C*H*W, channel by channel, row by row."""

    kind: Literal["Flatten"] = "Flatten"
    needs_image: ClassVar[bool] = True

    def output(self, value: Carried) -> Carried | ShapeFault:
        if isinstance(value, int):
            return ShapeFault(
                "E273",
                f"Flatten takes an image, but it receives the width {value:,}",
                "remove `Flatten`: the values are flat already",
            )
        return size(value)
