"""The layer table: every layer kind, defined once.

A kind declares its syntax (names, positional arguments, options, flags), its
type rule (output shape, parameters, MACs, with the arithmetic shown to the
user), its PyTorch emission and its documentation. The checker, the code
generator, the summary, the docs and the editor all read this table; adding
a layer means adding one class here (plus its tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from ..diagnostics.model import Fix
from ..types.shapes import MAX_VALUE, MapType, Shape, VectorType, Window, describe, same_padding
from ..syntax.source import Span
from ..diagnostics.suggest import closest
from ..types.symbolic import Axis, count, factor_text, residue_condition
from ..diagnostics.wording import show
from .values import DECIMAL, IDENTIFIER, INTEGER, SIZE, Expect, Site, Value, read_value

COUNT = Expect("a whole number", "16")
WINDOW = Expect("a whole number or HxW", "3 or 3x5", size=True)
DECIMAL_VALUE = Expect("a decimal number", "0.5", decimal=True)


@dataclass(frozen=True)
class Positional:
    """A positional argument: `16` in `conv 16 k3`."""

    name: str
    expect: Expect
    role: str  # in messages: "the number of filters"
    minimum: float = 1


@dataclass(frozen=True)
class Option:
    """A valued option: short `k3`/`k3x5`, long `kernel=3`."""

    name: str
    short: str
    expect: Expect
    role: str
    minimum: int = 1
    doc: str = ""

    @property
    def sample(self) -> str:
        """A typical written form, for messages: `k3`, `s2`, `p1`."""
        return self.short + _SAMPLE_VALUES.get(self.name, self.expect.example.split()[0])


_SAMPLE_VALUES = {"kernel": "3", "stride": "2", "padding": "1", "dilation": "2", "groups": "4"}


@dataclass
class Args:
    """What a statement's words said, resolved (before range checks)."""

    values: dict[str, Value] = field(default_factory=dict)
    flags: dict[str, Span] = field(default_factory=dict)
    activation: tuple[ActivationKind, Args, Span] | None = None


@dataclass(frozen=True)
class Inference:
    """A layer's type rule applied to one input."""

    output: Shape
    params: int = 0
    macs: int = 0
    arithmetic: tuple[str, ...] = ()  # the formulas with the user's numbers


class LayerKind:
    """Base of every layer kind. Subclasses fill in the class attributes."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str]
    syntax: ClassVar[str]
    example: ClassVar[str]
    torch: ClassVar[str]
    positionals: ClassVar[tuple[Positional, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    flags: ClassVar[dict[str, str]] = {}  # flag -> what it does
    takes_activation: ClassVar[bool] = False
    is_activation: ClassVar[bool] = False
    # The general rules, in the lesson's letters (`cnnc summary --explain`, docs).
    formulas: ClassVar[tuple[str, ...]] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    # -- syntax ---------------------------------------------------------
    def read(self, command, site: Site) -> Args | None:
        """Resolve the statement's words against this kind's syntax."""
        return read_args(self, command.args, command.span, site)

    def option_words(self) -> list[str]:
        """The words this kind accepts after its positionals (for suggestions)."""
        words = [o.sample for o in self.options]
        words += [f"{o.name}=" for o in self.options]
        words += list(self.flags)
        if self.takes_activation:
            words += list(ACTIVATIONS)
        return words

    # -- types ----------------------------------------------------------
    def configure(self, args: Args, site: Site, span: Span) -> dict | None:
        """Range-check the arguments; return the layer's configuration."""
        config = {name: value.value for name, value in args.values.items()}
        config.update({flag: True for flag in args.flags})
        return config

    def infer(self, config: dict, shape: Shape, site: Site, span: Span) -> Inference | None:
        raise NotImplementedError

    # -- PyTorch --------------------------------------------------------
    def emit(self, config: dict, shape: Shape, inplace: bool = False) -> str:
        raise NotImplementedError

    def can_run_inplace(self, config: dict) -> bool:
        return False


# ---------------------------------------------------------------------------
# Reading arguments


def _called(kind: LayerKind, site: Site) -> str:
    """The layer's name as the user wrote it (`fc` for linear), for messages."""
    written = getattr(site, "layer_name", None)
    return written if written in kind.names else kind.name


def _minimum_ok(value, minimum) -> bool:
    if isinstance(value, tuple):
        return all(v >= minimum for v in value)
    return value >= minimum


def read_args(kind: LayerKind, words, statement: Span, site: Site) -> Args | None:
    """The generic reader: positionals first, then options, flags, activation."""
    from ..syntax.nodes import KeywordArg, Word

    args = Args()
    ok = True
    positionals = list(kind.positionals)
    shorts = {o.short: o for o in kind.options}
    longs = {o.name: o for o in kind.options}
    index = 0
    words = list(words)
    while index < len(words):
        word = words[index]
        index += 1
        if isinstance(word, KeywordArg):
            option = longs.get(word.key.text)
            if option is None:
                ok = False
                valid = list(longs)
                site.report(
                    "E0011",
                    word.key.span,
                    f"{_called(kind, site)} has no option '{word.key.text}'",
                    label="unknown option",
                    help=_suggestion(
                        word.key.text,
                        valid,
                        f"{_called(kind, site)} takes " + _listing([f"{v}=" for v in valid]) if valid else f"{_called(kind, site)} takes no options",
                    ),
                    notes=[f"{_called(kind, site)} takes " + _listing([f"{v}=" for v in valid])] if closest(word.key.text, valid) else [],
                )
                continue
            ok &= _store(args, option.name, option.role, word.value.text, word.span, word.value.span, option.expect, site)
            continue
        if (
            index < len(words)
            and not word.stray
            and isinstance(words[index], Word)
            and words[index].span.start == word.span.end
            and words[index].text[:1] in "+-"
        ):
            # `p-1` lexes as `p` and `-1`: read it as the one option it was meant to be.
            word = Word(word.text + words[index].text, word.span.cover(words[index].span))
            index += 1
        text = word.text
        if word.stray:
            ok = False
            site.report("E0001", word.span, f"unexpected character '{show(text)}'", label="not part of the language")
            continue
        slot = next((p for p in positionals if p.name not in args.values), None)
        if slot is not None and _looks_like_value(text, site):
            ok &= _store(args, slot.name, slot.role, text, word.span, word.span, slot.expect, site)
            continue
        if text in kind.flags:
            if text in args.flags:
                ok = False
                site.report("E0014", word.span, f"'{text}' is given twice", label="repeated here")
            args.flags[text] = word.span
            continue
        if kind.takes_activation and text in ACTIVATIONS:
            if args.activation is not None:
                ok = False
                site.report(
                    "E0015",
                    word.span,
                    f"{_called(kind, site)} takes one activation, but '{args.activation[0].name}' is already given",
                    label="second activation",
                    help=f"put '{text}' on its own line after this one",
                )
                continue
            act = ACTIVATIONS[text]
            act_args = Args()
            act_span = word.span
            if act.positionals and index < len(words):
                nxt = words[index]
                if not isinstance(nxt, KeywordArg) and _looks_like_value(nxt.text, site):
                    index += 1
                    slot_act = act.positionals[0]
                    ok &= _store(act_args, slot_act.name, slot_act.role, nxt.text, nxt.span, nxt.span, slot_act.expect, site)
                    act_span = word.span.cover(nxt.span)
            args.activation = (act, act_args, act_span)
            continue
        letter, rest = text[:1], text[1:]
        option = shorts.get(letter)
        if option is not None and rest and (_literal_like(rest) or rest in site.scope):
            ok &= _store(args, option.name, option.role, rest, word.span, word.span, option.expect, site)
            continue
        ok = False
        _unknown_word(kind, word, slot, args, site)
    for slot in positionals:
        if slot.name not in args.values and ok:
            ok = False
            site.report(
                "E0012",
                statement,
                f"{_called(kind, site)} needs {slot.role}",
                label=f"{slot.role} missing",
                help=f"write it like: {kind.example}",
            )
    return args if ok else None


def _looks_like_value(text: str, site: Site) -> bool:
    return _literal_like(text) or text in site.scope


def _literal_like(text: str) -> bool:
    """Starts like a number: `3`, `-1`, `0.5`, `3x5`, or a malformed `130x`."""
    stripped = text.lstrip("+-")
    return bool(stripped) and (stripped[0].isdigit() or stripped[0] == ".")


def _store(args: Args, name: str, role: str, text: str, whole: Span, value_span: Span, expect: Expect, site: Site) -> bool:
    if name in args.values:
        site.report(
            "E0014",
            whole,
            f"{role} is given twice",
            label="repeated here",
            related=[(args.values[name].span, "first given here")],
        )
        return False
    value = read_value(text, value_span, expect, site, role)
    if value is None:
        return False
    args.values[name] = Value(value.value, value.text, whole, value.origin)
    return True


def _listing(words: list[str]) -> str:
    words = [f"'{w}'" for w in words]
    if not words:
        return "no options"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _suggestion(word: str, candidates: list[str], fallback: str) -> str:
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else fallback


def _unknown_word(kind: LayerKind, word, slot: Positional | None, args: Args, site: Site) -> None:
    text = word.text
    if slot is not None and IDENTIFIER.match(text) and (site.inside_block or closest(text, kind.option_words()) is None):
        # A name where a number is due: inside a block a parameter that is not
        # there, outside a malformed number (unless it is close to an option).
        read_value(text, word.span, slot.expect, site, slot.role)
        return
    name = _called(kind, site)
    unset = [o for o in kind.options if o.name not in args.values]
    if not kind.positionals and not kind.options and not kind.flags and not kind.takes_activation:
        site.report(
            "E0011",
            word.span,
            f"{name} takes no arguments, found '{show(text)}'",
            label="unexpected argument",
            help=f"write just: {name}" + (f"; put '{text}' on its own line" if text in BY_NAME else ""),
        )
        return
    if _literal_like(text):
        if INTEGER.match(text) or DECIMAL.match(text) or SIZE.match(text):
            guess = f"{unset[0].short}{text}" if unset and (INTEGER.match(text) or text.count("x") == 1) else None
            site.report(
                "E0011",
                word.span,
                f"unexpected value '{show(text)}': {name} takes " + (
                    f"{len(kind.positionals)} number{'s' if len(kind.positionals) != 1 else ''}"
                    + (" before its options" if kind.options or kind.flags or kind.takes_activation else "")
                    if kind.positionals
                    else "no numbers"
                ),
                label="extra value",
                help=f"did you mean '{guess}'?" if guess else f"write it like: {kind.example}",
                notes=[f"options are a letter glued to a value, like {_option_examples(kind)}"] if guess else [],
            )
        elif expected_words(kind) == "nothing more":
            site.report(
                "E0011",
                word.span,
                f"{name} takes {len(kind.positionals)} number{'s' if len(kind.positionals) != 1 else ''}, found '{show(text)}'",
                label="unexpected argument",
                help=f"write it like: {kind.example}",
            )
        else:
            site.report(
                "E0011",
                word.span,
                f"expected {expected_words(kind)}, found '{show(text)}'",
                label="not an option",
                help=f"{name} takes " + _listing(_takes(kind))
                + ("; a window size is two numbers joined by 'x', like k3x5" if "x" in text and kind.options else ""),
            )
        return
    letter, rest = text[:1], text[1:]
    shorts = {o.short: o for o in kind.options}
    looks_like_option = rest[:1] in shorts and _literal_like(rest[1:])  # `kk3`: a typo, not `k` + a name
    if letter in shorts and rest and IDENTIFIER.match(rest) and not looks_like_option:
        option = shorts[letter]
        if site.inside_block:
            close = closest(rest, site.scope)
            site.report(
                "E0042",
                word.span,
                f"'{rest}' is not a parameter of this block",
                label="no value for this name",
                notes=[f"the block's parameters: {', '.join(sorted(site.scope)) or 'none'}"],
                help=f"did you mean '{close}'? pass a parameter as {option.name}={close}"
                if close
                else f"an option takes a number ({option.sample}) or a parameter ({option.name}=NAME)",
            )
        else:
            site.report(
                "E0013",
                word.span,
                f"{option.role} must be {option.expect.noun}, found '{rest}'",
                label="not a number",
                help=f"write it like {option.short}{option.expect.example.split()[0]}",
            )
        return
    if letter == "k" and rest and _literal_like(rest) and any(p.name == "window" for p in kind.positionals):
        site.report(
            "E0011",
            word.span,
            f"{name} has no kernel option: its window is the number after '{name}'",
            label="not a pooling option",
            help=f"write the window first, like: {name} {rest}",
            notes=[f"{name} takes " + _listing(_takes(kind))],
        )
        return
    candidates = kind.option_words()
    guess = None
    if rest and _literal_like(rest) and kind.options:
        # `x3` for `k3`: keep the value, try each option letter, prefer unset ones.
        guess = f"{(unset or list(kind.options))[0].short}{rest}"
    guess = guess or closest(text, candidates)
    what = "option" if not (kind.takes_activation and text.isalpha()) else "option or activation"
    expected = _takes(kind)
    site.report(
        "E0011",
        word.span,
        f"{name} has no {what} '{show(text)}'",
        label="unknown " + what,
        help=f"did you mean '{guess}'?" if guess else (
            f"{name} takes " + _listing(expected) if expected else f"{name} takes no options"
        ),
        notes=[f"{name} takes " + _listing(expected)] if guess and expected else [],
    )


def _option_examples(kind: LayerKind) -> str:
    """`k3 or s2`: the first two options as written, for messages."""
    samples = [o.sample for o in kind.options[:2]]
    return " or ".join(samples)


def expected_words(kind: LayerKind) -> str:
    """What may come after a layer's numbers, in words."""
    if kind.options:
        return f"a layer option like {_option_examples(kind)}"
    parts = [f"'{flag}'" for flag in kind.flags]
    if kind.takes_activation:
        parts.append("an activation like relu")
    return " or ".join(parts) if parts else "nothing more"


def _takes(kind: LayerKind) -> list[str]:
    """The options and flags of a layer, as written (`k3`, `s2`, `same`)."""
    return [o.sample for o in kind.options] + list(kind.flags)


def _range_check(kind: LayerKind, args: Args, site: Site) -> bool:
    ok = True
    specs = {p.name: (p.role, p.minimum) for p in kind.positionals}
    specs.update({o.name: (o.role, o.minimum) for o in kind.options})
    for name, value in args.values.items():
        role, minimum = specs[name]
        if not _minimum_ok(value.value, minimum):
            ok = False
            site.report(
                "E0035",
                value.span,
                f"{role} must be at least {minimum}, but is {value.text}",
                label="out of range",
                notes=[value.origin] if value.origin else [],
            )
    return ok


def _pair(value) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


def _torch_pair(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _decimal(value: float) -> str:
    return repr(float(value))


def _needs_map(kind: LayerKind, shape: Shape, site: Site, span: Span) -> bool:
    if isinstance(shape, MapType):
        return True
    site.report(
        "E0031",
        span,
        f"{_called(kind, site)} needs a feature map (HxWxC), but its input is the {describe(shape)}",
        label=f"input is the {shape} vector",
        notes=["a vector comes from flatten or linear; after it, only vector layers apply"],
        help=f"move this {_called(kind, site)} before the flatten",
    )
    return False


def _needs_vector(kind: LayerKind, shape: Shape, site: Site, span: Span) -> bool:
    if isinstance(shape, VectorType):
        return True
    site.report(
        "E0032",
        span,
        f"{_called(kind, site)} needs a vector, but its input is the {describe(shape)}",
        label=f"input is {shape}",
        notes=[
            f"flatten would turn the {shape} map into {shape.area_text} = {shape.elements:,} features"
            if not shape.symbolic
            else f"its size depends on the input size ({shape}), so flatten alone cannot give a fixed vector"
        ],
        help="insert `flatten` on the line before this one" if not shape.symbolic else "insert `avgpool to 1` and `flatten` before this layer",
    )
    return False


def _check_size(shape: Shape, site: Site, span: Span) -> bool:
    if shape.symbolic:  # no upper bound on the input: the size is checked when built at a size
        return True
    if shape.elements > MAX_VALUE:
        site.report(
            "E0061",
            span,
            f"the output {describe(shape)} has {shape.elements:,} elements per sample, too many to build",
            label="too large",
            help="reduce the channels or the input size",
        )
        return False
    return True


AXES = ("height", "width")
AXIS_UNITS = ("row", "column")


def _windows_fit(kind_name: str, windows: list[Window], shape: MapType, site: Site, span: Span, padding_help, fixes=()) -> bool:
    ok = True
    # One symbol can size both axes (`input HxHx3`): report it once, for the
    # axis that needs the larger size, so that its help fixes the layer.
    neediest: dict[str, tuple[int | None, str, Window]] = {}  # None: never fits
    for axis, window in zip(AXES, windows):
        if window.symbolic:
            out = window.output
            needed = out.smallest_valid(site.size_bound(out.symbol))
            known = neediest.get(out.symbol)
            if known is None or (known[0] is not None and (needed is None or needed > known[0])):
                neediest[out.symbol] = (needed, axis, window)
    for needed, axis, window in neediest.values():
        ok &= _symbolic_fits(kind_name, axis, window, needed, site, span)
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


def _symbolic_fits(kind_name: str, axis: str, window: Window, needed: int | None, site: Site, span: Span) -> bool:
    """Positivity for every admissible size: by monotonicity, at the bound.

    `needed` is the smallest size from the bound on that fits (None: none
    up to 2**31 - 1). Below it, a written bound is an error (E0071)
    naming the largest failing size; a computed bound is raised silently
    (that is how the checker finds it). Either way checking goes on from the
    raised bound.
    """
    out = window.output
    symbol = out.symbol
    if needed == site.size_bound(symbol):
        return True
    if needed is None:
        site.report(
            "E0071",
            span,
            f"the {kind_name} window never fits: its output {axis} {out} stays below 1 for every {symbol} up to 2**31",
            label=f"output {axis} {out}",
            notes=[f"{axis}: {window.arithmetic()}"],
            help="use a smaller kernel or dilation",
        )
        return False
    stated = site.stated_bound(symbol)
    written = site.raise_bound(symbol, needed)
    if written is not None:
        last = needed - 1
        site.report(
            "E0071",
            span,
            f"for {symbol} = {last}, the output {axis} after line {site.line_of(span)} is {out.at(last)}",
            label=f"this {kind_name}'s output {axis} {out} is {out.at(last)} for {symbol} = {last}",
            notes=[
                f"{axis}: {window.arithmetic()}",
                f"it is below 1 for every {symbol} from {stated} to {last}, and at least 1 from {symbol} = {needed} on",
            ],
            related=[(written, f"{symbol} >= {stated} admits {symbol} = {last}")],
            help=f"require {symbol} >= {needed} on the input line (where {symbol} >= {needed}), or pad this layer",
        )
    return True


def symbolic_unused(window: Window, start: int) -> tuple[int, set[int], int] | None:
    """For a symbolic input: (period, residues of the symbol, most rows) where real rows are dropped.

    The rows dropped depend on `size mod stride`, so on the symbol modulo
    `size.period * stride`; one period from `start` shows every case. None
    when no size drops any (or the period is too long to list).
    """
    size = window.size
    if window.reach < window.stride or window.ceil:
        return None
    period = size.period * window.stride
    if period > 4096:  # conditions over thousands of residues help nobody
        return None
    residues, most = set(), 0
    for value in range(start, start + period):
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
        found = symbolic_unused(window, site.size_bound(window.size.symbol))
        if found is None:
            continue
        period, residues, most = found
        symbol = window.size.symbol
        when = residue_condition(symbol, period, residues)
        reads = residue_condition(symbol, period, set(range(period)) - residues) if len(residues) < period else None
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


def _warn_unused(kind_name: str, windows: list[Window], site: Site, span: Span, can_pad: bool) -> tuple[str, ...]:
    """W0001 when the last windows stop short of real input rows or columns.

    Returns the matching `unused:` lines for the layer's arithmetic.
    """
    symbolic = _symbolic_unused_report(kind_name, windows, site, span) if any(w.symbolic for w in windows) else ()
    dropped = unused_input(windows)
    if not dropped:
        return _unused_lines(windows) + symbolic
    return _concrete_unused_report(kind_name, windows, dropped, site, span, can_pad) + symbolic


def _concrete_unused_report(kind_name, windows, dropped, site, span, can_pad) -> tuple[str, ...]:
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
    return _unused_lines(windows)


# ---------------------------------------------------------------------------
# The kinds


class Conv(LayerKind):
    name = "conv"
    summary = "2-D convolution with K filters"
    syntax = "conv K kF [sS] [pP | same] [dD] [gG] [nobias] [ACT]"
    example = "conv 16 k3"
    torch = "nn.Conv2d"
    formulas = (
        "each axis: out = floor((in + 2*P - D*(F - 1) - 1)/S) + 1, the lesson's (W_in - F + 2P)/S + 1 when D = 1",
        "params = K*F_h*F_w*D_in/G + K (K filters of F_h*F_w*D_in/G weights, plus one bias each)",
        "MACs = H_out*W_out*K*F_h*F_w*D_in/G (one multiply-accumulate per weight per output position)",
    )
    positionals = (Positional("filters", COUNT, "the number of filters"),)
    options = (
        Option("kernel", "k", WINDOW, "the kernel size", doc="kernel size, F or FhxFw"),
        Option("stride", "s", WINDOW, "the stride", doc="step between windows (default 1)"),
        Option("padding", "p", WINDOW, "the padding", minimum=0, doc="zeros added on each side (default 0)"),
        Option("dilation", "d", WINDOW, "the dilation", doc="spacing between kernel taps (default 1)"),
        Option("groups", "g", COUNT, "the group count", doc="split channels into G groups (default 1)"),
    )
    flags = {"same": "pad so the output keeps the input's height and width", "nobias": "no bias term"}
    takes_activation = True

    def configure(self, args, site, span):
        ok = _range_check(self, args, site)
        values = args.values
        if "kernel" not in values:
            site.report(
                "E0012",
                span,
                "conv needs a kernel size",
                label="kernel size missing",
                help=f"add one, like k3: {_called(self, site)} {values['filters'].text if 'filters' in values else 16} k3",
            )
            return None
        if "same" in args.flags and "padding" in values:
            site.report(
                "E0015",
                values["padding"].span,
                "'same' computes the padding itself; an explicit padding contradicts it",
                label="remove this padding",
                related=[(args.flags["same"], "'same' given here")],
                help="keep either 'same' or the explicit padding",
            )
            ok = False
        stride = _pair(values["stride"].value) if "stride" in values else (1, 1)
        if "same" in args.flags and stride != (1, 1):
            site.report(
                "E0034",
                args.flags["same"],
                f"'same' padding needs stride 1, but the stride is {values['stride'].text}",
                label="not possible with this stride",
                notes=["PyTorch refuses padding='same' for strided convolutions"],
                help=self._same_stride_help(values),
            )
            ok = False
        if not ok:
            return None
        return {
            "filters": values["filters"].value,
            "kernel": _pair(values["kernel"].value),
            "stride": stride,
            "padding": "same" if "same" in args.flags else _pair(values["padding"].value) if "padding" in values else (0, 0),
            "dilation": _pair(values["dilation"].value) if "dilation" in values else (1, 1),
            "groups": values["groups"].value if "groups" in values else 1,
            "bias": "nobias" not in args.flags,
        }

    @staticmethod
    def _same_stride_help(values) -> str:
        kh, kw = _pair(values["kernel"].value)
        if kh == kw and kh % 2 == 1:
            return f"write p{(kh - 1) // 2} instead of 'same' (the size then shrinks by the stride)"
        return "give the padding explicitly instead of 'same'"

    def windows(self, config, shape: MapType) -> list[Window]:
        """Both axes' windows (for an explicit padding; 'same' needs none)."""
        return [
            Window(size, config["kernel"][a], config["stride"][a], config["padding"][a], config["dilation"][a])
            for a, size in enumerate((shape.height, shape.width))
        ]

    def infer(self, config, shape, site, span):
        if not _needs_map(self, shape, site, span):
            return None
        groups, filters = config["groups"], config["filters"]
        if shape.channels % groups or filters % groups:
            site.report(
                "E0033",
                span,
                f"{groups} groups do not divide "
                + (f"the {shape.channels} input channels" if shape.channels % groups else f"the {filters} filters"),
                label=f"groups={groups}",
                notes=[f"input channels {shape.channels}, filters {filters}: both must be multiples of the group count"],
                help=_groups_help(shape.channels, filters, groups),
            )
            return None
        same = config["padding"] == "same"
        if same:
            out = MapType(shape.height, shape.width, filters)
            size_lines = tuple(
                _same_line(axis, size, config["kernel"][a], config["dilation"][a])
                for a, (axis, size) in enumerate(zip(AXES, (shape.height, shape.width)))
            )
        else:
            windows = self.windows(config, shape)

            def padding_help(axis, window):
                keep = window.dilation * (window.kernel - 1)
                need = -(-(window.reach - window.size) // 2)
                parts = []
                if config["stride"] == (1, 1) and keep % 2 == 0:
                    parts.append(f"p{keep // 2} keeps {shape.height}x{shape.width}")
                if need > window.padding:
                    parts.append(f"at least p{need} makes it fit")
                return "add padding (" + "; ".join(parts) + ") or use a smaller kernel" if parts else "use a smaller kernel"

            fixes = lambda: _padding_fixes(config, windows, shape)  # noqa: E731 - only computed on an error
            if not _windows_fit("convolution", windows, shape, site, span, padding_help, fixes):
                return None
            unused = _warn_unused("conv", windows, site, span, can_pad=True)
            out = MapType(windows[0].output, windows[1].output, filters)
            size_lines = tuple(f"{axis}: {w.arithmetic()}" for axis, w in zip(AXES, windows)) + unused
        if not _check_size(out, site, span):
            return None
        kh, kw = config["kernel"]
        per_filter = kh * kw * shape.channels // groups
        params = filters * per_filter + (filters if config["bias"] else 0)
        macs = count(filters * per_filter, out.height, out.width)
        arithmetic = size_lines + (
            f"params: {filters}*{kh}*{kw}*{shape.channels}" + (f"/{groups}" if groups > 1 else "")
            + (f" + {filters}" if config["bias"] else "") + f" = {params:,}",
            f"MACs: {factor_text(out.height)}*{factor_text(out.width)}*{filters}*{kh}*{kw}*{shape.channels}"
            + (f"/{groups}" if groups > 1 else "") + f" = {macs:,}",
        )
        return Inference(out, params, macs, arithmetic)

    def emit(self, config, shape, inplace=False):
        parts = [str(shape.channels), str(config["filters"]), _torch_pair(config["kernel"])]
        if config["stride"] != (1, 1):
            parts.append(f"stride={_torch_pair(config['stride'])}")
        if config["padding"] == "same":
            parts.append('padding="same"')
        elif config["padding"] != (0, 0):
            parts.append(f"padding={_torch_pair(config['padding'])}")
        if config["dilation"] != (1, 1):
            parts.append(f"dilation={_torch_pair(config['dilation'])}")
        if config["groups"] != 1:
            parts.append(f"groups={config['groups']}")
        if not config["bias"]:
            parts.append("bias=False")
        return f"nn.Conv2d({', '.join(parts)})"


def _padding_fixes(config, windows: list[Window], shape: MapType) -> tuple[Fix, ...]:
    """E0030's quick fix: the padding that keeps the size (stride 1), else the least that fits."""
    keeps = [w.dilation * (w.kernel - 1) for w in windows]
    if config["stride"] == (1, 1) and all(keep % 2 == 0 for keep in keeps):
        pads = [keep // 2 for keep in keeps]
        what = f"keeps {shape.height}x{shape.width}"
    else:
        pads = [max(w.padding, -(-(w.reach - w.size) // 2)) for w in windows]
        what = "makes it fit"
    value = str(pads[0]) if pads[0] == pads[1] else f"{pads[0]}x{pads[1]}"
    return (Fix(f"use p{value} ({what})", "padding", value),)


def _same_line(axis: str, size: int, kernel: int, dilation: int) -> str:
    """`height: 'same' pads 1 above and 1 below: (32 + 1 + 1 - 3)/1 + 1 = 32`."""
    low, high = same_padding(kernel, dilation)
    sides = ("above", "below") if axis == "height" else ("left", "right")
    reach = dilation * (kernel - 1) + 1
    return (f"{axis}: 'same' pads {low} {sides[0]} and {high} {sides[1]}: "
            f"({size} + {low} + {high} - {reach})/1 + 1 = {size}")


def _groups_help(channels: int, filters: int, groups: int) -> str:
    common = math.gcd(channels, filters)
    # Divisors in pairs up to the square root: counts can be near 2**31.
    small = [d for d in range(1, math.isqrt(common) + 1) if common % d == 0]
    divisors = small + [common // d for d in small]
    nearest = min(divisors, key=lambda d: (abs(d - groups), -d))
    return f"use g{nearest}, the nearest group count that divides both {channels} and {filters}"


class _Pool(LayerKind):
    """Max and average pooling, fixed window (`pool 2`) or adaptive (`pool to 7x7`)."""

    mode: ClassVar[str]
    formulas = (
        "each axis: out = floor((in + 2*P - F)/S) + 1 (ceil: rounded up); the channels stay; no parameters",
    )
    positionals = (Positional("window", WINDOW, "the pooling window"),)
    options = (
        Option("stride", "s", WINDOW, "the stride", doc="step between windows (default: the window)"),
        Option("padding", "p", WINDOW, "the padding", minimum=0, doc="padding on each side (default 0)"),
    )
    flags = {"ceil": "round the output size up (PyTorch's ceil_mode)"}

    def read(self, command, site):
        words = command.args
        first = words[0] if words else None
        if first is not None and getattr(first, "text", None) == "to":
            return self._read_adaptive(command, site)
        return read_args(self, words, command.span, site)

    def _read_adaptive(self, command, site):
        words = command.args[1:]
        if not words:
            site.report(
                "E0012",
                command.span,
                f"'{_called(self, site)} to' needs an output size",
                label="size missing",
                help=f"write it like: {_called(self, site)} to 7x7",
            )
            return None
        target, *extra = words
        if extra or not hasattr(target, "text"):
            bad = extra[0] if extra else target
            site.report(
                "E0011",
                bad.span,
                f"'{_called(self, site)} to SIZE' takes no options",
                label="unexpected",
                help=f"write it like: {_called(self, site)} to 7x7",
            )
            return None
        value = read_value(target.text, target.span, WINDOW, site, "the output size")
        if value is None:
            return None
        args = Args()
        args.values["to"] = value
        return args

    def configure(self, args, site, span):
        values = args.values
        if "to" in values:
            size = values["to"]
            if not _minimum_ok(size.value, 1):
                site.report("E0035", size.span, f"the output size must be at least 1, but is {size.text}", label="out of range")
                return None
            return {"adaptive": _pair(size.value)}
        if not _range_check(self, args, site):
            return None
        window = _pair(values["window"].value)
        stride = _pair(values["stride"].value) if "stride" in values else window
        padding = _pair(values["padding"].value) if "padding" in values else (0, 0)
        for axis in range(2):
            if padding[axis] * 2 > window[axis]:
                site.report(
                    "E0035",
                    values["padding"].span,
                    f"the padding {padding[axis]} is more than half the pooling window {window[axis]}",
                    label="too much padding",
                    notes=["PyTorch requires pooling padding to be at most half the window"],
                    help=f"use at most p{window[axis] // 2}",
                )
                return None
        return {"window": window, "stride": stride, "padding": padding, "ceil": "ceil" in args.flags}

    def infer(self, config, shape, site, span):
        if not _needs_map(self, shape, site, span):
            return None
        if "adaptive" in config:
            h, w = config["adaptive"]
            out = MapType(h, w, shape.channels)
            return Inference(out, 0, 0, (f"adaptive: any input to {h}x{w}",)) if _check_size(out, site, span) else None
        windows = [
            Window(size, config["window"][a], config["stride"][a], config["padding"][a], 1, config["ceil"])
            for a, size in enumerate((shape.height, shape.width))
        ]

        def padding_help(axis, window):
            return f"pool less: the {axis} is only {window.size} here"

        if not _windows_fit("pooling", windows, shape, site, span, padding_help):
            return None
        unused = _warn_unused(_called(self, site), windows, site, span, can_pad=False)
        out = MapType(windows[0].output, windows[1].output, shape.channels)
        return Inference(out, 0, 0, tuple(f"{axis}: {w.arithmetic()}" for axis, w in zip(AXES, windows)) + unused)

    def emit(self, config, shape, inplace=False):
        if "adaptive" in config:
            return f"nn.Adaptive{self.mode}Pool2d({_torch_pair(config['adaptive'])})"
        parts = [_torch_pair(config["window"]), _torch_pair(config["stride"])]
        if config["padding"] != (0, 0):
            parts.append(f"padding={_torch_pair(config['padding'])}")
        if config["ceil"]:
            parts.append("ceil_mode=True")
        return f"nn.{self.mode}Pool2d({', '.join(parts)})"


class MaxPool(_Pool):
    name = "pool"
    aliases = ("maxpool",)
    mode = "Max"
    summary = "max pooling; the stride defaults to the window; `pool to HxW` is adaptive"
    syntax = "pool F [sS] [pP] [ceil] | pool to HxW"
    example = "pool 2"
    torch = "nn.MaxPool2d"


class AvgPool(_Pool):
    name = "avgpool"
    mode = "Avg"
    summary = "average pooling (padding counts, as in PyTorch); `avgpool to HxW` is adaptive"
    syntax = "avgpool F [sS] [pP] [ceil] | avgpool to HxW"
    example = "avgpool 2"
    torch = "nn.AvgPool2d"


class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn",)
    summary = "batch normalisation over channels (map) or features (vector)"
    syntax = "batchnorm"
    example = "batchnorm"
    torch = "nn.BatchNorm2d"
    formulas = ("params = 2*C (a scale and a shift per channel; the running statistics are buffers)",)

    def infer(self, config, shape, site, span):
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return Inference(shape, 2 * width, 0, (f"params: 2*{width} = {2 * width:,} (weight and bias)",))

    def emit(self, config, shape, inplace=False):
        if isinstance(shape, MapType):
            return f"nn.BatchNorm2d({shape.channels})"
        return f"nn.BatchNorm1d({shape.features})"


class Dropout(LayerKind):
    name = "dropout"
    summary = "zero each element with probability P while training"
    syntax = "dropout P"
    example = "dropout 0.5"
    torch = "nn.Dropout"
    positionals = (Positional("p", DECIMAL_VALUE, "the dropout probability", minimum=0),)

    def configure(self, args, site, span):
        value = args.values["p"]
        if not (0 <= value.value < 1):
            site.report(
                "E0035",
                value.span,
                f"the dropout probability must satisfy 0 <= P < 1, but is {value.text}",
                label="out of range",
                help="a probability like 0.5 keeps half of the activations on average",
            )
            return None
        if value.value == 0:
            site.report("W0002", span, "dropout 0 does nothing", label="no-op", help="remove it, or use a probability like 0.5")
        return {"p": float(value.value)}

    def infer(self, config, shape, site, span):
        return Inference(shape)

    def emit(self, config, shape, inplace=False):
        return f"nn.Dropout({_decimal(config['p'])})"


class Flatten(LayerKind):
    name = "flatten"
    summary = "turn an HxWxC feature map into a vector of H*W*C features"
    syntax = "flatten"
    example = "flatten"
    torch = "nn.Flatten"
    formulas = ("features = H*W*C",)

    def infer(self, config, shape, site, span):
        if isinstance(shape, VectorType):
            site.report("W0002", span, f"flatten of the {describe(shape)} does nothing", label="already flat", help="remove this flatten")
            return Inference(shape)
        if shape.symbolic:
            symbols = sorted({s.symbol for s in (shape.height, shape.width) if isinstance(s, Axis)})
            site.report(
                "E0072",
                span,
                f"flatten of the {describe(shape)} gives {shape.area_text} features, which depends on the input size",
                label="size not fixed",
                notes=[f"a linear layer after it would need a different weight matrix for every {' and '.join(symbols)}"],
                help="add avgpool to 1x1 before flatten, or fix the input size",
            )
            return None
        out = VectorType(shape.elements)
        return Inference(out, 0, 0, (f"features: {shape.area_text} = {out.features:,}",))

    def emit(self, config, shape, inplace=False):
        return "nn.Flatten()"


class Linear(LayerKind):
    name = "linear"
    aliases = ("fc", "dense")
    summary = "fully connected layer with N outputs; needs a vector"
    syntax = "linear N [nobias] [ACT]"
    example = "linear 10"
    torch = "nn.Linear"
    formulas = ("params = N_in*N_out + N_out (a weight per input and output, plus one bias per output)", "MACs = N_in*N_out")
    positionals = (Positional("features", COUNT, "the number of output features"),)
    flags = {"nobias": "no bias term"}
    takes_activation = True

    def configure(self, args, site, span):
        if not _range_check(self, args, site):
            return None
        return {"features": args.values["features"].value, "bias": "nobias" not in args.flags}

    def infer(self, config, shape, site, span):
        if not _needs_vector(self, shape, site, span):
            return None
        n_in, n_out = shape.features, config["features"]
        params = n_in * n_out + (n_out if config["bias"] else 0)
        macs = n_in * n_out
        return Inference(
            VectorType(n_out),
            params,
            macs,
            (
                f"params: {n_in}*{n_out}" + (f" + {n_out}" if config["bias"] else "") + f" = {params:,}",
                f"MACs: {n_in}*{n_out} = {macs:,}",
            ),
        )

    def emit(self, config, shape, inplace=False):
        bias = "" if config["bias"] else ", bias=False"
        return f"nn.Linear({shape.features}, {config['features']}{bias})"


class ActivationKind(LayerKind):
    """An element-wise activation: alone on a line or after a conv/linear."""

    is_activation = True
    inplace_capable: ClassVar[bool] = False
    vectors_only: ClassVar[bool] = False
    module: ClassVar[str]

    @property
    def example(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def torch(self) -> str:  # type: ignore[override]
        return f"nn.{self.module}"

    def configure(self, args, site, span):
        return {name: value.value for name, value in args.values.items()}

    def infer(self, config, shape, site, span):
        if self.vectors_only and not _needs_vector(self, shape, site, span):
            return None
        return Inference(shape)

    def can_run_inplace(self, config):
        return self.inplace_capable

    def emit(self, config, shape, inplace=False):
        args = self.emit_args(config)
        if inplace:
            args.append("inplace=True")
        return f"nn.{self.module}({', '.join(args)})"

    def emit_args(self, config) -> list[str]:
        return []


def _activation(name: str, module: str, summary: str, *, inplace: bool = False, vectors_only: bool = False):
    """An activation with no arguments (softmax ones take PyTorch's dim=1)."""
    fixed_args = ["dim=1"] if vectors_only else []
    return type(
        module,
        (ActivationKind,),
        {
            "name": name,
            "module": module,
            "summary": summary,
            "inplace_capable": inplace,
            "vectors_only": vectors_only,
            "emit_args": lambda self, config: list(fixed_args),
        },
    )()


class LeakyReLU(ActivationKind):
    name = "leakyrelu"
    module = "LeakyReLU"
    summary = "max(0, x) + SLOPE * min(0, x); SLOPE defaults to 0.01"
    positionals = (Positional("slope", DECIMAL_VALUE, "the negative slope", minimum=-math.inf),)

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return "leakyrelu [SLOPE]"

    def read(self, command, site):
        args = read_args(self, command.args, command.span, site) if command.args else Args()
        return args

    def configure(self, args, site, span):
        return {"slope": float(args.values["slope"].value) if "slope" in args.values else 0.01}

    def can_run_inplace(self, config):
        return config.get("slope", 0.01) > 0  # autograd rejects in-place with slope <= 0

    def emit_args(self, config):
        slope = config.get("slope", 0.01)
        return [] if slope == 0.01 else [_decimal(slope)]


ACTIVATIONS: dict[str, ActivationKind] = {
    kind.name: kind
    for kind in [
        _activation("relu", "ReLU", "max(0, x)", inplace=True),
        _activation("relu6", "ReLU6", "min(max(0, x), 6)", inplace=True),
        LeakyReLU(),
        _activation("elu", "ELU", "x if x > 0 else exp(x) - 1", inplace=True),
        _activation("gelu", "GELU", "x * Phi(x), the Gaussian error linear unit"),
        _activation("silu", "SiLU", "x * sigmoid(x), also called swish", inplace=True),
        _activation("sigmoid", "Sigmoid", "1 / (1 + exp(-x))"),
        _activation("tanh", "Tanh", "hyperbolic tangent"),
        _activation("softmax", "Softmax", "softmax over the features (vectors only)", vectors_only=True),
        _activation("logsoftmax", "LogSoftmax", "log of softmax over the features (vectors only)", vectors_only=True),
    ]
}


LAYERS: tuple[LayerKind, ...] = (
    Conv(),
    MaxPool(),
    AvgPool(),
    BatchNorm(),
    Dropout(),
    Flatten(),
    Linear(),
    *ACTIVATIONS.values(),
)

BY_NAME: dict[str, LayerKind] = {name: kind for kind in LAYERS for name in kind.names}


def lookup(name: str) -> LayerKind | None:
    return BY_NAME.get(name)
