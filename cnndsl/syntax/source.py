"""Source text and spans: offsets are stored, lines and columns derived."""

from __future__ import annotations

import bisect

from ..record import Record

_set = object.__setattr__


class Span(Record):
    """A half-open range of character (code point) offsets into a source text."""

    __slots__ = ("start", "end")
    start: int
    end: int

    def __init__(self, start: int, end: int) -> None:
        _set(self, "start", start)
        _set(self, "end", end)

    def cover(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


class Position(Record):
    """A 1-based line and a 1-based column counted in code points."""

    __slots__ = ("line", "column")
    line: int
    column: int

    def __init__(self, line: int, column: int) -> None:
        _set(self, "line", line)
        _set(self, "column", column)


class SourceText:
    """A decoded source file with a line index for offset -> position lookups."""

    def __init__(self, text: str, filename: str = "<string>") -> None:
        self.text = text
        self.filename = filename
        starts = [0]
        find = text.find
        index = find("\n")
        while index != -1:
            starts.append(index + 1)
            index = find("\n", index + 1)
        self._line_starts = starts

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line_index + 1, offset - self._line_starts[line_index] + 1)

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column (clamped to the text)."""
        line = max(1, min(line, self.line_count))
        start = self._line_starts[line - 1]
        return min(start + max(column, 1) - 1, self.line_end(line))

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        return self.text[start : self.line_end(line)]

    def line_end(self, line: int) -> int:
        """Offset of the end of a line's content (before its newline)."""
        if line < self.line_count:
            end = self._line_starts[line] - 1
            if end > 0 and self.text[end - 1] == "\r":
                end -= 1
            return end
        return len(self.text)

    def line_of(self, offset: int) -> int:
        """The 1-based line of an offset (clamped), as `position(offset).line`."""
        return bisect.bisect_right(self._line_starts, max(0, min(offset, len(self.text))))

    def snippet(self, span: Span) -> str:
        return self.text[span.start : span.end]
