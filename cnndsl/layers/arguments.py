"""A kind's declared arguments and the generic reader of a statement's words.

A kind declares positionals (`16` in `conv 16`), options (short `k3` and
long `kernel=3` from one `Option`), flags and whether an activation may
follow; `read_args` resolves the words against that declaration, with every
mistake reported in the user's terms. What each word is comes from the one
classifier, `words.classify`.
"""

from __future__ import annotations

from ..diagnostics.suggest import closest
from ..record import Record
from ..syntax.nodes import KeywordArg, Word
from ..syntax.source import Span
from .registry import is_layer_name
from .values import DECIMAL, IDENTIFIER, INTEGER, SIZE, Expect, Site, Value, literal_like, read_value, show
from .words import Role, classify


# Records, not dataclasses: defining a frozen dataclass costs every fresh `cnnc check` about 0.5 ms.
_set = object.__setattr__


class Positional(Record):
    """A positional argument: `16` in `conv 16 k3`."""

    __slots__ = ("name", "expect", "role", "minimum")
    name: str
    expect: Expect
    role: str  # in messages: "the number of filters"
    minimum: float

    def __init__(self, name: str, expect: Expect, role: str, minimum: float = 1) -> None:
        _set(self, "name", name)
        _set(self, "expect", expect)
        _set(self, "role", role)
        _set(self, "minimum", minimum)


class Option(Record):
    """A valued option: short `k3`/`k3x5`, long `kernel=3` (`short=""`: long form only)."""

    __slots__ = ("name", "short", "expect", "role", "minimum", "doc", "sample_value")
    name: str
    short: str
    expect: Expect
    role: str
    minimum: float
    doc: str
    # The typical value: messages (`k3 or s2`), the docs and completion all write it.
    sample_value: str

    def __init__(self, name: str, short: str, expect: Expect, role: str, minimum: float = 1, doc: str = "",
                 sample_value: str = "") -> None:
        _set(self, "name", name)
        _set(self, "short", short)
        _set(self, "expect", expect)
        _set(self, "role", role)
        _set(self, "minimum", minimum)
        _set(self, "doc", doc)
        _set(self, "sample_value", sample_value)

    @property
    def value(self) -> str:
        """The typical value as written: `3`, `2`, `1`."""
        return self.sample_value or self.expect.example.split()[0]

    @property
    def sample(self) -> str:
        """A typical written form, for messages: `k3`, `s2`, `p1`."""
        return f"{self.short}{self.value}" if self.short else self.long_sample

    @property
    def long_sample(self) -> str:
        """The same value spelled out: `kernel=3`."""
        return f"{self.name}={self.value}"


class Args:
    """What a statement's words said, resolved (before range checks); filled in by the reader."""

    __slots__ = ("values", "flags", "activation")

    def __init__(self, values: dict[str, Value] | None = None, flags: dict[str, Span] | None = None,
                 activation: tuple | None = None) -> None:
        self.values: dict[str, Value] = {} if values is None else values
        self.flags: dict[str, Span] = {} if flags is None else flags
        self.activation = activation  # (the activation's kind, its Args, its span)

    def __eq__(self, other):
        if other.__class__ is not Args:
            return NotImplemented
        return (self.values, self.flags, self.activation) == (other.values, other.flags, other.activation)

    __hash__ = None  # mutable, as the dataclass it replaces

    def __repr__(self) -> str:
        return f"Args(values={self.values!r}, flags={self.flags!r}, activation={self.activation!r})"


def called(kind, site: Site) -> str:
    """The layer's name as the user wrote it (`fc` for linear), for messages."""
    written = site.layer_name
    return written if written in kind.names else kind.name


def minimum_ok(value, minimum) -> bool:
    if isinstance(value, tuple):
        return all(v >= minimum for v in value)
    return value >= minimum


def read_args(kind, words, statement: Span, site: Site) -> Args | None:
    """The generic reader: positionals first, then options, flags, activation."""
    args = Args()
    ok = True
    index = 0
    words = list(words)
    while index < len(words):
        word = words[index]
        index += 1
        if isinstance(word, KeywordArg):
            role = classify(kind, f"{word.key.text}={word.value.text}", site.scope)
            if role.role is Role.UNKNOWN:
                ok = False
                _unknown_key(kind, word, site)
                continue
            option = role.option
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
        slot = next((p for p in kind.positionals if p.name not in args.values), None)
        role = classify(kind, text, site.scope, slot=slot)
        if role.role is Role.POSITIONAL:
            ok &= _store(args, slot.name, slot.role, text, word.span, word.span, slot.expect, site)
        elif role.role is Role.FLAG:
            if text in args.flags:
                ok = False
                site.report("E0014", word.span, f"'{text}' is given twice", label="repeated here")
            args.flags[text] = word.span
        elif role.role is Role.ACTIVATION:
            if args.activation is not None:
                ok = False
                site.report(
                    "E0015",
                    word.span,
                    f"{called(kind, site)} takes one activation, but '{args.activation[0].name}' is already given",
                    label="second activation",
                    help=f"put '{text}' on its own line after this one",
                )
                continue
            act = role.activation
            act_args = Args()
            act_span = word.span
            if act.positionals and index < len(words):
                nxt = words[index]
                act_slot = act.positionals[0]
                if not isinstance(nxt, KeywordArg) and classify(act, nxt.text, site.scope, slot=act_slot).role is Role.POSITIONAL:
                    index += 1
                    ok &= _store(act_args, act_slot.name, act_slot.role, nxt.text, nxt.span, nxt.span, act_slot.expect, site)
                    act_span = word.span.cover(nxt.span)
            args.activation = (act, act_args, act_span)
        elif role.role is Role.OPTION:
            option = role.option
            ok &= _store(args, option.name, option.role, role.value, word.span, word.span, option.expect, site)
        else:
            ok = False
            _unknown_word(kind, word, slot, args, site)
    for slot in kind.positionals:
        if slot.name not in args.values and ok:
            ok = False
            site.report(
                "E0012",
                statement,
                f"{called(kind, site)} needs {slot.role}",
                label=f"{slot.role} missing",
                help=f"write it like: {kind.example}",
            )
    return args if ok else None


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


def range_check(kind, args: Args, site: Site) -> bool:
    """Every value at least its argument's minimum (E0035 for each that is not)."""
    ok = True
    specs = {p.name: (p.role, p.minimum) for p in kind.positionals}
    specs.update({o.name: (o.role, o.minimum) for o in kind.options})
    for name, value in args.values.items():
        role, minimum = specs[name]
        if not minimum_ok(value.value, minimum):
            ok = False
            site.report(
                "E0035",
                value.span,
                f"{role} must be at least {minimum}, but is {value.text}",
                label="out of range",
                notes=[value.origin] if value.origin else [],
            )
    return ok


# ---------------------------------------------------------------------------
# In words, for messages


def listing(words: list[str]) -> str:
    words = [f"'{w}'" for w in words]
    if not words:
        return "no options"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def option_examples(kind) -> str:
    """`k3 or s2`: the first two options as written, for messages."""
    return " or ".join(o.sample for o in kind.options[:2])


def expected_words(kind) -> str:
    """What may come after a layer's numbers, in words."""
    if kind.options:
        return f"a layer option like {option_examples(kind)}"
    parts = [f"'{flag}'" for flag in kind.flags]
    if kind.takes_activation:
        parts.append("an activation like relu")
    return " or ".join(parts) if parts else "nothing more"


def takes(kind) -> list[str]:
    """The options and flags of a layer, as written (`k3`, `s2`, `same`)."""
    return [o.sample for o in kind.options] + list(kind.flags)


def _suggestion(word: str, candidates: list[str], fallback: str) -> str:
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else fallback


def _unknown_key(kind, word: KeywordArg, site: Site) -> None:
    name = called(kind, site)
    valid = [o.name for o in kind.options]
    every = f"{name} takes " + listing([f"{v}=" for v in valid])
    site.report(
        "E0011",
        word.key.span,
        f"{name} has no option '{word.key.text}'",
        label="unknown option",
        help=_suggestion(word.key.text, valid, every if valid else f"{name} takes no options"),
        notes=[every] if closest(word.key.text, valid) else [],
    )


def _unknown_word(kind, word: Word, slot: Positional | None, args: Args, site: Site) -> None:
    """Why a word is none of the kind's: the most likely mistake, with its fix."""
    text = word.text
    if slot is not None and IDENTIFIER.match(text) and (site.inside_block or closest(text, kind.option_words()) is None):
        # A name where a number is due: inside a block a parameter that is not
        # there, outside a malformed number (unless it is close to an option).
        read_value(text, word.span, slot.expect, site, slot.role)
        return
    name = called(kind, site)
    unset = [o for o in kind.options if o.name not in args.values and o.short]
    if not kind.positionals and not kind.options and not kind.flags and not kind.takes_activation:
        site.report(
            "E0011",
            word.span,
            f"{name} takes no arguments, found '{show(text)}'",
            label="unexpected argument",
            help=f"write just: {name}" + (f"; put '{text}' on its own line" if is_layer_name(text) else ""),
        )
        return
    if literal_like(text):
        _unexpected_value(kind, name, word, unset, site)
        return
    letter, rest = text[:1], text[1:]
    shorts = {o.short: o for o in kind.options if o.short}
    looks_like_option = rest[:1] in shorts and literal_like(rest[1:])  # `kk3`: a typo, not `k` + a name
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
    if letter == "k" and rest and literal_like(rest) and any(p.name == "window" for p in kind.positionals):
        site.report(
            "E0011",
            word.span,
            f"{name} has no kernel option: its window is the number after '{name}'",
            label="not a pooling option",
            help=f"write the window first, like: {name} {rest}",
            notes=[f"{name} takes " + listing(takes(kind))],
        )
        return
    guess = None
    if rest and literal_like(rest) and unset:
        # `x3` for `k3`: keep the value, try each option letter, prefer unset ones.
        guess = f"{unset[0].short}{rest}"
    elif rest and literal_like(rest) and any(o.short for o in kind.options):
        guess = f"{next(o for o in kind.options if o.short).short}{rest}"
    guess = guess or closest(text, kind.option_words())
    what = "option" if not (kind.takes_activation and text.isalpha()) else "option or activation"
    expected = takes(kind)
    site.report(
        "E0011",
        word.span,
        f"{name} has no {what} '{show(text)}'",
        label="unknown " + what,
        help=f"did you mean '{guess}'?" if guess else (f"{name} takes " + listing(expected) if expected else f"{name} takes no options"),
        notes=[f"{name} takes " + listing(expected)] if guess and expected else [],
    )


def _unexpected_value(kind, name: str, word: Word, unset: list[Option], site: Site) -> None:
    """A number where none is due: `conv 16 3` (meant k3), `pool 2 2x`."""
    text = word.text
    if INTEGER.match(text) or DECIMAL.match(text) or SIZE.match(text):
        guess = f"{unset[0].short}{text}" if unset and (INTEGER.match(text) or text.count("x") == 1) else None
        numbers = len(kind.positionals)
        site.report(
            "E0011",
            word.span,
            f"unexpected value '{show(text)}': {name} takes "
            + (
                f"{numbers} number{'s' if numbers != 1 else ''}"
                + (" before its options" if kind.options or kind.flags or kind.takes_activation else "")
                if kind.positionals
                else "no numbers"
            ),
            label="extra value",
            help=f"did you mean '{guess}'?" if guess else f"write it like: {kind.example}",
            notes=[f"options are a letter glued to a value, like {option_examples(kind)}"] if guess else [],
        )
    elif expected_words(kind) == "nothing more":
        numbers = len(kind.positionals)
        site.report(
            "E0011",
            word.span,
            f"{name} takes {numbers} number{'s' if numbers != 1 else ''}, found '{show(text)}'",
            label="unexpected argument",
            help=f"write it like: {kind.example}",
        )
    else:
        site.report(
            "E0011",
            word.span,
            f"expected {expected_words(kind)}, found '{show(text)}'",
            label="not an option",
            help=f"{name} takes " + listing(takes(kind))
            + ("; a window size is two numbers joined by 'x', like k3x5" if "x" in text and kind.options else ""),
        )
