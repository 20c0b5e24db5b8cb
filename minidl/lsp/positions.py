"""Positions: minidl's 1-based character columns to the LSP's 0-based UTF-16 ones, and back.

A character outside the Basic Multilingual Plane (an emoji) is one Python character but two
UTF-16 code units; every other character is one of each.
"""

from __future__ import annotations

import bisect

from lsprotocol import types

__all__ = ["TextLines", "utf16_length"]


def utf16_length(text: str) -> int:
    """How many UTF-16 code units `text` takes."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


class TextLines:
    """A text cut at its newlines, as minidl counts lines (`\\n` ends a line)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def line(self, index: int) -> str:
        """The 0-based line `index`, or "" past the end."""
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    def position(self, line: int, column: int) -> types.Position:
        """The LSP position of minidl's 1-based (line, character column)."""
        text = self.line(line - 1)
        prefix = text[: max(column - 1, 0)]
        extra = max(column - 1 - len(text), 0)  # past the line's end: count plain units
        return types.Position(line=max(line - 1, 0), character=utf16_length(prefix) + extra)

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        """The LSP range of a minidl span (1-based, end exclusive)."""
        return types.Range(
            start=self.position(line, column), end=self.position(end_line, end_column)
        )

    def offset(self, position: types.Position) -> int:
        """The character offset into the text of an LSP position (clamped to the text)."""
        if position.line >= len(self.lines):
            return len(self.text)
        text = self.lines[position.line]
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return self.starts[position.line] + index
            units += 2 if ord(char) > 0xFFFF else 1
        return self.starts[position.line] + len(text)

    def position_of(self, offset: int) -> types.Position:
        """The LSP position of a character offset."""
        line = bisect.bisect_right(self.starts, offset) - 1
        column = offset - self.starts[line]
        return types.Position(line=line, character=utf16_length(self.lines[line][:column]))

    def end(self) -> types.Position:
        """The position just past the text's last character."""
        return types.Position(line=len(self.lines) - 1, character=utf16_length(self.lines[-1]))
