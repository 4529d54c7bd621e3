"""One line model per source file: lines as the language's own parser counts them.

`str.splitlines()` also breaks at a form feed, a vertical tab, \\x1c-\\x1e, \\x85, U+2028 and
U+2029, and tree-sitter counts rows at \\n only; either way a line number drifts from the
one Python or TypeScript reports, and a suppression comment or a fix lands on the wrong
table. Every line number lint reports, every comment it reads and every line --fix
writes comes from this model instead:

- Python (its tokenizer, which ast and libcst follow): \\n, \\r\\n and a lone \\r.
- TypeScript (ECMAScript line terminators): \\n, \\r\\n, a lone \\r, U+2028 and U+2029.

A model is built over the text a parser reads (str for Python, UTF-8 bytes for
tree-sitter), so offsets from either parser map to lines without conversion.
"""

from __future__ import annotations

import bisect
import re
from typing import Generic, TypeVar

_Text = TypeVar("_Text", str, bytes)

PYTHON_BREAKS = re.compile(r"\r\n|\r|\n")
PYTHON_BYTE_BREAKS = re.compile(rb"\r\n|\r|\n")
TYPESCRIPT_BREAKS = re.compile(rb"\r\n|\r|\n|\xe2\x80\xa8|\xe2\x80\xa9")


class Lines(Generic[_Text]):
    """Where each line of a text starts and ends; lines are numbered from 1."""

    def __init__(self, text: _Text, breaks: re.Pattern[_Text]) -> None:
        self.text = text
        self.starts = [0]
        self.ends: list[int] = []
        self._byte_starts: list[int] | None = None
        for match in breaks.finditer(text):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(text))

    def __len__(self) -> int:
        return len(self.starts)

    def byte_start(self, line: int) -> int:
        """The UTF-8 byte offset of a line's start (for a str text: ast's columns count
        bytes; every line's is counted once, when first asked)."""
        if isinstance(self.text, bytes):
            return self.starts[line - 1]
        if self._byte_starts is None:
            offset, self._byte_starts = 0, []
            for start, next_start in zip(self.starts, [*self.starts[1:], len(self.text)], strict=True):
                self._byte_starts.append(offset)
                offset += len(self.text[start:next_start].encode("utf-8", "surrogatepass"))
        return self._byte_starts[line - 1]

    def line_of(self, offset: int) -> int:
        """The line holding the character (or byte) at offset."""
        return bisect.bisect_right(self.starts, offset)

    def start(self, line: int) -> int:
        return self.starts[line - 1]

    def end(self, line: int) -> int:
        """Where the line's content ends (before its terminator)."""
        return self.ends[line - 1]

    def content(self, line: int) -> _Text:
        return self.text[self.starts[line - 1] : self.ends[line - 1]]

    def ending(self, line: int) -> _Text:
        """The line's terminator as written; empty for a last line without one."""
        end = self.ends[line - 1]
        return self.text[end : self.starts[line]] if line < len(self.starts) else self.text[end:end]


def python_lines(text: str) -> Lines[str]:
    return Lines(text, PYTHON_BREAKS)


def python_byte_lines(data: bytes) -> Lines[bytes]:
    """Python's lines over bytes (where a decoding error is located)."""
    return Lines(data, PYTHON_BYTE_BREAKS)


def typescript_lines(source: bytes) -> Lines[bytes]:
    return Lines(source, TYPESCRIPT_BREAKS)
