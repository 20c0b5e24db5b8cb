"""The network expanded: each layer with what it receives and gives, joins with their branches.

What shape inference (`minidl.lang.shapes`) hands to the summary, the linter, the memory
estimate and the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minidl.lang import ir
from minidl.lang.carried import Carried
from minidl.lang.errors import Diagnostic

__all__ = ["Joined", "Layer", "Resolution", "Resolved"]


@dataclass(frozen=True)
class Layer:
    """One stage of the expanded network, with what it receives and gives: a width or an
    image (None where not yet known)."""

    word: ir.LayerWord
    in_features: Carried | None
    out_features: Carried | None

    @property
    def kind(self) -> str:
        """The layer word's name: `Linear`, `ReLU`, ..."""
        return self.word.kind

    @property
    def span(self) -> ir.Span | None:
        """Where the stage is written."""
        return self.word.span

    @property
    def parameters(self) -> int | None:
        if self.in_features is None or self.out_features is None:
            # Unknown, unless the word never has parameters (it keeps LayerWord's count).
            learns = type(self.word).parameters is not ir.LayerWord.parameters
            return None if learns else 0
        return self.word.parameters(self.in_features, self.out_features)


@dataclass(frozen=True)
class Joined:
    """A join of the expanded network: each branch's resolved stages, and the join's widths."""

    join: ir.Join
    branches: tuple[tuple[Resolved, ...], ...]
    in_features: Carried | None
    out_features: Carried | None

    @property
    def op(self) -> str:
        """`sum` or `concat`."""
        return self.join.op

    @property
    def span(self) -> ir.Span | None:
        """Where the join is written."""
        return self.join.span


Resolved = Layer | Joined
"""One stage of the expanded network: a layer, or a join of branches."""


@dataclass
class Resolution:
    """The expanded network, its parameter count, and what was wrong with its shapes.

    `network` is the expanded network as a tree (joins hold their branches); `layers` is
    every layer of it in spec order, depth first through the branches; `out_features` is
    the network's output width.
    """

    layers: list[Layer] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    network: list[Resolved] = field(default_factory=list)
    out_features: Carried | None = None

    @property
    def parameters(self) -> int | None:
        counts = [layer.parameters for layer in self.layers]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
