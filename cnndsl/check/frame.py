"""Where statements are checked: the scope that the layer table reports through.

A `Frame` is the checker's `layers.values.Site`: the block parameters'
values, the chain of block calls that led to the statements being checked,
how deeply they nest, and the blocks being expanded. A mistake reported
inside a block gets its call chain as a note and the innermost call as a
related span. A `SymbolBound` is the running lower bound of a size symbol
(`input HxWx3 where H >= 32`), which frames read and raise.
"""

from __future__ import annotations

from ..layers.values import Site, Value
from ..syntax.source import Span
from .typed import CallSite


class SymbolBound:
    """The running lower bound of one size symbol.

    `bound` is where checking starts; after an E0071 it is raised past the
    failing sizes so that later layers are still checked, while `value` keeps
    what the program says (written, or computed by the first pass).
    """

    __slots__ = ("bound", "value", "written", "axes", "modulus", "residue", "residue_written")

    def __init__(self, bound: int, written: Span | None, axes: list[str]) -> None:
        self.bound = bound
        self.value = bound
        self.written = written  # the `H >= 32` that gave it, if written
        self.axes = axes
        # `where H % 16 == 12`: admissible sizes are residue modulo modulus (1: every size).
        self.modulus = 1
        self.residue = 0
        self.residue_written: Span | None = None

    def admissible(self, value: int) -> int:
        """The smallest admissible size >= value."""
        return value + (self.residue - value) % self.modulus


class Frame(Site):
    """Where statements are being checked: block parameters and call chain (the layers' `Site`).

    `checker` is the `Checker` (its `report`, `bounds` and `source`).
    """

    __slots__ = ("checker", "scope", "calls", "depth", "active", "light", "layer_name")

    def __init__(self, checker, scope, calls, depth, active, light=False):
        self.checker = checker
        self.scope: dict[str, Value] = scope
        self.calls: tuple[CallSite, ...] = calls
        self.depth: int = depth
        self.active: tuple[str, ...] = active  # blocks being expanded
        # A block body checked without its arguments' values (a block that is
        # never expanded): only mistakes that do not depend on them are reported.
        self.light: bool = light
        # The layer name as the user wrote it (`fc` for linear), for messages.
        self.layer_name: str | None = None

    @property
    def inside_block(self) -> bool:
        return bool(self.calls) or self.light

    def inner(self) -> Frame:
        """The frame for a nested body (repeat, residual): same scope, one level deeper."""
        return Frame(self.checker, self.scope, self.calls, self.depth + 1, self.active, self.light)

    def report(self, code, span, message, *, notes=(), help=None, label=None, related=(), fixes=()):
        notes = list(notes)
        related = list(related)
        if self.calls:
            innermost = self.calls[-1]
            chain = ", ".join(f"in {c.text}, called at line {c.line}" for c in reversed(self.calls))
            notes.append(chain)
            related.append((innermost.span, f"in {innermost.text}, called here"))
        self.checker.report(code, span, message, notes=notes, help=help, label=label, related=related, fixes=fixes)

    # Symbolic sizes: the admissible values of each size symbol start at its bound.
    def size_bound(self, symbol: str) -> int:
        return self.checker.bounds[symbol].bound

    def stated_bound(self, symbol: str) -> int:
        """The bound the program states (written, or computed), whatever checking has raised it to."""
        return self.checker.bounds[symbol].value

    def line_of(self, span: Span) -> int:
        return self.checker.source.line_of(span.start)

    def raise_bound(self, symbol: str, value: int) -> Span | None:
        """Raise a symbol's bound to `value` (rounded up to its residue); the written bound's span, None for a computed one."""
        state = self.checker.bounds[symbol]
        state.bound = max(state.bound, state.admissible(value))
        return state.written

    def written_bound(self, symbol: str) -> Span | None:
        return self.checker.bounds[symbol].written

    def size_modulus(self, symbol: str) -> int:
        """The modulus of a symbol's residue (`where H % 16 == 0`), 1 without one; its bound is admissible."""
        return self.checker.bounds[symbol].modulus
