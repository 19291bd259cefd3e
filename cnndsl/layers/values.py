"""Reading argument words as numbers and sizes, with block parameters resolved.

Also the `Site` protocol: everything a layer kind may ask of the place where
its statement is checked (the checker's frame implements it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol, Union

from ..diagnostics.suggest import did_you_mean
from ..diagnostics.wording import show
from ..record import Record
from ..syntax.source import Span
from ..types.shapes import MAX_VALUE

INTEGER = re.compile(r"[+-]?[0-9]+\Z")
# A decimal: `0.5`, `.5`, `3`, or in scientific notation `1e-6`, `2.5E+3` (one
# word for the lexer: grammar/cnn.lark). The VS Code grammar's number pattern
# is generated from this text (reports/docs.py).
DECIMAL_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
DECIMAL = re.compile(DECIMAL_PATTERN + r"\Z")
SIZE = re.compile(r"[0-9]+(?:x[0-9]+)+\Z")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

Number = Union[int, float, tuple]


_set = object.__setattr__


class Value(Record):
    """A resolved argument: its value, the text and span where it was written.

    `origin` explains a value that came through a block parameter
    (`c = 64 from the call at line 14`). A record, not a dataclass: one costs
    every fresh `cnnc check` about 0.5 ms to define.
    """

    __slots__ = ("value", "text", "span", "origin")
    value: Number
    text: str
    span: Span
    origin: str | None

    def __init__(self, value: Number, text: str, span: Span, origin: str | None = None) -> None:
        _set(self, "value", value)
        _set(self, "text", text)
        _set(self, "span", span)
        _set(self, "origin", origin)



class Site(Protocol):
    """Where a statement is checked: everything a layer kind may use.

    Reporting, the block parameters in scope, the layer's name as written and,
    for a symbolic input, the running lower bounds of the size symbols.
    """

    __slots__ = ()

    scope: Mapping[str, Value]  # the block parameters' values
    # The layer's name as the user wrote it (`fc` for linear), for messages; None outside a layer.
    layer_name: str | None

    @property
    def inside_block(self) -> bool:
        """Inside a block body (a name may be a parameter that is not there)."""
        ...

    def report(self, code: str, span: Span, message: str, **details) -> None: ...

    def size_bound(self, symbol: str) -> int:
        """Where checking of a size symbol starts: its bound, as raised so far."""
        ...

    def stated_bound(self, symbol: str) -> int:
        """The bound the program states (written, or computed), however far checking raised it."""
        ...

    def size_modulus(self, symbol: str) -> int:
        """The modulus of the symbol's residue constraint (`H % 16 == 0`), 1 without one."""
        ...

    def raise_bound(self, symbol: str, value: int) -> Span | None:
        """Raise a symbol's bound to `value`; the written bound's span, None for a computed one."""
        ...

    def written_bound(self, symbol: str) -> Span | None:
        """The span of the symbol's written bound (`H >= 32`), None for a computed one."""
        ...

    def line_of(self, span: Span) -> int:
        """The 1-based line a span starts on."""
        ...


class Expect:
    """What kind of value an argument takes, and how to say so."""

    def __init__(
        self, noun: str, example: str, *, size: bool = False, decimal: bool = False, dims: int = 2, single: bool = True
    ):
        self.noun = noun
        self.example = example
        self.size = size
        self.decimal = decimal
        self.dims = dims
        self.single = single  # a whole number is accepted (for a size: the same in every dimension)

    def literal(self, text: str) -> Number | None:
        """The value of a literal, or None when the text is not one."""
        if INTEGER.match(text) and self.single:
            if len(text.lstrip("+-")) > 12:
                return _TOO_LARGE
            return int(text)
        if self.size and SIZE.match(text):
            parts = text.split("x")
            if any(len(p) > 12 for p in parts):
                return _TOO_LARGE
            if len(parts) != self.dims:
                return None
            return tuple(int(p) for p in parts)
        if self.decimal and DECIMAL.match(text):
            value = float(text)
            return value if abs(value) <= MAX_VALUE else _TOO_LARGE  # also catches inf
        return None

    def accepts(self, value: Number) -> bool:
        if self.decimal:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(value, int):
            return self.single
        return self.size and isinstance(value, tuple) and len(value) == self.dims


class _TooLarge:
    """Marker for a literal with more digits than any valid value."""


_TOO_LARGE = _TooLarge()


def read_value(text: str, span: Span, expect: Expect, site: Site, role: str) -> Value | None:
    """Resolve `text` (a literal or a block parameter) as `expect` describes.

    Reports E0013 (malformed), E0042 (undefined parameter) or E0061 (too large)
    and returns None when the text is not a usable value.
    """
    bound = site.scope.get(text)
    if bound is not None:
        if not expect.accepts(bound.value):
            site.report(
                "E0013",
                span,
                f"{role} must be {expect.noun}, but parameter '{text}' is {bound.text}",
                label=f"'{text}' is {bound.text} here",
                notes=[bound.origin] if bound.origin else [],
            )
            return None
        return Value(bound.value, bound.text, span, f"{text} = {bound.text}" + (f" ({bound.origin})" if bound.origin else ""))
    literal = expect.literal(text)
    if literal is _TOO_LARGE or (literal is not None and _exceeds(literal)):
        site.report(
            "E0061",
            span,
            f"{role} {show(text)} is too large",
            label=f"at most {MAX_VALUE:,}",
            help="sizes and counts must stay below 2**31; check for a typo",
        )
        return None
    if literal is not None:
        return Value(literal, text, span)
    if IDENTIFIER.match(text) and not text[0].isdigit():
        if site.inside_block:
            params = ", ".join(sorted(site.scope)) or "none"
            site.report(
                "E0042",
                span,
                f"'{show(text)}' is not a parameter of this block",
                label="no value for this name",
                notes=[f"the block's parameters: {params}"],
                help=_close_help(text, site.scope),
            )
        else:
            site.report(
                "E0013",
                span,
                f"{role} must be {expect.noun}, found '{show(text)}'",
                label=f"expected {expect.noun}",
                help=f"write it like {expect.example}" if expect.example else None,
            )
        return None
    site.report(
        "E0013",
        span,
        f"{role} must be {expect.noun}, found '{show(text)}'",
        label=f"expected {expect.noun}",
        help=_malformed_help(text, expect),
    )
    return None


def _exceeds(value: Number) -> bool:
    if isinstance(value, tuple):
        return any(abs(v) > MAX_VALUE for v in value)
    return abs(value) > MAX_VALUE


def _close_help(text: str, scope: Mapping) -> str | None:
    return did_you_mean(text, scope)


def _malformed_help(text: str, expect: Expect) -> str:
    if "x" in text and expect.size:
        return f"sizes are whole numbers joined by 'x' with no spaces, like {expect.example}"
    if "." in text and not expect.decimal:
        return f"this takes a whole number, like {expect.example}"
    return f"write it like {expect.example}"


# The expectations the kinds share.
COUNT = Expect("a whole number", "16")
WINDOW = Expect("a whole number or HxW", "3 or 3x5", size=True)
DECIMAL_VALUE = Expect("a decimal number", "0.5", decimal=True)


def literal_like(text: str) -> bool:
    """Starts like a number: `3`, `-1`, `0.5`, `3x5`, or a malformed `130x`."""
    stripped = text.lstrip("+-")
    return bool(stripped) and (stripped[0].isdigit() or stripped[0] == ".")


def looks_like_value(text: str, scope: Mapping) -> bool:
    """A word that stands for a value: a literal, or a block parameter."""
    return literal_like(text) or text in scope
