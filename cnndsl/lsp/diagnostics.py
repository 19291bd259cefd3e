"""Diagnostics for the protocol: the command line's, converted one to one.

Same code, span, message, notes and help; quick fixes travel in `data`.
"""

from __future__ import annotations

from lsprotocol import types

from ..diagnostics.codes import CODES
from ..diagnostics.model import Diagnostic
from .document import Document

SOURCE = "cnnc"


def lsp_diagnostics(doc: Document, uri: str, docs: str | None = None) -> list[types.Diagnostic]:
    return [lsp_diagnostic(doc, d, uri, docs) for d in doc.program.diagnostics]


def lsp_diagnostic(doc: Document, d: Diagnostic, uri: str, docs: str | None = None) -> types.Diagnostic:
    """The command line's diagnostic, for the protocol: same code, span, notes and help."""
    lines = [d.message]
    if d.label:
        lines.append(d.label)
    lines += [f"note: {note}" for note in d.notes]
    if d.help:
        lines.append(f"help: {d.help}")
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri, range=doc.index.range(r.span.start, r.span.end)),
            message=r.message,
        )
        for r in d.related
    ]
    return types.Diagnostic(
        range=doc.index.range(d.span.start, d.span.end),
        severity=types.DiagnosticSeverity.Error if d.is_error else types.DiagnosticSeverity.Warning,
        code=d.code,
        code_description=types.CodeDescription(href=f"{docs}#{d.code.lower()}") if docs and d.code in CODES else None,
        source=SOURCE,
        message="\n".join(lines),
        related_information=related or None,
        data={"fixes": [[f.title, f.option, f.value] for f in d.fixes]} if d.fixes else None,
    )
