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
    bound = site.size_bound(out.symbol)
    needed = out.smallest_valid(bound)
    if needed is not None:
        needed += (bound - needed) % site.size_modulus(out.symbol)
    return symbolic_size_fits(what, noun, out, needed, f"{axis}: {rule}", site, span, help_text)


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
    stated = site.stated_bound(symbol)
    written = site.raise_bound(symbol, needed)
    if written is not None:
        last = needed - site.size_modulus(symbol)
        site.report(
            "E0071",
            span,
            f"for {symbol} = {last}, the {noun} after line {site.line_of(span)} is {out.at(last)}",
            label=f"this {what}'s {noun} {out} is {out.at(last)} for {symbol} = {last}",
            notes=[rule, f"it is below 1 for every {symbol} from {stated} to {last}, and at least 1 from {symbol} = {needed} on"],
            related=[(written, f"{symbol} >= {stated} admits {symbol} = {last}")],
            help=f"require {symbol} >= {needed} on the input line (where {symbol} >= {needed}), or {help_text}",
        )
    return True
