"""Long skips by name: `keep NAME`, later `cat NAME [crop]` or `add NAME [crop]`.

A kept map is visible to the statements after its `keep` in the same body
(the top level, a block's body for one call, a residual's or repeat's body):
a block keeps and joins its own maps, and a map kept outside a body cannot be
joined inside it. So the statements from a keep to its join are always one
stretch of one sequence, and the join turns them into one typed node, a
`TypedSkip` (the body, then the join with the kept map), nested like the
U-Net's levels. Two skips must nest: joining `a` closes every map kept after
`a` (they were inside its body), and using one of those later is E0084.

Sizes: without `crop` the kept map and the current one must have the same
height and width for every admissible size; with `crop` the kept map must be
at least as large, by an even amount (the crop takes the centre, as the
original U-Net's "copy and crop"; an odd difference would crop unevenly).
Either failure is E0083, naming the smallest admissible size that fails, the
residues where it fails, and the constraint that would fix it.
"""

from __future__ import annotations

import math

from ..diagnostics.suggest import closest
from ..record import MutableRecord
from ..syntax.nodes import Command, Word
from ..syntax.source import Span
from ..types.shapes import MapType, Shape, describe
from ..types.symbolic import Axis, MAX_COMPARED, residue_condition, size_at
from ..layers.values import IDENTIFIER, Site
from .typed import Node, TypedSkip

KEEP = "keep"
JOINS = ("cat", "add")
WORDS = (KEEP, *JOINS)


class Kept(MutableRecord):
    """A map kept under a name in one sequence."""

    __slots__ = ("name", "span", "index", "shape", "used", "closed_by")
    name: str
    span: Span
    index: int  # where its body starts in the sequence's node list
    shape: Shape | None
    used: bool
    closed_by: Span | None  # the join whose body it was kept inside

    def __init__(self, name: str, span: Span, index: int, shape: Shape | None, used: bool = False, closed_by: Span | None = None) -> None:
        self.name = name
        self.span = span
        self.index = index
        self.shape = shape
        self.used = used
        self.closed_by = closed_by


class SizeFailures:
    """E0083 size failures of a whole program, reported together at the end.

    Each failing join knows the residues of the symbol where it would
    succeed; the help of every report names one constraint that makes all the
    joins succeed (the U-Net's crops each allow several residues, together
    exactly one), or says that none does.
    """

    def __init__(self) -> None:
        self.pending: list = []  # (report(help), {symbol: (period, residues that work)}, fallback help)
        self.constraint: str | None = None  # the `where` that makes every join fit (TypedProgram.join_constraint)

    def add(self, report, agree: dict[str, tuple[int, set[int]]], fallback: str) -> None:
        self.pending.append((report, agree, fallback))

    def flush(self) -> None:
        combined: dict[str, tuple[int, set[int]]] = {}
        for _, agree, _ in self.pending:
            for symbol, (period, residues) in agree.items():
                known = combined.get(symbol)
                if known is None:
                    combined[symbol] = (period, set(residues))
                    continue
                lcm = math.lcm(known[0], period)
                combined[symbol] = (lcm, {r for r in range(lcm) if r % known[0] in known[1] and r % period in residues})
        fix_of = {symbol: _coarsest_fix(symbol, *residues) for symbol, residues in combined.items()}
        if fix_of and all(fix_of.values()):
            self.constraint = ", ".join(fix_of.values())
        for report, agree, fallback in self.pending:
            fixes = [fix_of[symbol] for symbol in agree]
            if agree and all(fixes):
                report("add `where " + ", ".join(fixes) + "` to the input line: every join then fits")
            else:
                report(fallback)
        self.pending = []


class Keeps:
    """The maps kept in one sequence (one body), by name."""

    def __init__(self, failures: SizeFailures) -> None:
        self.by_name: dict[str, Kept] = {}
        self.failures = failures

    def keep(self, statement: Command, shape: Shape | None, site: Site, nodes: list[Node]) -> Shape | None:
        name = _name(statement, site, "keep NAME, like: keep e1")
        if name is None:
            return shape
        old = self.by_name.get(name)
        if old is not None and not old.used:
            _unused(old, site)
        self.by_name[name] = Kept(name, statement.span, len(nodes), shape)
        return shape

    def join(self, statement: Command, shape: Shape | None, site: Site, nodes: list[Node], line: int, calls: tuple) -> Shape | None:
        how = statement.name.text
        name = _name(statement, site, f"{how} NAME [crop], like: {how} e1 crop", flags=("crop",))
        if name is None:
            return None
        crop = any(isinstance(word, Word) and word.text == "crop" for word in statement.args[1:])
        kept = self.by_name.get(name)
        if kept is None:
            match = closest(name, list(self.by_name))
            open_names = [k.name for k in self.by_name.values() if k.closed_by is None]
            site.report(
                "E0082",
                statement.args[0].span,
                f"no map is kept under the name '{name}' here",
                label="unknown name",
                notes=["a map kept with `keep NAME` can be joined later in the same body (the top level, or one block, residual, repeat, branch or gate body)"],
                help=f"did you mean '{match}'?" if match else f"write `keep {name}` where the map to join is, earlier in this body"
                + (f"; kept here: {', '.join(open_names)}" if open_names else ""),
            )
            return None
        if kept.closed_by is not None:
            kept.used = True
            site.report(
                "E0084",
                statement.args[0].span,
                f"'{name}' was kept inside the part that an earlier join already closed: the skips would cross",
                label="crossing skip",
                related=[(kept.span, f"'{name}' kept here"), (kept.closed_by, "this join closes the part it was kept in")],
                notes=["skips nest like brackets: the last map kept is the first joined"],
                help="join the maps in the reverse order of their keeps",
            )
            return None
        kept.used = True
        if shape is None or kept.shape is None:
            return None
        out = _joined(how, crop, kept, shape, statement, site, self.failures)
        if out is None:
            return None
        body = nodes[kept.index:]
        del nodes[kept.index:]
        for other in self.by_name.values():  # maps kept inside the body are closed
            if other.index > kept.index and other.closed_by is None:
                other.closed_by = statement.span
        nodes.append(
            TypedSkip(
                body=body, shortcut=None, input=kept.shape, output=out, span=statement.span, line=line,
                calls=calls, name=name, join=how, crop=crop, keep_span=kept.span,
            )
        )
        return out

    def finish(self, site: Site) -> None:
        """W0007 for every map kept and never joined."""
        for kept in self.by_name.values():
            if not kept.used:
                _unused(kept, site)


def _unused(kept: Kept, site: Site) -> None:
    site.report(
        "W0007",
        kept.span,
        f"the map kept as '{kept.name}' is never joined",
        label="kept, never used",
        help=f"join it later with `cat {kept.name}` or `add {kept.name}`, or remove this keep",
    )


def _name(statement: Command, site: Site, usage: str, flags: tuple[str, ...] = ()) -> str | None:
    words = statement.args
    if not words or not isinstance(words[0], Word):
        site.report("E0012", statement.span, f"{statement.name.text} needs a name", label="name missing", help=f"write {usage}")
        return None
    name = words[0].text
    if not IDENTIFIER.match(name):
        site.report("E0013", words[0].span, f"'{name}' is not a name (a letter or _, then letters, digits or _)",
                    label="not a name", help=f"write {usage}")
        return None
    for word in words[1:]:
        if not (isinstance(word, Word) and word.text in flags) or sum(1 for w in words[1:] if getattr(w, "text", "") == word.text) > 1:
            site.report("E0011", word.span, f"unexpected '{getattr(word, 'text', '')}' after {statement.name.text} {name}",
                        label="unexpected", help=f"write {usage}")
            return None
    return name


def _joined(how: str, crop: bool, kept: Kept, shape: Shape, statement: Command, site: Site, failures: SizeFailures) -> Shape | None:
    """The join's output type, or None after E0083 for channels (sizes: reported later, checking goes on)."""
    source = kept.shape
    what = "concatenate" if how == "cat" else "add"
    if not isinstance(source, MapType) or not isinstance(shape, MapType):
        if how == "add" and source == shape and not crop:
            return shape
        site.report(
            "E0083",
            statement.span,
            f"{how} {kept.name} joins the kept {describe(source)} and the current {describe(shape)}: both must be feature maps",
            label="not two maps",
            related=[(kept.span, f"kept here: {source}")],
            help="keep and join maps, before any flatten",
        )
        return None
    if how == "add" and source.channels != shape.channels:
        site.report(
            "E0083",
            statement.span,
            f"add {kept.name} adds the kept {describe(source)} to the current {describe(shape)}: the channels differ",
            label=f"{source.channels} vs {shape.channels} channels",
            related=[(kept.span, f"kept here: {source}")],
            help=f"give the layer before this add {source.channels} filters, or use cat {kept.name} to concatenate",
        )
        return None
    notes, agree, whole = [], {}, True
    for axis, a, b in (("height", source.height, shape.height), ("width", source.width, shape.width)):
        problem = _axis_problem(a, b, crop, site)
        if problem is not None:
            text, works = problem
            notes.append(f"{axis}: {text}")
            if works is None:
                whole = False
            else:
                agree[works[0]] = works[1:]
    if notes:
        if not crop and all("the kept map is larger by an even" in n for n in notes):
            fallback = f"write `{how} {kept.name} crop` to crop the kept map to the centre, as the original U-Net does"
        else:
            fallback = "pad the convolutions (p1 for k3) so that both paths keep the sizes" + ("" if crop else ", or crop")

        def report(help_text: str) -> None:
            site.report(
                "E0083",
                statement.span,
                f"{statement.name.text} {kept.name}{' crop' if crop else ''} cannot {what} the kept {source} map and the current {shape} map",
                label="sizes differ" if not crop else "cannot crop evenly",
                notes=notes,
                related=[(kept.span, f"kept here: {source}")],
                help=help_text,
            )

        failures.add(report, agree if whole else {}, fallback)
        # Go on as if it fitted (the suggested constraint makes it fit), so later joins are checked too.
    if how == "add":
        return shape
    return MapType(shape.height, shape.width, source.channels + shape.channels)


def _axis_problem(kept, current, crop: bool, site: Site) -> tuple[str, tuple | None] | None:
    """Why the kept size cannot join the current one along one axis (None: it can, for every admissible size).

    With the reason, `(symbol, period, residues modulo period where it works)`
    when a residue constraint would fix it, else None.
    """
    if isinstance(kept, int) and isinstance(current, int):
        if kept == current:
            return None
        difference = kept - current
        if crop and difference > 0 and difference % 2 == 0:
            return None
        if not crop and difference > 0 and difference % 2 == 0:
            return f"the kept map is larger by an even {difference} ({kept} vs {current})", None
        if crop and difference < 0:
            return f"the kept map ({kept}) is smaller than the current one ({current}): nothing to crop", None
        return f"the kept size {kept} and the current {current} differ by {difference}" + (
            ", an odd amount: the crop would not be centred" if crop else ""), None
    symbol = (kept if isinstance(kept, Axis) else current).symbol
    start, modulus = site.size_bound(symbol), site.size_modulus(symbol)
    periods = [s.period for s in (kept, current) if isinstance(s, Axis)]
    period = math.lcm(*periods, modulus, 2)
    if 2 * period // modulus > MAX_COMPARED:
        return f"the sizes {kept} and {current} repeat their pattern only every {period:,} values of {symbol}: too many to compare", None
    sizes = range(start, start + 2 * period, modulus)

    def good(x: int) -> bool:
        d = size_at(kept, {symbol: x}) - size_at(current, {symbol: x})
        return d == 0 if not crop else d >= 0 and d % 2 == 0

    failing = [x for x in sizes if not good(x)]
    growth = [size_at(kept, {symbol: x + period}) - size_at(kept, {symbol: x})
              - size_at(current, {symbol: x + period}) + size_at(current, {symbol: x}) for x in sizes[:period // modulus]]
    if not failing and (not crop or min(growth) >= 0) and (crop or max(map(abs, growth)) == 0):
        return None
    if not failing:  # the difference shrinks from period to period: it goes negative later
        x = start
        while good(x):
            x += modulus
        failing = [x]
    first = failing[0]
    env = {symbol: first}
    residues = sorted({x % period for x in failing if x < start + period})
    agree = {x % period for x in sizes if x < start + period} - set(residues)
    # A residue works when both periods from `start` succeed there (growth may still break it later: not offered).
    agree = {r for r in agree if all(good(x) for x in sizes if x % period == r)}
    fix = (symbol, period, agree) if agree else None
    what = f"for {symbol} = {first} the kept size is {size_at(kept, env)} and the current {size_at(current, env)}"
    if crop:
        what += " (the crop needs the kept size larger by an even amount)"
    where = f"; it fails {residue_condition(symbol, period, set(residues))}" if residues and len(residues) < period // modulus else ""
    return what + where, fix


def _coarsest_fix(symbol: str, period: int, agree: set[int]) -> str | None:
    """One residue constraint within the residues that work, with the smallest modulus (None: none work)."""
    if not agree:
        return None
    for m in (d for d in range(1, period + 1) if period % d == 0):
        for r in range(m):
            if all(x in agree for x in range(r, period, m)):
                return f"{symbol} % {m} == {r}"
    return None
