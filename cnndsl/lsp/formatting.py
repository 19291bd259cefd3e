"""Formatting: the formatter's output as one edit covering what changed."""

from __future__ import annotations

from lsprotocol import types

from .document import Document


def format_edits(doc: Document) -> list[types.TextEdit] | None:
    """One edit covering what the formatter changes; None on syntax errors."""
    from ..formatter import FormatError, format_source

    try:
        formatted = format_source(doc.text, doc.filename)
    except FormatError:
        return None
    old = doc.text
    if formatted == old:
        return []
    prefix = 0
    limit = min(len(old), len(formatted))
    while prefix < limit and old[prefix] == formatted[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == formatted[-1 - suffix]:
        suffix += 1
    return [
        types.TextEdit(
            range=doc.index.range(prefix, len(old) - suffix),
            new_text=formatted[prefix : len(formatted) - suffix],
        )
    ]
