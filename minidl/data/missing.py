"""What a missing cell is: empty, or `NA`, `N/A`, `NaN`, `null`, `None` in any case.

Neither torch nor pandas: the summary counts missing cells too.
"""

from __future__ import annotations

import itertools

__all__ = ["NA_WORDS", "is_missing_text", "na_spellings"]

NA_WORDS = ("NA", "N/A", "NaN", "null", "None")
"""The words that mean a missing cell, in any case; an empty cell is missing too."""


def na_spellings() -> list[str]:
    """Every spelling of a missing cell: the empty cell and each word in every case."""
    spellings = {""}
    for word in NA_WORDS:
        pairs = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in word]
        spellings.update("".join(letters) for letters in itertools.product(*pairs))
    return sorted(spellings)


_SPELLINGS = frozenset(na_spellings())


def is_missing_text(cell: str) -> bool:
    """Whether a cell, as written, is a missing cell (blanks around it ignored)."""
    return cell.strip() in _SPELLINGS
