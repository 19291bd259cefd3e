"""Sizes that must stay at least 1: after a layer that is not a sliding window, and any symbolic size.

A transposed convolution with much padding (`upconv 8 k2 p3` on a 2x2 map),
or reflection padding wider than its input, leaves nothing: E0081 for a
number. For a symbolic size, `symbolic_size_fits` is the one rule of every
layer, sliding windows included (windows.py): E0071 with a written bound; a
computed bound is raised, which is how the checker finds the smallest
admissible size. Positivity is decided at the bound: every size function
is monotone.
"""

from __future__ import annotations

from ..record import DeclaredRecord
from ..syntax.source import Span
from ..types.symbolic import Axis
from .values import Site


def grown_fits(what: str, axis: str, size, out, rule: str, site: Site, span: Span, help_text: str, noun: str = "") -> bool:
    """Whether `out` (a number, or an Axis of the input's symbol) is at least 1 for every admissible size.

    `noun` names `out` in messages (default: the output's axis).
    """
    noun = noun or f"output {axis}"
    if not isinstance(out, Axis):
        if out >= 1:
            return True
        site.report(
            "E0081",
            span,
            f"the {what}'s {noun} would be {out}: nothing is left of the {size} input {axis}",
            label=f"{noun} {out}",
            notes=[f"{axis}: {rule}"],
            help=help_text,
        )
        return False
    return symbolic_size_fits(what, noun, out, smallest_admissible(out, site), f"{axis}: {rule}", site, span, help_text)


def smallest_admissible(size: Axis, site: Site, at_least: int = 1) -> int | None:
    """The smallest admissible value of `size`'s symbol, from its bound on, where `size` is at least `at_least`.

    None: none up to 2**31 - 1. Admissible: with the symbol's residue (`where H % 16 == 0`), as its bound has.
    """
    bound = site.size_bound(size.symbol)
    needed = size.smallest_valid(bound, at_least=at_least)
    if needed is not None:
        needed += (bound - needed) % site.size_modulus(size.symbol)
    return needed


class RaisedBound(DeclaredRecord):
    """A written bound that had to be raised to `needed`: what the error about it says."""

    symbol: str
    stated: int  # the bound as written
    needed: int
    last: int  # the largest admissible size below `needed`: the one to name
    span: Span  # the written bound

    @property
    def related(self) -> tuple[Span, str]:
        return (self.span, f"{self.symbol} >= {self.stated} admits {self.symbol} = {self.last}")

    @property
    def require(self) -> str:
        return f"require {self.symbol} >= {self.needed} on the input line (where {self.symbol} >= {self.needed})"


def raise_bound(site: Site, symbol: str, needed: int) -> RaisedBound | None:
    """Raise the symbol's bound to `needed`: silently for a computed bound (how the checker finds the smallest
    sizes), and for a written one, what an error must say (None for a computed one)."""
    stated = site.stated_bound(symbol)
    written = site.raise_bound(symbol, needed)
    if written is None:
        return None
    return RaisedBound(symbol, stated, needed, needed - site.size_modulus(symbol), written)


def symbolic_size_fits(what: str, noun: str, out: Axis, needed: int | None, rule: str, site: Site, span: Span, help_text: str,
                       never_help: str = "") -> bool:
    """E0071: a size of the input's symbol that must be at least 1 for every admissible size (windows.py's too).

    `needed` is the smallest size from the symbol's bound on that gives at
    least 1 (None: none up to 2**31 - 1); by monotonicity that decides every
    size. Below it, a written bound is an error naming the largest failing
    size; a computed bound is raised silently (that is how the checker
    finds it). Either way checking goes on from the raised bound. `what`
    names the layer ("convolution", "reflect padding"), `noun` the size
    ("output height"), `rule` the arithmetic; `help_text` is the fix
    besides a larger bound, `never_help` the one when no size will do.
    """
    symbol = out.symbol
    if needed == site.size_bound(symbol):
        return True
    if needed is None:
        site.report(
            "E0071",
            span,
            f"the {what}'s {noun} {out} stays below 1 for every {symbol} up to 2**31",
            label=f"{noun} {out}",
            notes=[rule],
            help=never_help or help_text,
        )
        return False
    raised = raise_bound(site, symbol, needed)
    if raised is not None:
        last = raised.last
        site.report(
            "E0071",
            span,
            f"for {symbol} = {last}, the {noun} after line {site.line_of(span)} is {out.at(last)}",
            label=f"this {what}'s {noun} {out} is {out.at(last)} for {symbol} = {last}",
            notes=[rule, f"it is below 1 for every {symbol} from {raised.stated} to {last}, and at least 1 from {symbol} = {needed} on"],
            related=[raised.related],
            help=f"{raised.require}, or {help_text}",
        )
    return True
