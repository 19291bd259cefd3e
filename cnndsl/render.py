"""Rendering diagnostics: rustc-style text, JSON and GitHub annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from .diagnostics import Diagnostic
from .source import SourceText

_STYLES = {
    "error": "\033[1;31m",
    "warning": "\033[1;33m",
    "note": "\033[1;34m",
    "help": "\033[1;36m",
    "bold": "\033[1m",
    "reset": "\033[0m",
}


def use_colour(stream) -> bool:
    """Colour on a terminal unless NO_COLOR is set; FORCE_COLOR forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def render_text(diagnostic: Diagnostic, source: SourceText | None, colour: bool = False) -> str:
    def paint(style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_STYLES['reset']}" if colour else text

    d = diagnostic
    head = f"{d.file}:{d.line}:{d.column}: " + paint(d.severity, f"{d.severity}[{d.code}]") + paint("bold", f": {d.message}")
    lines = [head]
    if source is not None and source.line_count >= d.line:
        gutter = len(str(max(d.end_line, d.line, *(r.line for r in d.related)) if d.related else max(d.end_line, d.line)))
        bar = paint("note", " " * gutter + " |")
        lines.append(bar)
        lines += _snippet(source, d.line, d.column, d.end_line, d.end_column, "^", d.severity, d.label, gutter, paint)
        for related in d.related:
            if related.line == d.line and related.column == d.column:
                continue
            lines.append(paint("note", " " * gutter + " ::: ") + f"{d.file}:{related.line}:{related.column}")
            lines += _snippet(source, related.line, related.column, related.end_line, related.end_column, "-", "note", related.message, gutter, paint)
        if d.notes or d.help:
            lines.append(bar)
    for note in d.notes:
        lines.append(" " * (len(str(d.line)) + 1) + paint("bold", "= note: ") + note)
    if d.help:
        lines.append(" " * (len(str(d.line)) + 1) + paint("help", "= help: ") + d.help)
    return "\n".join(lines)


def _snippet(source, line, column, end_line, end_column, mark, style, label, gutter, paint) -> list[str]:
    out = []
    text = source.line_text(line).replace("\t", " ")
    if end_line == line:
        width = max(1, end_column - column)
    else:
        width = max(1, len(text) - column + 1)
    number = paint("note", str(line).rjust(gutter) + " |")
    out.append(f"{number} {text}".rstrip())
    underline = " " * (column - 1) + mark * width
    suffix = f" {label}" if label else ""
    if end_line > line:
        suffix += f" (to line {end_line})"
    out.append(paint("note", " " * gutter + " |") + " " + paint(style, underline + suffix))
    return out


def render_all(diagnostics: list[Diagnostic], sources: dict[str, SourceText], colour: bool = False) -> str:
    blocks = [render_text(d, sources.get(d.file), colour) for d in diagnostics]
    if not blocks:
        return ""
    errors = sum(1 for d in diagnostics if d.is_error)
    text = "\n\n".join(blocks) + "\n"
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    text += "\n" + ", ".join(parts) + "\n"
    return text


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic."""
    lines = []
    for d in diagnostics:
        message = d.message
        if d.help:
            message += f"\nhelp: {d.help}"
        props = (
            f"file={_escape_property(d.file)},line={d.line},col={d.column},"
            f"endLine={d.end_line},endColumn={d.end_column},title={_escape_property(f'{d.code}')}"
        )
        lines.append(f"::{d.severity} {props}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
