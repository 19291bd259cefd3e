"""The one place where the language server converts positions.

Everything in cnndsl counts in code points: spans are offsets into the text,
diagnostics have 1-based lines and code-point columns. The Language Server
Protocol counts 0-based lines and, by default, UTF-16 code units (or UTF-8
bytes / code points when client and server agree on another encoding). Its
lines end at "\\n", "\\r\\n" or a lone "\\r".

`LineIndex` maps between the two for one version of a document; the server
builds one per analysed text and converts every range it sends or receives
through it. Nothing else in the server does position arithmetic.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

_BREAK = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    """The length of `text` in the encoding's code units."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


class LineIndex:
    """Offsets (code points) <-> LSP positions for one text."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = str(encoding) if encoding else UTF16
        starts = [0]
        ends = []  # end of each line's content (before its line break)
        for match in _BREAK.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        self._starts = starts
        self._ends = ends

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the first character of a 0-based line (clamped)."""
        return self._starts[max(0, min(line, len(self._starts) - 1))]

    def line_end(self, line: int) -> int:
        """Offset just after a 0-based line's content, before its line break."""
        return self._ends[max(0, min(line, len(self._ends) - 1))]

    def line_of(self, offset: int) -> int:
        """The 0-based line holding an offset (a line break belongs to its line)."""
        offset = max(0, min(offset, len(self.text)))
        return bisect.bisect_right(self._starts, offset) - 1

    def line_text(self, line: int) -> str:
        return self.text[self.line_start(line) : self.line_end(line)]

    # -- offsets -> protocol ------------------------------------------------
    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self._starts[line]
        offset = min(offset, self._ends[line])  # never inside a "\r\n"
        return types.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(max(start, end)))

    # -- protocol -> offsets ------------------------------------------------
    def offset(self, position: types.Position) -> int:
        """The offset of a client position; out-of-range positions are clamped."""
        line = position.line
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start, end = self._starts[line], self._ends[line]
        wanted = max(0, position.character)
        segment = self.text[start:end]
        if self.encoding == UTF32 or segment.isascii():
            return start + min(wanted, len(segment))
        units = 0
        for index, char in enumerate(segment):
            if units >= wanted:
                return start + index
            units += _units(char, self.encoding)
        return end
