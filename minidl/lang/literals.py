"""Integer literals too long for any field, found in the tree before they become ints.

Python refuses to turn a string of more than 4,300 digits into an int, and no option or width
takes more than 19 digits (a seed below 2**63): a literal of more digits is an error at the
literal (E170), not a `ValueError` from lowering. Shorter ones go on to the range checks.
"""

from __future__ import annotations

import re

from lark import Token, Tree

__all__ = ["MAX_INTEGER_DIGITS", "oversized_integers"]

MAX_INTEGER_DIGITS = 30
"""The most digits an integer literal may have; the range checks speak about the rest."""

_DIGITS = re.compile(r"[0-9]+")
_HOLDS_INTEGERS = ("INT", "SHAPE")

Problem = tuple[str, str, int, int, str | None]


def oversized_integers(tree: Tree[Token], offset: int = 0) -> list[Problem]:
    """(code, message, start, end, help) for each integer literal of too many digits in
    `tree`, offsets into the text the tree was parsed from, plus `offset`."""
    found: list[Problem] = []
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type in _HOLDS_INTEGERS):
        for run in _DIGITS.finditer(str(token)):
            if len(run[0]) <= MAX_INTEGER_DIGITS:
                continue
            start = offset + (token.start_pos or 0) + run.start()
            found.append(
                (
                    "E170",
                    f"an integer of {len(run[0]):,} digits is too large for any option or width",
                    start,
                    start + len(run[0]),
                    "widths go up to 1,000,000, repetitions to 10,000, a seed below 2**63",
                )
            )
    return found
