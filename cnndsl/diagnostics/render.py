"""Rendering diagnostics: rustc-style text, JSON and GitHub annotations.

The text form's first line is GCC-compatible (`FILE:LINE:COL: error[CODE]:
message`), so editors and CI annotate it; then the source line(s) with the
span underlined, related locations, `= note:` and `= help:` lines. Source text
is shown as it is, except that control characters are drawn as visible
symbols (a file cannot drive the terminal) and very long lines are cut around
the span.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable

from .model import Diagnostic
from ..syntax.source import SourceText

_STYLES = {
    "error": "\033[1;31m",
    "warning": "\033[1;33m",
    "note": "\033[1;34m",
    "help": "\033[1;36m",
    "bold": "\033[1m",
    "reset": "\033[0m",
}

# At most this many characters of a source line are shown, around the span.
MAX_SHOWN = 120


def use_colour(stream) -> bool:
    """Colour on a terminal unless NO_COLOR is set (https://no-color.org); FORCE_COLOR forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except (OSError, ValueError):  # a closed or detached stream
        return False


def visible(text: str) -> str:
    """Text safe to print on a terminal: controls become their Unicode pictures.

    Each character stays one character, so columns keep their meaning.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\t":
            out.append(" ")
        elif code < 0x20:
            out.append(chr(0x2400 + code))  # U+2400 CONTROL PICTURES
        elif code == 0x7F:
            out.append("\u2421")
        elif not ch.isprintable() and ch != " ":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _width(ch: str) -> int:
    """Terminal cells of one (already visible) character."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _cells(text: str) -> int:
    return sum(_width(ch) for ch in text)


def render_text(diagnostic: Diagnostic, source: SourceText | None, colour: bool = False) -> str:
    """One diagnostic in rustc's layout (no trailing newline)."""

    def paint(style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_STYLES['reset']}" if colour else text

    d = diagnostic
    head = (
        f"{visible(d.file)}:{d.line}:{d.column}: "
        + paint(d.severity, f"{d.severity}[{d.code}]")
        + paint("bold", f": {visible(d.message)}")
    )
    lines = [head]
    numbers = [d.line, d.end_line, *(r.line for r in d.related)]
    gutter = len(str(max(numbers)))
    bar = paint("note", " " * gutter + " |")
    if source is not None and 1 <= d.line <= source.line_count:
        lines.append(bar)
        lines += _snippet(source, d.line, d.column, d.end_line, d.end_column, "^", d.severity, d.label, gutter, paint)
        for related in d.related:
            if related.line == d.line and related.column == d.column:
                continue
            if not 1 <= related.line <= source.line_count:
                continue
            lines.append(paint("note", " " * gutter + " ::: ") + f"{visible(d.file)}:{related.line}:{related.column}")
            lines += _snippet(
                source, related.line, related.column, related.end_line, related.end_column,
                "-", "note", related.message, gutter, paint,
            )
        if d.notes or d.help:
            lines.append(bar)
    indent = " " * (gutter + 1)
    for note in d.notes:
        lines.append(indent + paint("bold", "= note: ") + visible(note))
    if d.help:
        lines.append(indent + paint("help", "= help: ") + visible(d.help))
    return "\n".join(lines)


def _window(text: str, column: int, width: int) -> tuple[str, int]:
    """Cut a long line around the span; return the shown text and the new column."""
    if len(text) <= MAX_SHOWN:
        return text, column
    start = max(0, min(column - 1 - MAX_SHOWN // 3, len(text) - MAX_SHOWN))
    end = min(len(text), start + MAX_SHOWN)
    shown = text[start:end]
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(text) else ""
    return prefix + shown + suffix, column - start + len(prefix)


def _snippet(source, line, column, end_line, end_column, mark, style, label, gutter, paint) -> list[str]:
    out = []
    raw = source.line_text(line)
    if end_line == line:
        width = max(1, end_column - column)
    else:
        width = max(1, len(raw) - column + 1)
    text, column = _window(visible(raw), column, width)
    width = min(width, max(1, len(text) - column + 1))
    number = paint("note", str(line).rjust(gutter) + " |")
    out.append(f"{number} {text}".rstrip())
    before = text[: column - 1]
    marked = text[column - 1 : column - 1 + width]
    underline = " " * _cells(before) + mark * max(1, _cells(marked))
    suffix = f" {visible(label)}" if label else ""
    if end_line > line:
        suffix += f" (to line {end_line})"
    out.append(paint("note", " " * gutter + " |") + " " + paint(style, underline + suffix))
    return out


def render_all(diagnostics: list[Diagnostic], sources: dict[str, SourceText], colour: bool = False) -> str:
    """Every diagnostic, blank-line separated, then a count of errors, warnings and notes."""
    blocks = [render_text(d, sources.get(d.file), colour) for d in diagnostics]
    if not blocks:
        return ""
    text = "\n\n".join(blocks) + "\n"
    parts = []
    for severity in ("error", "warning", "note"):
        found = sum(1 for d in diagnostics if d.severity == severity)
        if found:
            parts.append(f"{found} {severity}{'s' if found != 1 else ''}")
    text += "\n" + ", ".join(parts) + "\n"
    return text


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """The JSON array of LANGUAGE.md section 7 (ASCII-only, so any terminal shows it)."""
    import json  # only for --format json: a plain `cnnc check` does not pay for it

    return json.dumps([d.to_dict() for d in diagnostics], indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# GitHub's annotation levels: a note is a `notice`.
_GITHUB_LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one `::error ...::` line per diagnostic.

    Data is escaped as the Actions toolkit does (`%`, CR, LF; in properties
    also `:` and `,`), so no message or file name can end the command early
    or inject another one.
    """
    lines = []
    for d in diagnostics:
        message = visible(d.message)
        for note in d.notes:
            message += f"\nnote: {visible(note)}"
        if d.help:
            message += f"\nhelp: {visible(d.help)}"
        props = (
            f"file={_escape_property(visible(d.file))},line={d.line},col={d.column},"
            f"endLine={d.end_line},endColumn={d.end_column},title={_escape_property(f'{d.severity}[{d.code}]')}"
        )
        lines.append(f"::{_GITHUB_LEVELS[d.severity]} {props}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
