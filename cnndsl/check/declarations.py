"""The top level, read first: the network's name, its input, block definitions.

The input may be symbolic (`input HxWx3 where H >= 32, W >= 32`): its
symbols and their `where` bounds become the checker's `bounds`. Names the
program gives (network, blocks, parameters) must be usable in the generated
Python module as written (E0016): cnnc never renames.
"""

from __future__ import annotations

import builtins
import keyword
import re

from ..diagnostics.suggest import closest
from ..diagnostics.wording import show
from ..layers import helper_names, lookup
from ..layers.values import IDENTIFIER, SIZE, Expect, read_value
from ..syntax.nodes import BROKEN, BlockDef, Command, Shortcut, Word
from ..syntax.source import Span
from ..types.shapes import MAX_VALUE, MapType, Shape, VectorType
from ..types.symbolic import Axis
from .frame import Frame, SymbolBound
from .skips import WORDS as SKIP_WORDS

# The words that start a statement other than a layer or a block call.
STRUCTURE_WORDS = ("network", "input", "block", "repeat", "residual", "shortcut", "concat", "split", "branch", "gate", *SKIP_WORDS)
# The helper classes a generated module may define (templates/module.py.jinja).
HELPER_CLASSES = frozenset({"Residual", "Concat", "Split", "Gate", "Skip"})
# Names the generated module defines or needs; a network called `super` or
# `nn` would break the generated class.
RESERVED_NAMES = frozenset({"torch", "nn", "self", "x"}) | HELPER_CLASSES | helper_names() | frozenset(dir(builtins))
# Names the generated module imports or defines at its top level (the layers'
# helper classes too: LayerNorm2d, ...): no name in a .cnn file (network,
# block, parameter) may take them.
GENERATED_NAMES = frozenset({"torch", "nn"}) | HELPER_CLASSES | helper_names()
INPUT_SIZE = Expect("a size HxWxC", "130x130x3", size=True, dims=3)
SYMBOLIC_PART = re.compile(r"[A-Z][A-Z0-9_]*\Z")
LOWER_SYMBOL = re.compile(r"[a-wyz][a-z0-9_]*\Z")  # `hxwx3`: symbols written in lower case


class Declarations:
    """The checker's first pass over the top level (`read`)."""

    def __init__(self, checker) -> None:
        self.checker = checker
        self.module = checker.module
        self.source = checker.source
        self.report = checker.report
        self.bounds: dict[str, SymbolBound] = checker.bounds  # filled by a symbolic input
        self.sizes = checker.sizes  # an instance's symbol values, or None

    def read(self) -> tuple[str, MapType | None]:
        """First pass over the top level: network, input and block definitions."""
        name = None
        name_span = None
        input_statement = None
        input_type = None
        first_layer = None
        for statement in self.module.statements:
            if isinstance(statement, BlockDef):
                self.checker.blocks.define(statement)
                continue
            if isinstance(statement, Command) and statement.name.text == "network":
                if name_span is not None:
                    self.report(
                        "E0023",
                        statement.span,
                        "the network is named twice",
                        label="second name",
                        related=[(name_span, "first named here")],
                        help="keep one `network` line",
                    )
                    continue
                name_span = statement.span
                name = self.network_name(statement)
                continue
            if isinstance(statement, Command) and statement.name.text == "input":
                if input_statement is not None:
                    self.report(
                        "E0022",
                        statement.span,
                        "the input is given twice",
                        label="second input",
                        related=[(input_statement.span, "first input here")],
                        help="a network has one input; remove this line",
                    )
                    continue
                input_statement = statement
                input_type = self.input(statement)
                if first_layer is not None:
                    self.report(
                        "E0021",
                        statement.span,
                        f"input must come before the first layer, but line {self.source.line_of(first_layer.start)} already has one",
                        label="input given too late",
                        related=[(first_layer, "first layer here")],
                        help="move this line above the first layer",
                    )
                continue
            if isinstance(statement, Command) and statement.name.text == BROKEN:
                if statement.args:  # a block definition with a syntax error
                    self.checker.blocks.broken.add(statement.args[0].text)
                continue
            if first_layer is None and not isinstance(statement, Shortcut):
                first_layer = statement.span
        if input_statement is None and not self.checker.syntax_errors and not self.misspelt_input():
            span = first_layer if first_layer is not None else Span(0, 0)
            self.report(
                "E0020",
                span,
                "the network has no input",
                label="no input before this layer" if first_layer is not None else None,
                help="state the input size first, like: input 32x32x3 (height x width x channels)",
            )
        return name or class_name(self.checker.default_name), input_type

    def network_name(self, statement: Command) -> str | None:
        if len(statement.args) != 1 or not isinstance(statement.args[0], Word):
            self.report(
                "E0012" if not statement.args else "E0011",
                statement.span,
                "network takes one name",
                label="write: network NAME",
                help="write it like: network Quiz",
            )
            return None
        word = statement.args[0]
        return word.text if valid_name(word, "network name", self.report) else None

    def input(self, statement: Command) -> Shape | None:
        frame = Frame(self.checker, {}, (), 0, ())
        if (
            len(statement.args) == 1
            and isinstance(statement.args[0], Word)
            and any(SYMBOLIC_PART.match(p) or LOWER_SYMBOL.match(p) for p in statement.args[0].text.split("x"))
        ):
            return self.symbolic_input(statement, statement.args[0])
        if statement.bounds:
            self.report(
                "E0070",
                statement.bounds[0].span,
                "'where' bounds size symbols, but this input has none",
                label="nothing to bound",
                help="write the sizes as symbols, like: input HxWx3 where H >= 32, W >= 32",
            )
        if len(statement.args) != 1 or not isinstance(statement.args[0], Word):
            words = [a.text for a in statement.args if isinstance(a, Word)]
            hint = "x".join(words) if words and all(w.isdigit() for w in words) else "130x130x3"
            self.report(
                "E0012" if not statement.args else "E0013",
                statement.span,
                "input takes one size, height x width x channels",
                label="write: input HxWxC",
                help=f"write it like: input {hint}",
            )
            return None
        word = statement.args[0]
        if SIZE.match(word.text) and word.text.count("x") != 2:
            parts = word.text.split("x")
            self.report(
                "E0013",
                word.span,
                f"input needs height, width and channels, but '{word.text}' has {len(parts)} number{'s' if len(parts) > 1 else ''}",
                label="expected HxWxC",
                help=f"add the channels, like input {parts[0]}x{parts[-1]}x3" if len(parts) <= 2 else "write it like: input 130x130x3",
            )
            return None
        value = read_value(word.text, word.span, INPUT_SIZE, frame, "the input size")
        if value is None:
            return None
        if not isinstance(value.value, tuple):  # `input 100`: a vector, such as a generator's latent
            if value.value < 1:
                self.report("E0035", word.span, f"the input size must be at least 1, but is {word.text}", label="out of range")
                return None
            return VectorType(value.value)
        height, width, channels = value.value
        if min(value.value) < 1:
            self.report("E0035", word.span, f"input sizes must be at least 1, but the input is {word.text}", label="out of range")
            return None
        shape = MapType(height, width, channels)
        if shape.elements > MAX_VALUE:
            self.report(
                "E0061",
                word.span,
                f"the input {word.text} has {shape.elements:,} elements per sample, too many to build",
                label="too large",
                help="check the size for a typo",
            )
            return None
        return shape

    def symbolic_input(self, statement: Command, word: Word) -> MapType | None:
        """`input HxWx3 where H >= 32, W >= 32`: height and width as symbols."""
        parts = word.text.split("x")
        if len(parts) != 3:
            self.report(
                "E0013",
                word.span,
                f"input needs height, width and channels, but '{word.text}' has {len(parts)} part{'s' if len(parts) > 1 else ''}",
                label="expected HxWxC",
                help="write it like: input HxWx3",
            )
            return None
        sizes: list[int | str] = []
        for index, part in enumerate(parts):
            role = ("height", "width", "channels")[index]
            if part.isdigit() and len(part) <= 12:
                if int(part) < 1:
                    self.report("E0035", word.span, f"input sizes must be at least 1, but the {role} is {part}", label="out of range")
                    return None
                sizes.append(int(part))
            elif SYMBOLIC_PART.match(part) and index < 2:
                sizes.append(part)
            elif index == 2:
                self.report(
                    "E0070",
                    word.span,
                    f"the channels must be a number, but are {'the symbol ' if SYMBOLIC_PART.match(part) else ''}'{show(part)}'",
                    label="channels are fixed",
                    notes=["the first layer's weights depend on the channel count, so it cannot vary"],
                    help=f"write it like: input {parts[0]}x{parts[1]}x3",
                )
                return None
            else:
                upper = part.upper()
                self.report(
                    "E0070",
                    word.span,
                    f"the {role} '{show(part)}' is neither a number nor a size symbol",
                    label="expected a number or a symbol",
                    notes=["a size symbol is upper case: letters A-Z, digits and _, starting with a letter (H, W, IMG_H)"],
                    help=f"write it like: input {'x'.join(p.upper() if LOWER_SYMBOL.match(p) else p for p in parts)}"
                    if SYMBOLIC_PART.match(upper) and index < 2
                    else "write it like: input HxWx3",
                )
                return None
        for index, size in enumerate(sizes[:2]):
            if isinstance(size, str):
                self.bounds.setdefault(size, SymbolBound(1, None, [])).axes.append(("height", "width")[index])
        seen: dict[str, Span] = {}
        for bound in statement.bounds:
            symbol, minimum = bound.symbol.text, bound.minimum.text
            if symbol not in self.bounds:
                match = closest(symbol, list(self.bounds))
                self.report(
                    "E0070",
                    bound.symbol.span,
                    f"'{show(symbol)}' is not a size symbol of this input",
                    label="unknown symbol",
                    notes=[f"the input's symbols are {', '.join(self.bounds)}"],
                    help=f"did you mean '{match}'?" if match else f"bound one of {', '.join(self.bounds)}, like: {next(iter(self.bounds))} >= 32",
                )
                continue
            if bound.modulus is not None:
                self._residue(symbol, bound)
                continue
            if symbol in seen:
                self.report(
                    "E0070",
                    bound.span,
                    f"the symbol {symbol} is bounded twice",
                    label="second bound",
                    related=[(seen[symbol], "first bound here")],
                    help="keep one bound per symbol",
                )
                continue
            seen[symbol] = bound.span
            if not (minimum.isdigit() and (len(minimum) > 10 or int(minimum) >= 1)):
                self.report(
                    "E0035",
                    bound.minimum.span,
                    f"the bound of {symbol} must be a whole number of at least 1, but is '{show(minimum)}'",
                    label="expected a size",
                    help=f"write it like: {symbol} >= 32",
                )
                continue
            if len(minimum) > 10 or int(minimum) > MAX_VALUE:
                self.report(
                    "E0061",
                    bound.minimum.span,
                    f"the bound {symbol} >= {minimum if len(minimum) <= 20 else minimum[:12] + '...'} is beyond any size PyTorch can build (2**31 - 1)",
                    label="too large",
                    help="check the bound for a typo",
                )
                continue
            self.bounds[symbol].bound = self.bounds[symbol].value = int(minimum)
            self.bounds[symbol].written = bound.span
        for state in self.bounds.values():  # the bounds start at admissible sizes
            state.bound = state.value = state.admissible(state.bound)
        if self.sizes is not None:  # an instance: the symbols take their values
            shape = MapType(*(self.sizes[s] if isinstance(s, str) else s for s in sizes))
            if shape.elements > MAX_VALUE:
                self.report(
                    "E0061",
                    word.span,
                    f"at {shape.height}x{shape.width}, the input has {shape.elements:,} elements per sample, too many to build",
                    label="too large",
                    help="choose a smaller size",
                )
                return None
            return shape
        return MapType(*(Axis(s) if isinstance(s, str) else s for s in sizes))

    def _residue(self, symbol: str, bound) -> None:
        """`H % 16 == 12`: the admissible sizes of H are 12 modulo 16."""
        state = self.bounds[symbol]
        if state.residue_written is not None:
            self.report(
                "E0070",
                bound.span,
                f"the symbol {symbol} has two residue constraints",
                label="second residue",
                related=[(state.residue_written, "first here")],
                help="keep one: H % 16 == 0 also implies H % 8 == 0",
            )
            return
        modulus, residue = bound.modulus.text, bound.minimum.text
        if not (modulus.isdigit() and len(modulus) <= 6 and 1 <= int(modulus) <= 65536):
            self.report(
                "E0035",
                bound.modulus.span,
                f"the modulus of {symbol} must be a whole number from 1 to 65536, but is '{show(modulus)}'",
                label="expected a modulus",
                help=f"write it like: {symbol} % 16 == 0",
            )
            return
        if not (residue.isdigit() and len(residue) <= 6 and int(residue) < int(modulus)):
            self.report(
                "E0035",
                bound.minimum.span,
                f"the residue of {symbol} modulo {modulus} must be a whole number from 0 to {int(modulus) - 1}, but is '{show(residue)}'",
                label="expected a residue",
                help=f"write it like: {symbol} % {modulus} == 0",
            )
            return
        state.modulus, state.residue, state.residue_written = int(modulus), int(residue), bound.span

    def misspelt_input(self) -> bool:
        """A top-level statement that looks like a misspelt `input` (E0010 says so)."""
        for statement in self.module.statements:
            if isinstance(statement, Command):
                name = statement.name.text
                if lookup(name) is None and name not in self.checker.blocks.definitions and closest(name, ["input"]):
                    return True
        return False


def valid_name(word: Word, what: str, report) -> bool:
    """Whether a network, block or parameter name can be used as written; E0016 if not."""
    text = word.text
    problem = None
    if not IDENTIFIER.match(text):
        problem = "is not a name (a letter or _, then letters, digits or _)"
    elif keyword.iskeyword(text):
        problem = "is a Python keyword"
    elif keyword.issoftkeyword(text):
        problem = "is a Python soft keyword"
    elif text.startswith("__"):
        problem = "starts with '__', which Python reserves"
    elif text in GENERATED_NAMES:
        problem = "is a name the generated module imports or defines"
    elif what == "network name" and text in RESERVED_NAMES:
        problem = "would shadow a name the generated class needs (a Python builtin, self or x)"
    if problem is None:
        return True
    alternative = _alternative_name(text, what)
    report(
        "E0016",
        word.span,
        f"the {what} '{show(text)}' {problem}",
        label="invalid name",
        help="choose another name" + (f", like {alternative}" if alternative else "") + "; cnnc never renames silently",
    )
    return False


def _alternative_name(text: str, what: str) -> str | None:
    """A valid name close to an invalid one, for the help line."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not stem:
        return None
    if stem[0].isdigit():
        stem = "n" + stem
    candidate = stem[:1].upper() + stem[1:] if what == "network name" else stem + "_block" if what == "block name" else stem + "_"
    if candidate == text or keyword.iskeyword(candidate) or candidate in RESERVED_NAMES:
        candidate += "Net" if what == "network name" else "_"
    return candidate if IDENTIFIER.match(candidate) and candidate != text else None


def class_name(stem: str) -> str:
    """`quiz` -> `Quiz`, `my_net-2` -> `MyNet2`; always a valid class name."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", stem) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    if not name:
        return "Network"
    if name[0].isdigit():
        name = "Net" + name
    if keyword.iskeyword(name) or name in RESERVED_NAMES:
        name += "Net"
    return name


