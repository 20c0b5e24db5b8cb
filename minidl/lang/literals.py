"""Literals that cannot become values, found in the tree before they are lowered.

Integer literals too long for any field:

Python refuses to turn a string of more than 4,300 digits into an int, and no option or width
takes more than 19 digits (a seed below 2**63): a literal of more digits is an error at the
literal (E170), not a `ValueError` from lowering. Shorter ones go on to the range checks.

String escapes other than `\\"`, `\\\\`, `\\n`, `\\t` and `\\r`: `"\\q"` is an error at the
escape (E101), not a silent `q`.
"""

from __future__ import annotations

import re

from lark import Token, Tree

__all__ = ["ESCAPES", "MAX_INTEGER_DIGITS", "literal_problems", "oversized_integers"]

ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
"""What each escape in a string stands for: the letter after the backslash, and its value."""
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

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


def literal_problems(tree: Tree[Token], offset: int = 0) -> list[Problem]:
    """The problems of `oversized_integers` and of `unknown_escapes`, in source order."""
    found = oversized_integers(tree, offset) + unknown_escapes(tree, offset)
    return sorted(found, key=lambda problem: problem[2])


def unknown_escapes(tree: Tree[Token], offset: int = 0) -> list[Problem]:
    """(code, message, start, end, help) for each unknown escape (`\\q`) in a string."""
    found: list[Problem] = []
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "STRING"):
        for escape in _ESCAPE.finditer(str(token)):
            if escape[1] in ESCAPES:
                continue
            start = offset + (token.start_pos or 0) + escape.start()
            message = f"unknown escape `{escape[0]}` in a string"
            help = 'strings know `\\"`, `\\\\`, `\\n`, `\\t`, `\\r`; write `\\\\` for a backslash'
            found.append(("E101", message, start, start + len(escape[0]), help))
    return found
