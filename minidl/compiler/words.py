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
from minidl.lang import ir
from minidl.optim import SGD, Adam, AdamW, Optimizer

__all__ = ["LAYERS", "LOSSES", "OPTIMIZERS", "Build", "LayerEntry", "LossEntry", "OptimizerEntry"]


@dataclass(frozen=True)
class Build:
    """What building a layer needs beyond the word: its widths and the run's random stream."""

    width_in: int
    width_out: int
    generator: torch.Generator
    dtype: torch.dtype


@dataclass(frozen=True)
class LayerEntry:
    """A layer word's minidl module, and its torch twin made from a built module."""

    minidl: Callable[[Any, Build], nn.Module]
    torch: Callable[[Any], torch.nn.Module]
    python: str
    """The constructor call `--emit python` writes; `{width_in}`, `{width_out}` and the
    word's options are filled in (`generator` and `DTYPE` are the script's)."""


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
        m.features, eps=m.eps, elementwise_affine=m.affine, dtype=dtype, device=device
    )
    return _copy(layer, weight=m.weight, bias=m.bias)


def _torch_batch_norm(m: nn.BatchNorm) -> torch.nn.Module:
    stats = m.running_mean
    layer = torch.nn.BatchNorm1d(
        m.features, m.eps, m.momentum, m.affine, dtype=stats.dtype, device=stats.device
    )
    return _copy(layer, weight=m.weight, bias=m.bias, running_mean=stats, running_var=m.running_var)


LAYERS: dict[str, LayerEntry] = {
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
    "Identity": LayerEntry(lambda w, b: nn.Identity(), lambda m: torch.nn.Identity(), "Identity()"),
    "Dropout": LayerEntry(
        lambda w, b: nn.Dropout(w.p, generator=b.generator),
        lambda m: _TorchDropout(m),
        "Dropout({p!r}, generator=generator)",
    ),
    "LayerNorm": LayerEntry(
        lambda w, b: nn.LayerNorm(b.width_in, w.eps, w.affine, dtype=b.dtype),
        _torch_layer_norm,
        "LayerNorm({width_in}, {eps!r}, {affine}, dtype=DTYPE)",
    ),
    "BatchNorm": LayerEntry(
        lambda w, b: nn.BatchNorm(b.width_in, w.eps, w.momentum, w.affine, dtype=b.dtype),
        _torch_batch_norm,
        "BatchNorm({width_in}, {eps!r}, {momentum!r}, {affine}, dtype=DTYPE)",
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
}


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


LOSSES: dict[str, LossEntry] = {
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
}


@dataclass(frozen=True)
class OptimizerEntry:
    """An optimiser word's minidl optimiser, and torch.optim's equivalent."""

    minidl: Callable[[Any, Any], Optimizer]
    torch: Callable[[Any, Iterator[torch.nn.Parameter]], torch.optim.Optimizer]
    python: str
    """The class `--emit python` writes; the word's options are its keyword arguments."""


OPTIMIZERS: dict[str, OptimizerEntry] = {
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
}


def layer_entry(word: ir.LayerWord) -> LayerEntry:
    """The entry behind a layer word of the IR."""
    return LAYERS[word.kind]
