"""The syntax tree: frozen nodes that carry their source spans.

The parser (cnndsl/syntax/builder.py) builds these; the checker
(cnndsl/check/checker.py) gives them types. Nodes record what was written,
not what it means: `conv 10 k3` is a Command named `conv` with two Word
arguments. They are frozen records with slots (record.py): what a frozen
dataclass is, without its cost at start-up.

Statements declare the fields that hold nested statements (`children`), which
is what `syntax.visitor` walks; a new statement kind declares its own.
"""

from __future__ import annotations

from typing import Union

from ..record import Record
from .source import Span

_set = object.__setattr__

# The name of the placeholder statement that stands where a broken statement
# was dropped (cnndsl/syntax/recovery.py). No source text can spell it (the
# lexer's WORD has no '<'); the checker gives it an unknown type without a
# second diagnostic, so that nothing after it is checked against a type the
# user did not write.
BROKEN = "<syntax error>"


class Word(Record):
    """One token of text: a name, number, size, option or flag."""

    __slots__ = ("text", "span", "stray")
    text: str
    span: Span
    stray: bool  # a character the language does not use

    def __init__(self, text: str, span: Span, stray: bool = False) -> None:
        _set(self, "text", text)
        _set(self, "span", span)
        _set(self, "stray", stray)


class KeywordArg(Record):
    """A long-form option: `kernel=3`, `stride=2x1`, `kernel=f`."""

    __slots__ = ("key", "value", "span")
    key: Word
    value: Word
    span: Span

    def __init__(self, key: Word, value: Word, span: Span) -> None:
        _set(self, "key", key)
        _set(self, "value", value)
        _set(self, "span", span)


Arg = Union[Word, KeywordArg]


class Bound(Record):
    """A constraint on a size symbol: a lower bound `H >= 32`, or a residue `H % 16 == 0`.

    For a residue, `modulus` is the word after `%` and `minimum` the residue
    after `==`; for a lower bound `modulus` is None.
    """

    __slots__ = ("symbol", "minimum", "span", "modulus")
    symbol: Word
    minimum: Word
    span: Span
    modulus: Word | None

    def __init__(self, symbol: Word, minimum: Word, span: Span, modulus: Word | None = None) -> None:
        _set(self, "symbol", symbol)
        _set(self, "minimum", minimum)
        _set(self, "span", span)
        _set(self, "modulus", modulus)


class Command(Record):
    """A statement `NAME arg*`: a layer, a block call, `input` or `network`."""

    __slots__ = ("name", "args", "bounds", "span")
    name: Word
    args: tuple[Arg, ...]
    bounds: tuple[Bound, ...]
    span: Span

    children = ()

    def __init__(self, name: Word, args: tuple[Arg, ...], bounds: tuple[Bound, ...], span: Span) -> None:
        _set(self, "name", name)
        _set(self, "args", args)
        _set(self, "bounds", bounds)
        _set(self, "span", span)


class Body(Record):
    """Statements between braces; `span` covers the braces."""

    __slots__ = ("statements", "span")
    statements: tuple[Statement, ...]
    span: Span

    children = ("statements",)

    def __init__(self, statements: tuple[Statement, ...], span: Span) -> None:
        _set(self, "statements", statements)
        _set(self, "span", span)

    def __iter__(self):
        return iter(self.statements)


class BlockDef(Record):
    """`block NAME(p1, p2) { ... }`; `header` spans `block NAME(...)`."""

    __slots__ = ("name", "params", "body", "span", "header")
    name: Word
    params: tuple[Word, ...]
    body: Body
    span: Span
    header: Span

    children = ("body",)

    def __init__(self, name: Word, params: tuple[Word, ...], body: Body, span: Span, header: Span) -> None:
        _set(self, "name", name)
        _set(self, "params", params)
        _set(self, "body", body)
        _set(self, "span", span)
        _set(self, "header", header)


class Repeat(Record):
    """`repeat N { ... }`; `header` spans `repeat N`."""

    __slots__ = ("count", "body", "span", "header")
    count: Word
    body: Body
    span: Span
    header: Span

    children = ("body",)

    def __init__(self, count: Word, body: Body, span: Span, header: Span) -> None:
        _set(self, "count", count)
        _set(self, "body", body)
        _set(self, "span", span)
        _set(self, "header", header)


class Residual(Record):
    """`residual { BODY } [shortcut { PATH }]`; `header` spans the keyword."""

    __slots__ = ("body", "shortcut", "span", "header")
    body: Body
    shortcut: Body | None
    span: Span
    header: Span

    children = ("body", "shortcut")

    def __init__(self, body: Body, shortcut: Body | None, span: Span, header: Span) -> None:
        _set(self, "body", body)
        _set(self, "shortcut", shortcut)
        _set(self, "span", span)
        _set(self, "header", header)


class Shortcut(Record):
    """A `shortcut { ... }` that did not follow a residual (always an error)."""

    __slots__ = ("body", "span", "header")
    body: Body
    span: Span
    header: Span

    children = ("body",)

    def __init__(self, body: Body, span: Span, header: Span) -> None:
        _set(self, "body", body)
        _set(self, "span", span)
        _set(self, "header", header)


class Structural(Record):
    """A keyword with a body: `concat { }`, `split { }`, `branch { }`, `gate { }`.

    `header` spans the keyword. What may stand in the body (only branches in a
    concat or split; a branch only there) is the checker's to say, with help.
    """

    # Each kind lists the fields itself (a record's fields are its class's __slots__).
    __slots__ = ()
    body: Body
    span: Span
    header: Span

    children = ("body",)
    keyword = ""  # the word that opens it

    def __init__(self, body: Body, span: Span, header: Span) -> None:
        _set(self, "body", body)
        _set(self, "span", span)
        _set(self, "header", header)


class Concat(Structural):
    """`concat { branch { } ... }`: the branches' outputs joined on the channels."""

    __slots__ = ("body", "span", "header")
    keyword = "concat"


class Split(Structural):
    """`split { branch { } ... }`: branch i gets part i of the channels; outputs joined."""

    __slots__ = ("body", "span", "header")
    keyword = "split"


class Branch(Structural):
    """`branch { ... }` inside a concat or split (elsewhere an error); empty: the input itself."""

    __slots__ = ("body", "span", "header")
    keyword = "branch"


class Gate(Structural):
    """`gate { BODY }`: the input multiplied by BODY's output, broadcast onto it."""

    __slots__ = ("body", "span", "header")
    keyword = "gate"


Statement = Union[Command, BlockDef, Repeat, Residual, Shortcut, Concat, Split, Branch, Gate]
# What a statement walker handles.
STATEMENTS = (Command, BlockDef, Repeat, Residual, Shortcut, Concat, Split, Branch, Gate)
JOINS = (Concat, Split)  # statements whose body holds only branches


class Module(Record):
    """A whole .cnn file."""

    __slots__ = ("statements",)
    statements: tuple[Statement, ...]

    def __init__(self, statements: tuple[Statement, ...]) -> None:
        _set(self, "statements", statements)
