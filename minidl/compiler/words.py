"""What stands behind each word of the language: the minidl object and its torch twin.

One line a word, looked up by the IR's kind: `LAYERS` builds a layer word's minidl module
and turns a built module into the torch.nn module that computes the same (same weights and
state), for `backend=torch`; `LOSSES` and `OPTIMIZERS` do the same for losses and
optimisers. `tests/test_words.py` fails when a word of `minidl.lang` lacks an entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from minidl import nn
from minidl.compiler.records import MissingRecord, Records
from minidl.lang import ir
from minidl.lang.carried import Carried, channels, size
from minidl.optim import SGD, Adam, AdamW, Optimizer

__all__ = [
    "LAYERS",
    "LOSSES",
    "OPTIMIZERS",
    "Build",
    "LayerEntry",
    "LossEntry",
    "MissingRecord",
    "OptimizerEntry",
    "Records",
    "word_of",
]


@dataclass(frozen=True)
class Build:
    """What building a layer needs beyond the word: what it receives and gives (a width or
    an image `(C, H, W)`) and the run's random stream."""

    shape_in: Carried
    shape_out: Carried
    generator: torch.Generator
    dtype: torch.dtype

    @property
    def width_in(self) -> int:
        """The input's width (an image's C*H*W values)."""
        return size(self.shape_in)

    @property
    def width_out(self) -> int:
        """The output's width (an image's C*H*W values)."""
        return size(self.shape_out)

    @property
    def channels_in(self) -> int:
        """An image input's channels, or a flat input's width."""
        return channels(self.shape_in)

    @property
    def channels_out(self) -> int:
        """An image output's channels, or a flat output's width."""
        return channels(self.shape_out)

    @property
    def image(self) -> bool:
        """Whether the input is an image."""
        return not isinstance(self.shape_in, int)

    def fields(self) -> dict[str, object]:
        """What `--emit python`'s constructor calls may name: `{width_in}`, `{shape_in}`,
        `{channels_in}`, `{image}`, and the same for the output."""
        return {
            "width_in": self.width_in,
            "width_out": self.width_out,
            "shape_in": self.shape_in,
            "channels_in": self.channels_in,
            "channels_out": self.channels_out,
            "image": ", image=True" if self.image else "",
        }


@dataclass(frozen=True)
class LayerEntry:
    """A layer word's minidl module, and its torch twin made from a built module."""

    minidl: Callable[[Any, Build], nn.Module]
    torch: Callable[[Any], torch.nn.Module]
    python: str
    """The constructor call `--emit python` writes; `Build.fields()` and the word's options
    are filled in (`generator` and `DTYPE` are the script's)."""
    module: type[nn.Module] | None = None
    """The minidl class it builds, when its name is not the word's (`MaxPool2d`)."""


def _copy(target: torch.nn.Module, **tensors: Tensor | None) -> torch.nn.Module:
    """`target` with its named parameters and buffers replaced by copies of `tensors`."""
    with torch.no_grad():
        for name, tensor in tensors.items():
            if tensor is not None:
                getattr(target, name).copy_(tensor)
    return target


def _torch_linear(m: nn.Linear) -> torch.nn.Module:
    layer = torch.nn.Linear(
        m.in_features,
        m.out_features,
        m.bias is not None,
        dtype=m.weight.dtype,
        device=m.weight.device,
    )
    return _copy(layer, weight=m.weight, bias=m.bias)


def _torch_layer_norm(m: nn.LayerNorm) -> torch.nn.Module:
    dtype = None if m.weight is None else m.weight.dtype
    device = None if m.weight is None else m.weight.device
    layer = torch.nn.LayerNorm(
        m.shape, eps=m.eps, elementwise_affine=m.affine, dtype=dtype, device=device
    )
    return _copy(layer, weight=m.weight, bias=m.bias)


def _torch_batch_norm(m: nn.BatchNorm) -> torch.nn.Module:
    stats = m.running_mean
    kind = torch.nn.BatchNorm2d if m.image else torch.nn.BatchNorm1d
    layer = kind(m.features, m.eps, m.momentum, m.affine, dtype=stats.dtype, device=stats.device)
    return _copy(layer, weight=m.weight, bias=m.bias, running_mean=stats, running_var=m.running_var)


def _torch_conv(m: nn.Conv2d) -> torch.nn.Module:
    layer = torch.nn.Conv2d(
        m.in_channels,
        m.out_channels,
        m.kernel,
        m.stride,
        m.padding,
        bias=m.bias is not None,
        dtype=m.weight.dtype,
        device=m.weight.device,
    )
    return _copy(layer, weight=m.weight, bias=m.bias)


LAYERS: Records[LayerEntry] = Records(
    "layer",
    "minidl.compiler.words.LAYERS",
    {
        "Linear": LayerEntry(
            lambda w, b: nn.Linear(
                b.width_in, b.width_out, w.bias, generator=b.generator, dtype=b.dtype
            ),
            _torch_linear,
            "Linear({width_in}, {width_out}, bias={bias}, generator=generator, dtype=DTYPE)",
        ),
        "ReLU": LayerEntry(lambda w, b: nn.ReLU(), lambda m: torch.nn.ReLU(), "ReLU()"),
        "Tanh": LayerEntry(lambda w, b: nn.Tanh(), lambda m: torch.nn.Tanh(), "Tanh()"),
        "Sigmoid": LayerEntry(lambda w, b: nn.Sigmoid(), lambda m: torch.nn.Sigmoid(), "Sigmoid()"),
        "Identity": LayerEntry(
            lambda w, b: nn.Identity(), lambda m: torch.nn.Identity(), "Identity()"
        ),
        "Dropout": LayerEntry(
            lambda w, b: nn.Dropout(w.p, generator=b.generator),
            lambda m: _TorchDropout(m),
            "Dropout({p!r}, generator=generator)",
        ),
        "LayerNorm": LayerEntry(
            lambda w, b: nn.LayerNorm(b.shape_in, w.eps, w.affine, dtype=b.dtype),
            _torch_layer_norm,
            "LayerNorm({shape_in}, {eps!r}, {affine}, dtype=DTYPE)",
        ),
        "BatchNorm": LayerEntry(
            lambda w, b: nn.BatchNorm(
                b.channels_in, w.eps, w.momentum, w.affine, image=b.image, dtype=b.dtype
            ),
            _torch_batch_norm,
            "BatchNorm({channels_in}, {eps!r}, {momentum!r}, {affine}{image}, dtype=DTYPE)",
        ),
        "LeakyReLU": LayerEntry(
            lambda w, b: nn.LeakyReLU(w.slope),
            lambda m: torch.nn.LeakyReLU(m.slope),
            "LeakyReLU({slope!r})",
        ),
        "GELU": LayerEntry(lambda w, b: nn.GELU(), lambda m: torch.nn.GELU(), "GELU()"),
        "Softmax": LayerEntry(
            lambda w, b: nn.Softmax(), lambda m: torch.nn.Softmax(dim=-1), "Softmax()"
        ),
        "Conv2d": LayerEntry(
            lambda w, b: nn.Conv2d(
                b.channels_in,
                b.channels_out,
                w.kernel,
                w.stride,
                w.padding,
                w.bias,
                generator=b.generator,
                dtype=b.dtype,
            ),
            _torch_conv,
            "Conv2d({channels_in}, {channels_out}, {kernel}, {stride}, {padding}, {bias}, "
            "generator=generator, dtype=DTYPE)",
        ),
        "MaxPool": LayerEntry(
            lambda w, b: nn.MaxPool2d(w.kernel, w.stride),
            lambda m: torch.nn.MaxPool2d(m.kernel, m.stride),
            "MaxPool2d({kernel}, {stride})",
            nn.MaxPool2d,
        ),
        "AvgPool": LayerEntry(
            lambda w, b: nn.AvgPool2d(w.kernel, w.stride),
            lambda m: torch.nn.AvgPool2d(m.kernel, m.stride),
            "AvgPool2d({kernel}, {stride})",
            nn.AvgPool2d,
        ),
        "Flatten": LayerEntry(
            lambda w, b: nn.Flatten(), lambda m: torch.nn.Flatten(-3), "Flatten()"
        ),
    },
)


class _TorchDropout(torch.nn.Module):
    """torch's twin of a minidl Dropout: the same masks, drawn from the same generator.

    torch.nn.Dropout draws from torch's global stream; `backend=torch` must draw what
    minidl draws, so the mask comes from minidl's own module (the draw is not a gradient).
    """

    def __init__(self, source: nn.Dropout) -> None:
        super().__init__()
        self.source = source

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.source.p == 0:
            return x
        # The module's forward on ones is its mask (1/(1-p) where kept, 0 where dropped),
        # drawn from the run's generator exactly as minidl's training draws it.
        mask = self.source.forward(torch.ones_like(x))
        return x * mask


@dataclass(frozen=True)
class LossEntry:
    """A loss word's minidl module, and the same per-sample loss as torch functions."""

    minidl: Callable[[Any], nn.Loss]
    torch: Callable[[Any, Tensor, Tensor], Tensor]
    """(the loss's IR node, output, one-hot or value targets) -> per-sample losses (N,)."""
    python: str
    """The class `--emit python` writes; the word's options are its keyword arguments."""


def _class_index(targets: Tensor) -> Tensor:
    return targets.argmax(dim=-1)


LOSSES: Records[LossEntry] = Records(
    "loss",
    "minidl.compiler.words.LOSSES",
    {
        "MSE": LossEntry(
            lambda w: nn.LossMSE(w.reduction),
            lambda w, y, t: F.mse_loss(y, t, reduction="none").mean(-1),
            "LossMSE",
        ),
        "L1": LossEntry(
            lambda w: nn.LossL1(w.reduction),
            lambda w, y, t: F.l1_loss(y, t, reduction="none").mean(-1),
            "LossL1",
        ),
        "Huber": LossEntry(
            lambda w: nn.LossHuber(w.reduction, w.delta),
            lambda w, y, t: F.huber_loss(y, t, reduction="none", delta=w.delta).mean(-1),
            "LossHuber",
        ),
        "CrossEntropy": LossEntry(
            lambda w: nn.LossCrossEntropy(w.reduction),
            lambda w, y, t: F.cross_entropy(y, _class_index(t), reduction="none"),
            "LossCrossEntropy",
        ),
        "BCE": LossEntry(
            lambda w: nn.LossBCE(w.reduction),
            lambda w, y, t: F.binary_cross_entropy_with_logits(y, t, reduction="none").mean(-1),
            "LossBCE",
        ),
    },
)


@dataclass(frozen=True)
class OptimizerEntry:
    """An optimiser word's minidl optimiser, and torch.optim's equivalent."""

    minidl: Callable[[Any, Any], Optimizer]
    torch: Callable[[Any, Iterator[torch.nn.Parameter]], torch.optim.Optimizer]
    python: str
    """The class `--emit python` writes; the word's options are its keyword arguments."""


OPTIMIZERS: Records[OptimizerEntry] = Records(
    "optimiser",
    "minidl.compiler.words.OPTIMIZERS",
    {
        "sgd": OptimizerEntry(
            lambda w, p: SGD(
                p, lr=w.lr, momentum=w.momentum, weight_decay=w.weight_decay, nesterov=w.nesterov
            ),
            lambda w, p: torch.optim.SGD(
                p, lr=w.lr, momentum=w.momentum, weight_decay=w.weight_decay, nesterov=w.nesterov
            ),
            "SGD",
        ),
        "adam": OptimizerEntry(
            lambda w, p: Adam(p, lr=w.lr, betas=w.betas, eps=w.eps, weight_decay=w.weight_decay),
            lambda w, p: torch.optim.Adam(
                p, lr=w.lr, betas=w.betas, eps=w.eps, weight_decay=w.weight_decay
            ),
            "Adam",
        ),
        "adamw": OptimizerEntry(
            lambda w, p: AdamW(p, lr=w.lr, betas=w.betas, eps=w.eps, weight_decay=w.weight_decay),
            lambda w, p: torch.optim.AdamW(
                p, lr=w.lr, betas=w.betas, eps=w.eps, weight_decay=w.weight_decay
            ),
            "AdamW",
        ),
    },
)


def layer_entry(word: ir.LayerWord) -> LayerEntry:
    """The entry behind a layer word of the IR."""
    return LAYERS[word.kind]


def word_of(module: nn.Module) -> str:
    """The word a built minidl module stands for (`Linear`, `MaxPool`, ...)."""
    for kind, entry in LAYERS.items():
        if entry.module is type(module):
            return kind
    return type(module).__name__
