"""Sliding windows over a feature map: does each fit, and which input rows go unread.

`shapes.Window` is PyTorch's output-size rule; this module turns it into the
diagnostics of every windowed kind (conv, pooling, and any later one):
E0030 (the window does not fit), E0071 (it does not fit every admissible
size of a symbolic input) and W0001 (the last rows or columns are never read,
as a count or as a condition on the size symbols), with the `unused:` and
`rounded:` lines of the layer's arithmetic.
"""

from __future__ import annotations

import math

from ..diagnostics.model import Fix
from ..syntax.source import Span
from ..types.shapes import MapType, Window, describe
from ..types.symbolic import residue_condition
from .growth import smallest_admissible, symbolic_size_fits
from .values import Site

AXES = ("height", "width")
AXIS_UNITS = ("row", "column")


def windows_fit(kind_name: str, windows: list[Window], shape: MapType, site: Site, span: Span, padding_help, fixes=()) -> bool:
    ok = True
    # One symbol can size both axes (`input HxHx3`): report it once, for the
    # axis that needs the larger size, so that its help fixes the layer.
    neediest: dict[str, tuple[int | None, str, Window]] = {}  # None: never fits
    for axis, window in zip(AXES, windows):
        if window.symbolic:
            out = window.output
            needed = smallest_admissible(out, site)
            known = neediest.get(out.symbol)
            if known is None or (known[0] is not None and (needed is None or needed > known[0])):
                neediest[out.symbol] = (needed, axis, window)
    for needed, axis, window in neediest.values():
        ok &= symbolic_size_fits(f"{kind_name} window", f"output {axis}", window.output, needed, f"{axis}: {window.arithmetic()}", site, span,
                                 "pad this layer", never_help="use a smaller kernel or dilation")
    for axis, window in zip(AXES, windows):
        if window.symbolic or window.output >= 1:
            continue
        ok = False
        site.report(
            "E0030",
            span,
            f"{kind_name} window {windows[0].kernel}x{windows[1].kernel} does not fit the {describe(shape)}"
            + (f" (padding {windows[0].padding})" if windows[0].padding == windows[1].padding else ""),
            label=f"output {axis} would be {window.arithmetic()}",
            notes=[f"input {axis} {window.size}, kernel {window.kernel}, stride {window.stride}, padding {window.padding}"
                   + (f", dilation {window.dilation}" if window.dilation != 1 else "")],
            help=padding_help(axis, window),
            fixes=fixes() if callable(fixes) else fixes,
        )
        break
    return ok


def symbolic_unused(window: Window, start: int, modulus: int = 1) -> tuple[int, set[int], int] | None:
    """For a symbolic input: (period, residues of the symbol, most rows) where real rows are dropped.

    The rows dropped depend on `size mod stride`, so on the symbol modulo
    `size.period * stride`; one period from `start` shows every case. None
    when no size drops any (or the period is too long to list).
    """
    size = window.size
    if window.reach < window.stride or window.ceil or window.stride == 1:
        return None  # (a stride of 1 leaves no room: every window position is taken)
    period = math.lcm(size.period * window.stride, modulus)
    if period // modulus > 4096:  # conditions over thousands of residues help nobody
        return None
    residues, most = set(), 0
    for value in range(start, start + period, modulus):
        room = size.at(value) + 2 * window.padding - window.reach
        if room < 0:
            continue
        unused = room % window.stride - window.padding
        if unused > 0:
            residues.add(value % period)
            most = max(most, unused)
    return (period, residues, most) if residues else None


def _rows_phrase(unit: str, most: int) -> str:
    return f"the last {unit}" if most == 1 else f"up to the last {most} {unit}s"


def _symbolic_unused_report(kind_name: str, windows: list[Window], site: Site, span: Span) -> tuple[str, ...]:
    """W0001 as a condition on the symbols: `for odd H, the last row is dropped`."""
    phrases, notes, lines = [], [], []
    for axis, unit, window in zip(AXES, AXIS_UNITS, windows):
        if not window.symbolic:
            continue
        found = symbolic_unused(window, site.size_bound(window.size.symbol), site.size_modulus(window.size.symbol))
        if found is None:
            continue
        period, residues, most = found
        symbol = window.size.symbol
        modulus = site.size_modulus(symbol)
        admissible = set(range(site.size_bound(symbol) % modulus, period, modulus))
        when = residue_condition(symbol, period, residues) if residues != admissible or modulus == 1 else f"for every admissible {symbol}"
        reads = residue_condition(symbol, period, admissible - residues) if residues != admissible else None
        rows = _rows_phrase(unit, most)
        phrases.append((when, rows))
        notes.append(
            f"{axis}: the input {axis} here is {window.size}; "
            + (f"every {unit} is read only {reads}" if reads else f"some {unit}s are never read for any {symbol}")
        )
        lines.append(f"unused: {axis}: {when}, {rows} of the input {'is' if most == 1 else 'are'} never read (W0001)")
    if phrases:
        site.report(
            "W0001",
            span,
            f"{phrases[0][0]}, {kind_name} leaves {phrases[0][1]} of its input unused"
            + "".join(f", and {when} {rows}" for when, rows in phrases[1:]),
            label="the stride does not reach the end for these sizes",
            notes=notes,
            help="pad so that the windows reach the end, or feed only sizes where every row and column is read",
        )
    return tuple(lines)


def unused_input(windows: list[Window]) -> list[tuple[str, str, Window, int]]:
    """Per axis, the real input rows or columns that no window reads.

    `(in + 2P - D*(F-1) - 1) mod S` positions are left over at the end; the
    last P of them are padding, so only the rest are input data that no
    window reads (a stride-2 3x3 conv with p1 on an even size drops nothing).
    Windows narrower than their stride skip rows everywhere by design.
    Returns `(axis, unit, window, count)` for each axis that drops some.
    """
    dropped = []
    for axis, unit, window in zip(AXES, AXIS_UNITS, windows):
        if window.symbolic:
            continue  # a condition on the symbol, not a count: symbolic_unused
        if window.reach < window.stride:
            continue  # windows narrower than the stride sample by design (1x1, s2)
        unused = window.unused - window.padding
        if unused > 0:
            dropped.append((axis, unit, window, unused))
    return dropped


def _unused_lines(windows: list[Window]) -> tuple[str, ...]:
    """What a rounded-down division means, per axis: input dropped (W0001) or not."""
    dropped = {axis: unused for axis, _, _, unused in unused_input(windows)}
    lines = []
    for axis, unit, window in zip(AXES, AXIS_UNITS, windows):
        if window.symbolic or not window.unused:
            continue
        remainder = f"({window.size} + 2*{window.padding} - {window.reach}) mod {window.stride} = {window.unused}"
        unused = dropped.get(axis, 0)
        if unused:
            side = "bottom" if axis == "height" else "right"
            lines.append(
                f"unused: {axis}: the {side} {unused} {unit}{'s are' if unused > 1 else ' is'} never read, {remainder}"
                + (f", of which {window.padding} padding" if window.padding else "")
                + " (W0001)"
            )
        elif window.reach < window.stride:
            lines.append(f"rounded: {axis}: windows {window.reach} wide step by {window.stride}, so {unit}s between them are skipped by design")
        else:
            lines.append(f"rounded: {axis}: {remainder} left over, within the padding {window.padding}; every input {unit} is read")
    return tuple(lines)


def report_unused(kind_name: str, windows: list[Window], site: Site, span: Span, can_pad: bool) -> tuple[str, ...]:
    """W0001 when the last windows stop short of real input rows or columns.

    Returns the `unused:` lines of a symbolic input (worded with the report);
    `unused_lines` writes the rest of the layer's arithmetic when asked for.
    """
    symbolic = _symbolic_unused_report(kind_name, windows, site, span) if any(w.symbolic for w in windows) else ()
    dropped = unused_input(windows)
    if dropped:
        _concrete_unused_report(kind_name, windows, dropped, site, span, can_pad)
    return symbolic


def unused_lines(windows: list[Window], symbolic: tuple[str, ...]) -> tuple[str, ...]:
    """The `unused:` and `rounded:` lines of the layer's arithmetic (`symbolic`: what `report_unused` returned)."""
    return _unused_lines(windows) + symbolic


def _concrete_unused_report(kind_name, windows, dropped, site, span, can_pad) -> None:
    phrases = [f"{unused} {unit}{'s' if unused > 1 else ''}" for _, unit, _, unused in dropped]
    notes = []
    paddings = set()
    smaller, larger = [windows[0].size, windows[1].size], [windows[0].size, windows[1].size]
    for axis, unit, window, unused in dropped:
        notes.append(
            f"{axis}: ({window.size} + 2*{window.padding} - {window.reach}) mod {window.stride} = {window.unused}"
            + (f", of which {window.padding} padding" if window.padding else "")
            + f"; output {axis} {window.arithmetic()}"
        )
        if can_pad:
            for extra in range(1, min(window.stride, 64) + 1):  # strides can be near 2**31
                if (window.span_left + 2 * extra) % window.stride <= window.padding + extra:
                    paddings.add(window.padding + extra)
                    break
        index = AXES.index(axis)
        smaller[index] = window.size - unused
        larger[index] = window.size - unused + window.stride
    fixes = []
    quick_fixes = ()
    if len(paddings) == 1 and can_pad:
        padding = paddings.pop()
        fixes.append(f"p{padding}")
        quick_fixes = (Fix(f"use p{padding} so that every input row and column is read", "padding", str(padding)),)
    fixes.append(f"an input of {smaller[0]}x{smaller[1]} or {larger[0]}x{larger[1]} to this layer")
    site.report(
        "W0001",
        span,
        f"{kind_name} leaves the last {' and the last '.join(phrases)} of its {windows[0].size}x{windows[1].size} input unused"
        if not (windows[0].symbolic or windows[1].symbolic)
        else f"{kind_name} leaves the last {' and the last '.join(phrases)} of its input unused",
        label=f"stride {windows[0].stride if windows[0].stride == windows[1].stride else f'{windows[0].stride}x{windows[1].stride}'} does not reach the end",
        notes=notes,
        help="use " + ", or ".join(fixes) + ", so that every input " + " and ".join(u for _, u, _, _ in dropped) + " is read",
        fixes=quick_fixes,
    )
