"""The syntax tree: frozen nodes that carry their source spans.

The parser (cnndsl/syntax/builder.py) builds these; the checker
(cnndsl/check/checker.py) gives them types. Nodes record what was written, not what it means: `conv 10
k3` is a Command named `conv` with two Word arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .source import Span

# The name of the placeholder statement that stands where a broken statement
# was dropped (cnndsl/syntax/recovery.py). No source text can spell it (the
# lexer's WORD has no '<'); the checker gives it an unknown type without a
# second diagnostic, so that nothing after it is checked against a type the
# user did not write.
BROKEN = "<syntax error>"


@dataclass(frozen=True, slots=True)
class Word:
    """One token of text: a name, number, size, option or flag."""

    text: str
    span: Span
    stray: bool = False  # a character the language does not use


@dataclass(frozen=True, slots=True)
class KeywordArg:
    """A long-form option: `kernel=3`, `stride=2x1`, `kernel=f`."""

    key: Word
    value: Word
    span: Span


Arg = Union[Word, KeywordArg]


@dataclass(frozen=True, slots=True)
class Bound:
    """A lower bound on a size symbol: `H >= 32` (for symbolic inputs)."""

    symbol: Word
    minimum: Word
    span: Span


@dataclass(frozen=True, slots=True)
class Command:
    """A statement `NAME arg*`: a layer, a block call, `input` or `network`."""

    name: Word
    args: tuple[Arg, ...]
    bounds: tuple[Bound, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Body:
    """Statements between braces; `span` covers the braces."""

    statements: tuple[Statement, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class BlockDef:
    """`block NAME(p1, p2) { ... }`; `header` spans `block NAME(...)`."""

    name: Word
    params: tuple[Word, ...]
    body: Body
    span: Span
    header: Span


@dataclass(frozen=True, slots=True)
class Repeat:
    """`repeat N { ... }`; `header` spans `repeat N`."""

    count: Word
    body: Body
    span: Span
    header: Span


@dataclass(frozen=True, slots=True)
class Residual:
    """`residual { BODY } [shortcut { PATH }]`; `header` spans the keyword."""

    body: Body
    shortcut: Body | None
    span: Span
    header: Span


@dataclass(frozen=True, slots=True)
class Shortcut:
    """A `shortcut { ... }` that did not follow a residual (always an error)."""

    body: Body
    span: Span
    header: Span


Statement = Union[Command, BlockDef, Repeat, Residual, Shortcut]


@dataclass(frozen=True, slots=True)
class Module:
    """A whole .cnn file."""

    statements: tuple[Statement, ...]
