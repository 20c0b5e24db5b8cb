"""The statements of a spec sorted out: the `let` blocks, the one network, and the other
statements by word, each at most once; a lone word that looks like a misspelt statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from minidl.lang.check_stages import FIRST
from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.registry import LAYERS, STATEMENTS
from minidl.lang.syntax import Call, Let, Pipeline, Statement

__all__ = ["partition_statements"]


def partition_statements(
    reporter: Reporter, statements: Sequence[Statement]
) -> tuple[list[Let], Pipeline | None, dict[str, Call]]:
    """Split the statements into blocks, the network and the other statements by word."""
    lets: list[Let] = []
    network: Pipeline | None = None
    words: dict[str, Call] = {}
    for statement in statements:
        if isinstance(statement, Let):
            lets.append(statement)
            continue
        head = statement.stages[0]
        lone = isinstance(head, Call) and len(statement.stages) == 1
        if lone and isinstance(head, Call) and head.name in STATEMENTS:
            field = STATEMENTS[head.name].field
            twin = next((w for w in words if STATEMENTS[w].field == field), None)
            first = () if twin is None else ((words[twin].start, words[twin].end, FIRST),)
            if twin is not None and twin != head.name:
                reporter.error(
                    "E121",
                    f"a second {STATEMENTS[head.name].noun} statement (`{twin}` is one)",
                    head.start,
                    head.end,
                    f"a spec has one {STATEMENTS[head.name].noun}: remove one",
                    related=first,
                )
                continue
            if twin is not None:
                reporter.error(
                    "E121",
                    f"a second `{head.name}` statement",
                    head.start,
                    head.end,
                    "remove one: each statement appears at most once",
                    related=first,
                )
            words[head.name] = head
        elif lone and isinstance(head, Call) and _unknown_statement(reporter, head, lets):
            continue
        elif network is not None:
            reporter.error(
                "E123",
                "a second network",
                statement.start,
                statement.end,
                "a spec has one network: join them with `|`, or remove one",
            )
        else:
            network = statement
    return lets, network, words


def _unknown_statement(reporter: Reporter, call: Call, lets: list[Let]) -> bool:
    """Report a lone word that looks like a misspelt statement (`los MSE`, `sgd2 lr=1`)."""
    if call.name in LAYERS or any(let.name == call.name for let in lets):
        return False
    guess = did_you_mean(call.name, [*STATEMENTS, "let"])
    if guess is None and not call.options:
        return False
    help = f"did you mean `{guess}`?" if guess else "statements: " + ", ".join(STATEMENTS)
    message = f"unknown statement `{call.name}`"
    reporter.error("E120", message, call.start, call.name_end, help, replacement=guess)
    return True
