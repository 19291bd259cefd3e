"""What the language server answers, computed from one analysed text.

`Analysis` is one version of a document (`document.Document`: its text, its
typed program, the same `check` the command line runs, and indexes over
both) with one method per editor feature; each feature lives in its own
module (hover, inlay, completion, symbols, definition, actions, formatting,
diagnostics) and returns lsprotocol objects. The server (lsp/server.py), the
tests and the playground call these methods. Shapes, parameters, arithmetic
and diagnostics all come from the typed program and the layer table: nothing
here computes a type.
"""

from __future__ import annotations

from lsprotocol import types

from ..diagnostics.model import Diagnostic
from .actions import quick_fixes
from .completion import complete
from .definition import definition_at
from .diagnostics import lsp_diagnostic, lsp_diagnostics
from .document import Document, Statement
from .formatting import format_edits
from .hover import hover_at
from .inlay import line_hints
from .positions import UTF16
from .symbols import outline

__all__ = ["Analysis", "Statement", "analyse"]


def analyse(text: str, filename: str = "<string>", encoding: str = UTF16) -> Analysis:
    return Analysis(text, filename, encoding)


class Analysis(Document):
    """One version of a document, checked once and queried by every feature."""

    def diagnostics(self, uri: str, docs: str | None = None) -> list[types.Diagnostic]:
        return lsp_diagnostics(self, uri, docs)

    def to_lsp(self, d: Diagnostic, uri: str, docs: str | None = None) -> types.Diagnostic:
        """The command line's diagnostic, for the protocol: same code, span, notes and help."""
        return lsp_diagnostic(self, d, uri, docs)

    def hover(self, offset: int) -> types.Hover | None:
        return hover_at(self, offset)

    def inlay_hints(self, start: int = 0, end: int | None = None) -> list[types.InlayHint]:
        """At the end of each line with layers: its output type and parameters."""
        return line_hints(self, start, end)

    def completion(self, offset: int) -> types.CompletionList:
        return complete(self, offset)

    def symbols(self) -> list[types.DocumentSymbol]:
        return outline(self)

    def definition(self, offset: int, uri: str) -> types.Location | None:
        return definition_at(self, offset, uri)

    def code_actions(self, start: int, end: int, uri: str, docs: str | None = None) -> list[types.CodeAction]:
        return quick_fixes(self, start, end, uri, docs)

    def formatting(self) -> list[types.TextEdit] | None:
        """One edit covering what the formatter changes; None on syntax errors."""
        return format_edits(self)
