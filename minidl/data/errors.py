"""`DataError`: a data file that cannot be used, with the place in it and the likely fix."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(Exception):
    """A fault in a data file: its path, 1-based line and column, a stable code, a fix.

    `line` is 0 when the fault is the file as a whole (missing, unreadable) or a setting
    about it (`split=`): there is no line to show, so a compiler points at the spec instead.
    `column` and `end_column` (exclusive) are 1-based character positions in `source_line`,
    the offending line's text; `column` is None when the fault is the whole line.
    """

    def __init__(
        self,
        path: str,
        line: int,
        code: str,
        message: str,
        help: str | None = None,
        *,
        column: int | None = None,
        end_column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.code = code
        self.message = message
        self.help = help
        self.column = column
        self.end_column = end_column
        self.source_line = source_line
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled across a worker process or a Ray task: `Exception` would keep only the
        # message, which the constructor cannot take alone.
        args = (self.path, self.line, self.code, self.message, self.help)
        return (type(self), args, self.__dict__)

    def __str__(self) -> str:
        where = self.path if self.line == 0 else f"{self.path}:{self.line}:{self.column or 1}"
        text = f"{where}: error[{self.code}]: {self.message}"
        return text + (f"\n  help: {self.help}" if self.help else "")

    def __repr__(self) -> str:
        return f"DataError({self.path!r}, line={self.line}, code={self.code!r}, {self.message!r})"
