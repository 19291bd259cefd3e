"""Offsets between the compiler and the browser's editor.

The compiler counts code points; JavaScript strings, and so CodeMirror,
count UTF-16 code units: a character beyond U+FFFF (an emoji in a comment)
is one code point and two units. `Utf16Text` converts offsets for one text,
in both directions; for ASCII text (nearly every .cnn file) both counts are
the same and nothing is computed.
"""

from __future__ import annotations

import bisect


class Utf16Text:
    """Code-point offsets <-> UTF-16 offsets, and (line, UTF-16 column) -> offset, for one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Code-point offsets of the characters that take two UTF-16 units.
        self._wide = [] if text.isascii() else [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]
        self._line_starts: list[int] | None = None  # in UTF-16 units, built on first use

    def to_utf16(self, offset: int) -> int:
        """The UTF-16 offset of a code-point offset (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        return offset + bisect.bisect_left(self._wide, offset)

    def from_utf16(self, offset: int) -> int:
        """The code-point offset of a UTF-16 offset; one inside a surrogate pair counts as its character's start."""
        offset = max(0, offset)
        low, high = 0, len(self._wide)
        # Find how many wide characters lie wholly before `offset` units.
        while low < high:
            middle = (low + high) // 2
            if self._wide[middle] + middle + 2 <= offset:
                low = middle + 1
            else:
                high = middle
        before = low
        points = offset - before
        if before < len(self._wide) and self._wide[before] < points:  # in the middle of a pair
            points = self._wide[before]
        return min(points, len(self.text))

    def position(self, line: int, character: int) -> int:
        """The UTF-16 offset of a 0-based line and UTF-16 column (what the language server speaks)."""
        if self._line_starts is None:
            starts = [0]
            for index, ch in enumerate(self.text):
                if ch == "\n":
                    starts.append(self.to_utf16(index) + 1)
            self._line_starts = starts
        line = max(0, min(line, len(self._line_starts) - 1))
        return min(self._line_starts[line] + max(0, character), self.to_utf16(len(self.text)))
