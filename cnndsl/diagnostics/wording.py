"""How messages quote what the user wrote.

Low level on purpose: the parser, the layer table and the checker all quote
user text, and none of them should import another for it.
"""

from __future__ import annotations


def show(text: str, limit: int = 40) -> str:
    """Text as a message quotes it: invisible characters spelled out, long text shortened."""
    if len(text) > limit:
        text = f"{text[: limit // 2]}...{text[-(limit // 4):]} ({len(text):,} characters)"
    return "".join(ch if ch.isprintable() and not ch.isspace() or ch == " " else f"U+{ord(ch):04X}" for ch in text)
