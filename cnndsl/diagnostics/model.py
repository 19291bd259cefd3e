"""The diagnostic model shared by every renderer (terminal, JSON, GitHub, LSP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .codes import CODES
from ..syntax.source import Position, SourceText, Span


@dataclass(frozen=True, slots=True)
class Related:
    """A secondary location: a block definition, a call site, the other branch."""

    span: Span
    message: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Fix:
    """A mechanical change that resolves a diagnostic (an editor's quick fix).

    It sets one option of the diagnostic's layer statement: `option` is the
    option's long name (`padding`), `value` its new value as written after
    the option letter (`2`, `1x2`). The language server turns it into an edit.
    """

    title: str
    option: str
    value: str


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a source file.

    Lines and columns are 1-based; columns count code points. The end position
    is exclusive: it names the character just after the span.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: str
    code: str
    message: str
    notes: tuple[str, ...] = ()
    help: str | None = None
    # Not part of the JSON form: what renderers need beyond it.
    span: Span = field(default=Span(0, 0), compare=False)
    label: str | None = field(default=None, compare=False)
    related: tuple[Related, ...] = field(default=(), compare=False)
    fixes: tuple[Fix, ...] = field(default=(), compare=False)

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
