"""A CSV file's header, read cheaply: the column names, and which one is the target.

It reads only the first lines and never imports torch, so the summary can call it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from minidl.data.errors import DataError
from minidl.data.records import Record, open_text, records

__all__ = ["Header", "read_header"]


@dataclass(frozen=True)
class Header:
    """The column names of a CSV file (blanks around them removed), the header's first and
    last line (they differ when a quoted name holds a line break), and its text."""

    path: str
    names: tuple[str, ...]
    line: int
    end_line: int
    source_line: str

    def has(self, target: str) -> bool:
        """Whether the file has a column named `target`."""
        return target in self.names

    def features(self, target: str) -> tuple[str, ...]:
        """The feature columns: every column but `target`, in the file's order."""
        return tuple(name for name in self.names if name != target)

    def target_index(self, target: str) -> int:
        """The position of column `target`; a `DataError` if it is absent or alone.

        E302 (with the nearest name as "did you mean") or E308 (no feature column).
        """
        if target not in self.names:
            near = difflib.get_close_matches(target, self.names, n=1)
            near += [name for name in self.names if name.lower() == target.lower()][:1]
            help = f"did you mean `{near[-1]}`?" if near else "columns: " + ", ".join(self.names)
            raise self._error("E302", f"no column named `{target}`", help)
        if len(self.names) < 2:
            raise self._error(
                "E308",
                "the file has no feature columns, only the target",
                "add at least one input column beside the target",
            )
        return self.names.index(target)

    def match(self, features: tuple[str, ...], target: str, train: str) -> tuple[int, ...]:
        """Where each of the train file's `features` is among this (test) file's columns, which
        may come in another order; a `DataError` at this header for a feature it lacks (E302)
        or a column that the train file `train` does not have (E320)."""
        self.target_index(target)
        for name in features:
            if name not in self.names:
                spare = [n for n in self.features(target) if n not in features]
                near = difflib.get_close_matches(name, spare, n=1, cutoff=0.5)
                help = f"did you mean `{near[0]}`?" if near else f"add column `{name}`"
                message = f"no column named `{name}`: the train file {train} has it"
                raise self._error("E302", message, help)
        for name in self.features(target):
            if name not in features:
                message = f"column `{name}` is not in the train file {train}"
                help = f"a test file has the train file's columns, in any order: remove `{name}`"
                raise self._error("E320", message, help, self._cell(name))
        return tuple(self.names.index(name) for name in features)

    def _cell(self, name: str) -> tuple[int, int] | None:
        """The 1-based columns (end exclusive) of column `name` in the header's line."""
        found = self.source_line.find(name)
        return None if found < 0 else (found + 1, found + 1 + len(name))

    def _separator_help(self) -> str | None:
        """A header of one column that holds a `;` (or a tab): the file is likely separated
        by it, and every error about its columns is best explained by that."""
        if len(self.names) != 1:
            return None
        for separator, shown in ((";", "`;`"), ("\t", "tabs")):
            if separator in self.names[0]:
                commas = self.names[0].replace(separator, ",")
                return (
                    f"the file seems to be separated by {shown}, and minidl reads commas: "
                    f"write its cells as `{commas}`"
                )
        return None

    def _error(
        self, code: str, message: str, help: str, cell: tuple[int, int] | None = None
    ) -> DataError:
        column, end = cell or (None, None)
        help = self._separator_help() or help
        return DataError(
            self.path,
            self.line,
            code,
            message,
            help,
            column=column,
            end_column=end,
            source_line=self.source_line,
        )


def read_header(path: Path | str) -> Header:
    """The header of the CSV file at `path`: its first non-blank line.

    Raises `DataError`: E301 (missing or unreadable, line 0), E305 (empty), E309 (not
    UTF-8), E310 (a column without a name, or a name twice).
    """
    path = Path(path)
    try:
        with open_text(path) as file:
            header = next(records(file, path), None)
    except FileNotFoundError:
        raise DataError(
            str(path),
            0,
            "E301",
            f"no such file: {path}",
            "check the path; it is relative to the spec",
        ) from None
    except OSError as caught:
        reason = caught.strerror or str(caught)
        raise DataError(str(path), 0, "E301", f"cannot read {path}: {reason}") from None
    if header is None:
        raise DataError(
            str(path), 1, "E305", "the file is empty", "write a header line, then one sample a line"
        )
    names = tuple(cell.strip() for cell in header.cells)
    _check_names(names, header, str(path))
    end_line = header.line + len(header.lines) - 1
    return Header(str(path), names, header.line, end_line, header.source_line())


def _check_names(names: tuple[str, ...], header: Record, path: str) -> None:
    for index, name in enumerate(names):
        if not name:
            raise header.error(
                index,
                "E310",
                f"column {index + 1} of the header has no name",
                "name every column, or remove the trailing comma",
                path,
            )
        if name in names[:index]:
            raise header.error(
                index,
                "E310",
                f"the header names column `{name}` twice",
                "give every column a name of its own",
                path,
            )
