"""The diagnostic model shared by every renderer (terminal, JSON, GitHub, LSP)."""

from __future__ import annotations

from ..record import Record
from .codes import CODES
from ..syntax.source import Position, SourceText, Span

_set = object.__setattr__


class Related(Record):
    """A secondary location: a block definition, a call site, the other branch."""

    __slots__ = ("span", "message", "line", "column", "end_line", "end_column")
    span: Span
    message: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __init__(self, span: Span, message: str, line: int, column: int, end_line: int, end_column: int) -> None:
        _set(self, "span", span)
        _set(self, "message", message)
        _set(self, "line", line)
        _set(self, "column", column)
        _set(self, "end_line", end_line)
        _set(self, "end_column", end_column)


class Fix(Record):
    """A mechanical change that resolves a diagnostic (an editor's quick fix).

    It sets one option of the diagnostic's layer statement: `option` is the
    option's long name (`padding`), `value` its new value as written after
    the option letter (`2`, `1x2`). The language server turns it into an edit.
    """

    __slots__ = ("title", "option", "value")
    title: str
    option: str
    value: str

    def __init__(self, title: str, option: str, value: str) -> None:
        _set(self, "title", title)
        _set(self, "option", option)
        _set(self, "value", value)


class Diagnostic(Record):
    """One problem in a source file.

    Lines and columns are 1-based; columns count code points. The end position
    is exclusive: it names the character just after the span.
    """

    __slots__ = (
        "file", "line", "column", "end_line", "end_column", "severity", "code", "message", "notes", "help",
        # Not part of the JSON form, nor of equality: what renderers need beyond it.
        "span", "label", "related", "fixes",
    )
    _compared = ("file", "line", "column", "end_line", "end_column", "severity", "code", "message", "notes", "help")
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: str
    code: str
    message: str
    notes: tuple[str, ...]
    help: str | None
    span: Span
    label: str | None
    related: tuple[Related, ...]
    fixes: tuple[Fix, ...]

    def __init__(
        self,
        file: str,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        severity: str,
        code: str,
        message: str,
        notes: tuple[str, ...] = (),
        help: str | None = None,
        span: Span = Span(0, 0),
        label: str | None = None,
        related: tuple[Related, ...] = (),
        fixes: tuple[Fix, ...] = (),
    ) -> None:
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "column", column)
        _set(self, "end_line", end_line)
        _set(self, "end_column", end_column)
        _set(self, "severity", severity)
        _set(self, "code", code)
        _set(self, "message", message)
        _set(self, "notes", notes)
        _set(self, "help", help)
        _set(self, "span", span)
        _set(self, "label", label)
        _set(self, "related", related)
        _set(self, "fixes", fixes)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "notes": list(self.notes),
            "help": self.help,
        }


class Reporter:
    """Collects diagnostics for one source, turning spans into positions."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    def report(
        self,
        code: str,
        span: Span,
        message: str,
        *,
        notes: list[str] | tuple[str, ...] = (),
        help: str | None = None,
        label: str | None = None,
        related: list[tuple[Span, str]] | tuple = (),
        fixes: list[Fix] | tuple[Fix, ...] = (),
    ) -> Diagnostic:
        entry = CODES[code]  # an unknown code is a compiler bug: fail loudly
        start = self._position(span.start)
        end = self._position(span.end)
        if (end.line, end.column) < (start.line, start.column):
            end = start
        diagnostic = Diagnostic(
            file=self.source.filename,
            line=start.line,
            column=start.column,
            end_line=end.line,
            end_column=end.column,
            severity=entry.severity,
            code=code,
            message=message,
            notes=tuple(notes),
            help=help,
            span=span,
            label=label,
            related=tuple(self._related(s, m) for s, m in related),
            fixes=tuple(fixes),
        )
        self.diagnostics.append(diagnostic)
        return diagnostic

    def _related(self, span: Span, message: str) -> Related:
        start = self._position(span.start)
        end = self._position(span.end)
        if (end.line, end.column) < (start.line, start.column):
            end = start
        return Related(span, message, start.line, start.column, end.line, end.column)

    def _position(self, offset: int) -> Position:
        """The position of an offset; one inside a line break counts as the line's end."""
        position = self.source.position(offset)
        limit = self.source.line_end(position.line) - self.source.offset(position.line, 1) + 1
        if position.column > limit:  # on the '\n' of a '\r\n'
            return Position(position.line, limit)
        return position

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=lambda d: (d.span.start, d.span.end, d.code))


class CompileError(Exception):
    """Raised by `compile_source` when a program has errors; `.diagnostics` lists them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else None
        summary = (
            f"{first.file}:{first.line}:{first.column}: error[{first.code}]: {first.message}"
            if first
            else "compilation failed"
        )
        more = len(errors) - 1
        if more > 0:
            summary += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(summary)
