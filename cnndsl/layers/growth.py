"""Sizes that must stay at least 1 after a layer that is not a sliding window.

A transposed convolution with much padding (`upconv 8 k2 p3` on a 2x2 map),
or reflection padding wider than its input, leaves nothing: E0081 for a
number, and for a symbolic size the same rule as windows (E0071 with a
written bound; a computed bound is raised, which is how the checker finds
the smallest admissible size). Positivity is decided at the bound: every
size function is monotone.
"""

from __future__ import annotations

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
    symbol = out.symbol
    bound = site.size_bound(symbol)
    needed = out.smallest_valid(bound)
    if needed is not None:
        needed += (bound - needed) % site.size_modulus(symbol)
    if needed == bound:
        return True
    if needed is None:
        site.report(
            "E0071",
            span,
            f"the {what}'s {noun} {out} stays below 1 for every {symbol} up to 2**31",
            label=f"{noun} {out}",
            notes=[f"{axis}: {rule}"],
            help=help_text,
        )
        return False
    stated = site.stated_bound(symbol)
    written = site.raise_bound(symbol, needed)
    if written is not None:
        last = needed - site.size_modulus(symbol)
        site.report(
            "E0071",
            span,
            f"for {symbol} = {last}, the {noun} at line {site.line_of(span)} is {out.at(last)}",
            label=f"this {what}'s {noun} {out} is {out.at(last)} for {symbol} = {last}",
            notes=[f"{axis}: {rule}", f"it is below 1 for {symbol} from {stated} to {last}, and at least 1 from {symbol} = {needed} on"],
            related=[(written, f"{symbol} >= {stated} admits {symbol} = {last}")],
            help=f"require {symbol} >= {needed} on the input line (where {symbol} >= {needed}), or {help_text}",
        )
    return True
