"""The network's stages and the `let` blocks: names, groups, joins and repetition.

A `StageChecker` turns syntax stages into IR stages for one text, reporting through the
text's `Reporter`; layer words' own arguments are checked by `minidl.lang.layer_arguments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from minidl.lang import ir
from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.layer_arguments import check_layer, no_arguments
from minidl.lang.registry import LAYERS, STATEMENTS
from minidl.lang.syntax import Call, Group, JoinStage, Let, Pipeline, RepeatStage, SyntaxStage

__all__ = ["FIRST", "StageChecker"]

FIRST = "first defined here"
"""The note of a second definition's `related` place: where the first one is."""


class StageChecker:
    """Checks the blocks and the network of one text; remembers the blocks that failed, so
    that their uses are not reported again."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.failed_blocks: set[str] = set()

    def blocks(self, lets: list[Let], network: Pipeline | None) -> dict[str, ir.Block]:
        """The blocks defined before the network, by name (each checked in source order)."""
        report = self.reporter
        blocks: dict[str, ir.Block] = {}
        defined: dict[str, Let] = {}
        for position, let in enumerate(lets):
            if let.name in LAYERS or let.name in STATEMENTS:
                report.error(
                    "E212",
                    f"`{let.name}` is a built-in word and cannot name a block",
                    let.name_start,
                    let.name_end,
                    "choose another name",
                )
                continue
            if let.name in blocks:
                first = defined[let.name]
                report.error(
                    "E212",
                    f"block `{let.name}` is defined twice",
                    let.name_start,
                    let.name_end,
                    "rename or remove one of the two",
                    related=((first.name_start, first.name_end, FIRST),),
                )
                continue
            defined.setdefault(let.name, let)
            later = lets[position + 1 :]  # statements come in source order
            stages = self.stages(let.body.stages, blocks, let.name, later)
            if stages is None:
                self.failed_blocks.add(let.name)
            else:
                span = report.span(let.start, let.end)
                blocks[let.name] = ir.Block(name=let.name, stages=stages, span=span)
        if network is not None:
            for let in lets:
                if let.start > network.start and let.name in blocks:
                    del blocks[let.name]
        return blocks

    def stages(
        self,
        nodes: Sequence[SyntaxStage],
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> tuple[ir.Stage, ...] | None:
        """The stages of a pipeline (`defining` names the block they are in, `later` the
        blocks defined below); None if any has an error."""
        stages = [self.stage(node, blocks, defining, later) for node in nodes]
        if any(stage is None for stage in stages):
            return None
        return tuple(s for s in stages if s is not None)

    def stage(
        self,
        node: SyntaxStage,
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> ir.Stage | None:
        """One stage: a word, a block, a group, a join or a repetition."""
        if isinstance(node, Call):
            return self._call_stage(node, blocks, defining, later)
        if isinstance(node, JoinStage):
            return self._join(node, blocks, defining, later)
        span = self.reporter.span(node.start, node.end)
        if isinstance(node, Group):
            stages = self.stages(node.stages, blocks, defining, later)
            return None if stages is None else ir.Group(stages=stages, span=span)
        inner = self.stage(node.stage, blocks, defining, later)
        count = self._repeat_count(node)
        if inner is None or count is None:
            return None
        assert not isinstance(inner, ir.Repeat)
        return ir.Repeat(stage=inner, count=count, span=span)

    def _join(
        self,
        node: JoinStage,
        blocks: dict[str, ir.Block],
        defining: str | None,
        later: Sequence[Let],
    ) -> ir.Stage | None:
        """`A + B` or `A & B`: one operator at one level; each branch a stage or a group."""
        first = node.ops[0].symbol
        mixed = next((op for op in node.ops if op.symbol != first), None)
        if mixed is not None:
            self.reporter.error(
                "E216",
                f"`{first}` and `{mixed.symbol}` are mixed at one level",
                mixed.start,
                mixed.end,
                f"add parentheses: `(A {first} B) {mixed.symbol} C`"
                f" or `A {first} (B {mixed.symbol} C)`",
            )
        branches: list[tuple[ir.Stage, ...] | None] = []
        for operand in node.branches:
            if isinstance(operand, Group) and not operand.stages:
                self.reporter.error(
                    "E217",
                    f"an empty branch of `{first}`",
                    operand.start,
                    operand.end,
                    "put a stage in it: `Identity` passes its input on",
                )
                branches.append(None)
            elif isinstance(operand, Group):
                branches.append(self.stages(operand.stages, blocks, defining, later))
            else:
                stage = self.stage(operand, blocks, defining, later)
                branches.append(None if stage is None else (stage,))
        if mixed is not None or any(branch is None for branch in branches):
            return None
        op: Literal["sum", "concat"] = "sum" if first == "+" else "concat"
        kept = tuple(branch for branch in branches if branch is not None)
        return ir.Join(op=op, branches=kept, span=self.reporter.span(node.start, node.end))

    def _repeat_count(self, node: RepeatStage) -> int | None:
        if node.count < 1:
            self.reporter.error(
                "E215",
                f"a stage repeated {node.count} times",
                node.count_start,
                node.end,
                "the count after `*` is at least 1",
            )
            return None
        if node.count > ir.MAX_REPEAT:
            self.reporter.error(
                "E113",
                f"repetition count {node.count:,} is over the limit of {ir.MAX_REPEAT:,}",
                node.count_start,
                node.end,
                "repeat a block that is itself repeated, within the limits",
            )
            return None
        return node.count

    def _call_stage(
        self, call: Call, blocks: dict[str, ir.Block], defining: str | None, later: Sequence[Let]
    ) -> ir.Stage | None:
        span = self.reporter.span(call.start, call.end)
        word = LAYERS.get(call.name)
        if word is not None:
            return check_layer(self.reporter, call, word, span)
        if call.name in blocks:
            alone = no_arguments(self.reporter, call)
            return ir.BlockRef(name=call.name, span=span) if alone else None
        self._unknown_stage(call, blocks, defining, later)
        return None

    def _unknown_stage(
        self, call: Call, blocks: dict[str, ir.Block], defining: str | None, later: Sequence[Let]
    ) -> None:
        where = call.start, call.name_end
        if call.name in self.failed_blocks:
            return  # its `let` has an error of its own
        if call.name == defining:
            self.reporter.error(
                "E211",
                f"block `{call.name}` refers to itself",
                *where,
                "a block cannot contain itself; repeat it with `* N` instead",
            )
        elif any(let.name == call.name for let in later):
            self.reporter.error(
                "E213",
                f"block `{call.name}` is used before its `let`",
                *where,
                f"move `let {call.name} = ...` above this line",
            )
        elif call.name in STATEMENTS:
            self.reporter.error(
                "E124",
                f"`{call.name}` is a statement, not a stage",
                *where,
                f"end the network with `;` before `{call.name}`",
            )
        else:
            guess = did_you_mean(call.name, list(LAYERS) + list(blocks))
            help = f"did you mean `{guess}`?" if guess else "stages: " + ", ".join(LAYERS)
            message = f"unknown layer or block `{call.name}`"
            self.reporter.error("E200", message, *where, help, replacement=guess)
