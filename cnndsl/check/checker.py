"""Syntax tree -> typed program: expands blocks and repeats, types every layer.

One pass over the statements, in order, carrying the current type. After an
error the type becomes unknown (None) and later layers are still read (their
own mistakes are reported) but not typed, so one mistake gives one error.
"""

from __future__ import annotations

import builtins
import dataclasses
import keyword
import operator
import re

from ..diagnostics.model import Reporter
from ..layers import ACTIVATIONS, BY_NAME, COUNT, Args, LayerKind, classify, lookup, range_check
from ..syntax.nodes import BlockDef, Command, KeywordArg, Module, Repeat, Residual, Shortcut, Word
from ..types.shapes import MAX_VALUE, MapType, Shape, VectorType, describe
from ..syntax.source import Span
from ..types.symbolic import Axis, SizeSymbol, TooLongToCompare, size_at
from ..diagnostics.suggest import closest
from ..diagnostics.wording import show
from ..syntax.nodes import BROKEN
from .skips import KEEP, Keeps, SizeFailures
from .skips import WORDS as SKIP_WORDS
from .typed import CallSite, Node, TypedLayer, TypedProgram, TypedResidual, TypedSkip
from ..layers.values import IDENTIFIER, SIZE, Expect, Site, Value, read_value

# Checking costs tens of microseconds per layer; real networks have hundreds
# to a few thousand leaf layers.
MAX_LAYERS = 100_000
MAX_DEPTH = 64
# A file cannot produce more diagnostics than this (the rest are counted).
MAX_DIAGNOSTICS = 500
STRUCTURE_WORDS = ("network", "input", "block", "repeat", "residual", "shortcut", *SKIP_WORDS)
# Names the generated module defines or needs; a network called `super` or
# `nn` would break the generated class.
RESERVED_NAMES = frozenset({"torch", "nn", "Residual", "Skip", "self", "x"}) | frozenset(dir(builtins))
# Names the generated module imports or defines at its top level: no name in
# a .cnn file (network, block, parameter) may take them.
GENERATED_NAMES = frozenset({"torch", "nn", "Residual", "Skip"})
BLOCK_ARGUMENT = Expect("a number or a size", "64 or 3x5", size=True, decimal=True)
INPUT_SIZE = Expect("a size HxWxC", "130x130x3", size=True, dims=3)
SYMBOLIC_PART = re.compile(r"[A-Z][A-Z0-9_]*\Z")
LOWER_SYMBOL = re.compile(r"[a-wyz][a-z0-9_]*\Z")  # `hxwx3`: symbols written in lower case


class _Frame(Site):
    """Where statements are being checked: block parameters and call chain (the layers' `Site`)."""

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

    def inner(self) -> _Frame:
        """The frame for a nested body (repeat, residual): same scope, one level deeper."""
        return _Frame(self.checker, self.scope, self.calls, self.depth + 1, self.active, self.light)

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

    def size_modulus(self, symbol: str) -> int:
        """The modulus of a symbol's residue (`where H % 16 == 0`), 1 without one; its bound is admissible."""
        return self.checker.bounds[symbol].modulus


class _Bound:
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


class Checker:
    def __init__(
        self,
        module: Module,
        reporter: Reporter,
        default_name: str,
        sizes: dict[str, int] | None = None,
        discovering: bool = False,
    ) -> None:
        self.module = module
        # An instance of a symbolic program: the symbols' values (`--size`).
        self.sizes = sizes
        # The first of two passes over a symbolic program without written
        # bounds: it only finds the smallest size every layer accepts.
        self.discovering = discovering
        self.bounds: dict[str, _Bound] = {}
        self.reporter = reporter
        self.source = reporter.source
        self.default_name = default_name
        self.blocks: dict[str, BlockDef] = {}
        # Blocks whose definition was rejected: calls to them are not reported again.
        self.broken_blocks: set[str] = set()
        self.expanded_blocks: set[str] = set()  # blocks checked with argument values
        self.dropped = 0  # diagnostics beyond MAX_DIAGNOSTICS
        self.expanded = 0
        self._seen: set = set()
        self._size_memo: dict = {}
        # Every report made, shown or not: a step that made none is pure, and is memoised.
        self.reports = 0
        # A layer statement's text and the block parameters' values -> its
        # configuration (read once, not once per expansion or repeat pass).
        self._configs: dict = {}
        # A layer kind, configuration and concrete input -> its inference.
        self._inferences: dict = {}
        # A block call (block, argument values, concrete input, depth, blocks
        # being expanded) -> its first expansion that reported nothing:
        # (its CallSite, typed nodes, output, leaf layers); later calls copy it.
        self._expansions: dict = {}
        self.syntax_errors = reporter.error_count
        self.skip_failures = SizeFailures()  # skips.py: reported together, with one fix for all

    def report(self, code, span, message, **details) -> None:
        self.reports += 1
        key = (code, span, message)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.reporter.diagnostics) >= MAX_DIAGNOSTICS:
            self.dropped += 1
            return
        self.reporter.report(code, span, message, **details)

    # -- the program ------------------------------------------------------
    def check(self) -> TypedProgram:
        name, input_type = self._declarations()
        if not self.discovering and any(state.written is None for state in self.bounds.values()):
            # Unwritten bounds are the smallest sizes every layer accepts: find
            # them first, so that equality and warnings are decided from them.
            silent = Reporter(self.source)
            discovery = Checker(self.module, silent, self.default_name, discovering=True)
            discovery.check()
            for symbol, state in self.bounds.items():
                if state.written is None and symbol in discovery.bounds:
                    state.bound = state.value = discovery.bounds[symbol].bound
        top = _Frame(self, {}, (), 0, ())
        nodes: list[Node] = []
        output = self.sequence(self.module.statements, input_type, top, nodes)
        self._unexpanded_blocks()
        self.skip_failures.flush()
        if self.dropped:  # say so on the last one shown
            last = self.reporter.diagnostics[-1]
            note = f"{self.dropped:,} more diagnostic{'s are' if self.dropped > 1 else ' is'} not shown"
            self.reporter.diagnostics[-1] = last.replace(notes=(*last.notes, note))
        return TypedProgram(
            source=self.source,
            name=name,
            input=input_type,
            nodes=nodes,
            diagnostics=self.reporter.sorted(),
            output=output if input_type is not None else None,
            syntax=self.module,
            symbols={
                symbol: SizeSymbol(symbol, state.value, state.written is not None, tuple(state.axes), state.modulus, state.residue)
                for symbol, state in self.bounds.items()
            },
            sizes=dict(self.sizes or {}),
        )

    def _misspelt_input(self) -> bool:
        """A top-level statement that looks like a misspelt `input` (E0010 says so)."""
        for statement in self.module.statements:
            if isinstance(statement, Command):
                name = statement.name.text
                if lookup(name) is None and name not in self.blocks and closest(name, ["input"]):
                    return True
        return False

    def _unexpanded_blocks(self) -> None:
        """Check blocks that were never expanded, and warn about unused ones.

        A block that no call expands is still read, without argument values:
        unknown layers, options and names, wrong argument counts and literal
        values out of range are reported (W0004 says it is unused).
        """
        for name, block in self.blocks.items():
            if name in self.expanded_blocks:
                continue
            scope = {p.text: Value(1, p.text, p.span) for p in block.params}
            frame = _Frame(self, scope, (), 0, (name,), light=True)
            self.sequence(block.body.statements, None, frame, [])
        if self.syntax_errors:  # a dropped statement may have been the call
            return
        called = _called_names(self.module)
        for name, block in self.blocks.items():
            if name not in called:
                self.report(
                    "W0004",
                    block.name.span,
                    f"block '{name}' is defined but never used",
                    label="never called",
                    notes=["its body was checked only for mistakes that do not depend on its arguments"],
                    help=f"call it, like: {name}" + "".join(f" {p.text.upper()}" for p in block.params) + ", or remove it",
                )

    def _declarations(self) -> tuple[str, MapType | None]:
        """First pass over the top level: network, input and block definitions."""
        name = None
        name_span = None
        input_statement = None
        input_type = None
        first_layer = None
        for statement in self.module.statements:
            if isinstance(statement, BlockDef):
                self._define_block(statement)
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
                name = self._network_name(statement)
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
                input_type = self._input(statement)
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
                    self.broken_blocks.add(statement.args[0].text)
                continue
            if first_layer is None and not isinstance(statement, Shortcut):
                first_layer = statement.span
        if input_statement is None and not self.syntax_errors and not self._misspelt_input():
            span = first_layer if first_layer is not None else Span(0, 0)
            self.report(
                "E0020",
                span,
                "the network has no input",
                label="no input before this layer" if first_layer is not None else None,
                help="state the input size first, like: input 32x32x3 (height x width x channels)",
            )
        return name or _class_name(self.default_name), input_type

    def _network_name(self, statement: Command) -> str | None:
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
        return word.text if self._valid_name(word, "network name") else None

    def _valid_name(self, word: Word, what: str) -> bool:
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
        self.report(
            "E0016",
            word.span,
            f"the {what} '{show(text)}' {problem}",
            label="invalid name",
            help="choose another name" + (f", like {alternative}" if alternative else "") + "; cnnc never renames silently",
        )
        return False

    def _input(self, statement: Command) -> Shape | None:
        frame = _Frame(self, {}, (), 0, ())
        if (
            len(statement.args) == 1
            and isinstance(statement.args[0], Word)
            and any(SYMBOLIC_PART.match(p) or LOWER_SYMBOL.match(p) for p in statement.args[0].text.split("x"))
        ):
            return self._symbolic_input(statement, statement.args[0])
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

    def _symbolic_input(self, statement: Command, word: Word) -> MapType | None:
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
                self.bounds.setdefault(size, _Bound(1, None, [])).axes.append(("height", "width")[index])
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

    def _define_block(self, block: BlockDef) -> None:
        name = block.name.text
        if not self._valid_name(block.name, "block name"):
            self.broken_blocks.add(name)
            for param in block.params:  # report its bad parameter names too
                self._valid_name(param, "parameter name")
            return
        if name in BY_NAME or name in STRUCTURE_WORDS:
            self.report(
                "E0043",
                block.name.span,
                f"a block cannot be called '{name}': that is the name of a {'layer' if name in BY_NAME else 'statement'}",
                label="name taken",
                help=f"choose another name, like {name}_block",
            )
            return
        if name in self.blocks:
            self.report(
                "E0043",
                block.name.span,
                f"the block '{name}' is defined twice",
                label="second definition",
                related=[(self.blocks[name].header, "first defined here")],
                help="rename one of them",
            )
            return
        seen: dict[str, Span] = {}
        ok = True
        for param in block.params:
            if not self._valid_name(param, "parameter name"):
                ok = False
                continue
            if param.text in seen:
                self.report(
                    "E0043",
                    param.span,
                    f"the parameter '{param.text}' appears twice in block '{name}'",
                    label="repeated parameter",
                    related=[(seen[param.text], "first here")],
                    help="give each parameter its own name",
                )
                ok = False
                continue
            seen[param.text] = param.span
        if not ok:
            self.broken_blocks.add(name)
            return
        self.blocks[name] = block

    # -- statements -------------------------------------------------------
    def sequence(self, statements, shape: Shape | None, frame: _Frame, nodes: list[Node]) -> Shape | None:
        keeps = None  # the maps kept in this body (skips.py)
        for statement in statements:
            if isinstance(statement, Command) and statement.name.text in SKIP_WORDS:
                keeps = keeps or Keeps(self.skip_failures)
                if statement.name.text == KEEP:
                    shape = keeps.keep(statement, shape, frame, nodes)
                else:
                    shape = keeps.join(statement, shape, frame, nodes, self.source.line_of(statement.span.start), frame.calls)
            elif isinstance(statement, Command):
                shape = self.command(statement, shape, frame, nodes)
            elif isinstance(statement, Repeat):
                shape = self.repeat(statement, shape, frame, nodes)
            elif isinstance(statement, Residual):
                shape = self.residual(statement, shape, frame, nodes)
            elif isinstance(statement, BlockDef):
                if frame.depth > 0 or frame.calls:
                    frame.report(
                        "E0024",
                        statement.header,
                        "blocks are defined at the top level, not inside other statements",
                        label="nested block definition",
                        help="move this block definition to the top level of the file",
                    )
            elif isinstance(statement, Shortcut):
                frame.report(
                    "E0024",
                    statement.header,
                    "shortcut must directly follow a residual { ... }",
                    label="no residual before this",
                    help="put it right after the closing brace of a residual",
                )
        if keeps is not None:
            keeps.finish(frame)
        return shape

    def command(self, statement: Command, shape, frame: _Frame, nodes: list[Node]):
        name = statement.name.text
        if name in ("network", "input"):
            if frame.depth > 0 or frame.calls:
                frame.report(
                    "E0024",
                    statement.span,
                    f"{name} belongs at the top level of the file",
                    label=f"{name} inside a body",
                    help=f"move this {name} line to the top of the file",
                )
            return shape
        if name == BROKEN:  # a statement with a syntax error, already reported
            return None
        if statement.name.stray:
            frame.report("E0001", statement.name.span, f"unexpected character '{show(name)}'", label="not part of the language")
            return None
        kind = lookup(name)
        if kind is not None:
            frame.layer_name = name
            try:
                return self.layer(kind, statement, shape, frame, nodes)
            finally:
                frame.layer_name = None
        block = self.blocks.get(name)
        if block is not None:
            return self.call(block, statement, shape, frame, nodes)
        if name in self.broken_blocks:  # its definition is already reported
            return None
        candidates = list(BY_NAME) + list(self.blocks) + list(STRUCTURE_WORDS)
        match = closest(name, candidates)
        what = "layer or block" if self.blocks else "layer"
        if name[:1].isdigit() or name[:1] in "+-.":
            message = f"a statement starts with a layer name, found '{show(name)}'"
            help_text = f"did you forget the layer name, like 'conv {show(name)} k3'?"
        else:
            message = f"unknown {what} '{show(name)}'"
            layers = ", ".join(kind.name for kind in dict.fromkeys(BY_NAME.values()) if not kind.is_activation)
            help_text = f"did you mean '{match}'?" if match else f"the layers are {layers} and the activations (relu, gelu, ...)"
            owner = _option_owner(name)
            if owner is not None and not match:
                message = f"'{name}' is an option of {owner}, not a statement"
                help_text = f"put it on the same line as its layer, like: {owner} ... {name}"
        frame.report("E0010", statement.name.span, message, label=f"unknown {what}", help=help_text)
        return None

    def layer(self, kind: LayerKind, statement: Command, shape, frame: _Frame, nodes: list[Node]):
        if statement.bounds:
            frame.report("E0011", statement.bounds[0].span, f"{kind.name} takes no 'where' clause", label="unexpected")
            return None
        start = statement.span.start
        # Reading is a function of the text and the parameters' values; a read
        # that reported nothing is reused by every later expansion and by
        # every statement written the same way.
        key = None if frame.light else (
            kind,
            self.source.text[start : statement.span.end],
            tuple([(name, type(value.value), value.value) for name, value in frame.scope.items()]) if frame.scope else (),
        )
        known = self._configs.get(key) if key is not None else None
        if known is not None:
            config, activation = known
            if activation is not None:
                act_kind, act_config, (act_start, act_end) = activation
                activation = (act_kind, act_config, Span(start + act_start, start + act_end))
        else:
            reports = self.reports
            args = kind.read(statement, frame)
            if frame.light and args is not None and _uses_parameters(args):
                # The layer's own checks need the arguments' values: range-check the literals.
                range_check(kind, Args({k: v for k, v in args.values.items() if not v.origin}), frame)
                return None
            config = kind.configure(args, frame, statement.span) if args is not None else None
            activation = None
            if args is not None and args.activation is not None:
                act_kind, act_args, act_span = args.activation
                act_config = act_kind.configure(act_args, frame, act_span)
                activation = (act_kind, act_config, act_span) if act_config is not None else None
            if key is not None and config is not None and self.reports == reports:
                self._configs[key] = (
                    config,
                    None if activation is None else (activation[0], activation[1], (activation[2].start - start, activation[2].end - start)),
                )
        if config is None or shape is None:
            return None
        result = self._apply(kind, config, shape, statement.span, statement, frame, nodes)
        if result is None or activation is None:
            return result
        act_kind, act_config, act_span = activation
        frame.layer_name = act_kind.name
        return self._apply(act_kind, act_config, result, act_span, statement, frame, nodes)

    def _apply(self, kind, config, shape, span, statement, frame, nodes):
        if self.expanded >= MAX_LAYERS:
            # The estimate before each repeat and call should prevent this.
            self._fits_budget(MAX_LAYERS + 1, statement.span, frame, "the program")
            return None
        # An inference is a function of the kind, configuration and input; one
        # that reported nothing is reused (not for symbolic inputs, whose
        # checks move the symbols' bounds).
        key = None if shape.symbolic else (kind, config, shape)
        inference = self._inferences.get(key) if key is not None else None
        if inference is None:
            reports = self.reports
            inference = kind.infer(config, shape, frame, span)
            if key is not None and inference is not None and self.reports == reports:
                self._inferences[key] = inference
        if inference is None:
            return None
        if self.residues and isinstance(inference.output, MapType) and inference.output.symbolic:
            inference = dataclasses.replace(inference, output=self.on_admissible(inference.output))
        previous = nodes[-1] if nodes else None
        repeated, inplace = _follows(kind, config, previous)
        if repeated:
            frame.report(
                "W0003",
                span,
                f"{kind.name} is applied twice in a row",
                label="repeated activation",
                related=[(previous.span, "first applied here")],
                help=f"remove one {kind.name}",
            )
        nodes.append(
            TypedLayer(
                kind=kind,
                config=config,
                input=shape,
                output=inference.output,
                params=inference.params,
                macs=inference.macs,
                arithmetic=inference.arithmetic,
                span=span,
                statement=statement.span,
                line=self.source.line_of(statement.span.start),
                calls=frame.calls,
                inplace=inplace,
            )
        )
        self.expanded += 1
        return inference.output

    @property
    def residues(self) -> bool:
        """Whether a symbol has a residue constraint (`where H % 16 == 0`)."""
        return any(state.modulus > 1 for state in self.bounds.values())

    def on_admissible(self, shape: MapType) -> MapType:
        """A map type with its sizes simplified on the admissible sizes (`16*(H//16)` is `H` for multiples of 16)."""
        sizes = []
        for size in (shape.height, shape.width):
            if isinstance(size, Axis):
                state = self.bounds[size.symbol]
                size = size.under(state.modulus, state.residue)
            sizes.append(size)
        return MapType(sizes[0], sizes[1], shape.channels)

    def _too_deep(self, span: Span, frame: _Frame, what: str) -> bool:
        if frame.depth < MAX_DEPTH and len(frame.calls) < MAX_DEPTH:
            return False
        frame.report(
            "E0062",
            span,
            f"{what} nested more than {MAX_DEPTH} levels deep",
            label="too deep",
            help="flatten the structure, or use repeat",
        )
        return True

    def _fits_budget(self, estimate: int, span: Span, frame: _Frame, what: str) -> bool:
        if self.expanded + estimate <= MAX_LAYERS:
            return True
        frame.report(
            "E0060",
            span,
            f"{what} expands to {estimate:,} layers; the limit is {MAX_LAYERS:,} for the whole program",
            label="too many layers",
            help="lower the repeat count; the layer count is checked before anything is expanded",
        )
        return False

    def repeat(self, statement: Repeat, shape, frame: _Frame, nodes):
        if self._too_deep(statement.header, frame, "repeat"):
            return None
        inner = frame.inner()
        count = read_value(statement.count.text, statement.count.span, COUNT, frame, "the repeat count")
        if count is not None and count.value < 0:
            frame.report("E0035", count.span, f"the repeat count must be at least 0, but is {count.text}", label="out of range")
            count = None
        if count is None:
            # Still read the body once so its own mistakes surface.
            self.sequence(statement.body.statements, None, inner, [])
            return None
        estimate = count.value * self.size_of(statement.body.statements, frame.scope, frame.active, 0)
        if not self._fits_budget(estimate, statement.header, frame, f"repeat {count.text}"):
            return None
        if count.value == 0:
            if count.origin is None and not frame.light:
                frame.report(
                    "W0002",
                    statement.header,
                    "repeat 0 does nothing",
                    label="the body is never used",
                    help="remove the repeat, or repeat at least once",
                )
            self.sequence(statement.body.statements, None, inner, [])
            return shape
        for done in range(count.value):
            start, entry = len(nodes), shape
            shape = self.sequence(statement.body.statements, shape, inner, nodes)
            if shape is None:  # every statement has been read once: stop
                break
            if shape == entry and (done >= 1 or len(nodes) == start):
                # From the second pass on (from the first, if it adds no layer),
                # a pass that keeps the type is repeated exactly by every later
                # pass: configurations do not depend on the type, and the pass
                # before ends with the same layer.
                produced = nodes[start:]
                remaining = count.value - done - 1 if produced else 0
                for _ in range(remaining):
                    fresh: dict = {}  # each pass is its own expansion of the blocks it calls
                    nodes.extend(_replicate(node, len(frame.calls), fresh) for node in produced)
                self.expanded += remaining * sum(_leaf_count(node) for node in produced)
                break
        return shape

    def residual(self, statement: Residual, shape, frame: _Frame, nodes):
        if self._too_deep(statement.header, frame, "residual"):
            return None
        inner = frame.inner()
        body: list[Node] = []
        body_shape = self.sequence(statement.body.statements, shape, inner, body)
        shortcut: list[Node] | None = None
        shortcut_shape = shape
        if statement.shortcut is not None:
            shortcut = []
            shortcut_shape = self.sequence(statement.shortcut.statements, shape, inner, shortcut)
        if shape is None or body_shape is None or shortcut_shape is None:
            return None
        difference = _difference(body_shape, shortcut_shape, frame)
        if difference is not None:
            path = "the shortcut" if statement.shortcut is not None else "the identity shortcut"
            frame.report(
                "E0050",
                statement.header,
                f"residual adds the body's {describe(body_shape)} to {path}'s {describe(shortcut_shape)}",
                label="body and shortcut differ",
                notes=[f"the residual's input is the {describe(shape)}", *difference],
                help=_projection_help(shape, body_shape, statement.shortcut is not None),
                related=[(statement.body.span, f"body gives {body_shape}")]
                + ([(statement.shortcut.span, f"shortcut gives {shortcut_shape}")] if statement.shortcut else []),
            )
            # Go on with the body's type: the suggested projection gives it.
        nodes.append(
            TypedResidual(
                body=body,
                shortcut=shortcut,
                input=shape,
                output=body_shape,
                span=statement.span,
                line=self.source.line_of(statement.span.start),
                calls=frame.calls,
            )
        )
        return body_shape

    def call(self, block: BlockDef, statement: Command, shape, frame: _Frame, nodes):
        name = block.name.text
        if name in frame.active:
            chain = " -> ".join((*frame.active[frame.active.index(name):], name))
            frame.report(
                "E0041",
                statement.span,
                f"block '{name}' calls itself ({chain})",
                label="recursive call",
                related=[(block.header, f"'{name}' is defined here")],
                help="blocks cannot recurse; use repeat to apply a block several times",
            )
            return None
        if self._too_deep(statement.span, frame, "block calls"):
            return None
        bindings = self._bind(block, statement, frame)
        if bindings is None or frame.light:
            return None
        self.expanded_blocks.add(name)
        estimate = self.size_of(block.body.statements, bindings, (*frame.active, name), 0)
        if not self._fits_budget(estimate, statement.span, frame, f"'{_text(self.source, statement.span)}'"):
            return None
        site = CallSite(
            name,
            _text(self.source, statement.span),
            statement.span,
            self.source.line_of(statement.span.start),
            tuple(value.value for value in bindings.values()),
        )
        # An expansion is a function of the block, its arguments' values, the
        # concrete input and the nesting (depth, blocks being expanded); one
        # that reported nothing is copied by later calls (not for symbolic
        # inputs, whose checks move the symbols' bounds).
        key = None
        if shape is not None and not shape.symbolic:
            values = tuple([(type(value.value), value.value) for value in bindings.values()])
            key = (name, values, shape, frame.depth, frame.active)
            known = self._expansions.get(key)
            if known is not None and self._copy_expansion(known, site, frame, nodes):
                return known[2]
        inner = _Frame(self, bindings, (*frame.calls, site), frame.depth, (*frame.active, name))
        start, reports, expanded = len(nodes), self.reports, self.expanded
        output = self.sequence(block.body.statements, shape, inner, nodes)
        if key is not None and output is not None and self.reports == reports and key not in self._expansions:
            self._expansions[key] = (site, nodes[start:], output, self.expanded - expanded)
        return output

    def _copy_expansion(self, known, site: CallSite, frame: _Frame, nodes: list[Node]) -> bool:
        """Append a copy of an earlier expansion of the same call, as this call's; False if it cannot be.

        Only the first node looked outside the expansion (at the node before
        it): it is placed again after this call's previous node. When that
        would repeat an activation (W0003), the call is expanded in full,
        which reports it.
        """
        first_site, produced, _, leaves = known
        head = produced[0] if produced else None
        inplace = False
        if isinstance(head, TypedLayer):
            repeated, inplace = _follows(head.kind, head.config, nodes[-1] if nodes else None)
            if repeated:
                return False
        fresh = {id(first_site): site}  # nested calls get their own CallSite objects too
        copies = [_replicate(node, len(frame.calls), fresh, frame.calls) for node in produced]
        if isinstance(head, TypedLayer):
            copies[0].inplace = inplace
        nodes.extend(copies)
        self.expanded += leaves
        return True

    def _bind(self, block: BlockDef, statement: Command, frame: _Frame) -> dict[str, Value] | None:
        name = block.name.text
        words = statement.args
        params = block.params
        if len(words) != len(params):
            signature = f"{name}({', '.join(p.text for p in params)})"
            frame.report(
                "E0040",
                statement.span,
                f"block '{name}' takes {len(params)} argument{'s' if len(params) != 1 else ''}, but {len(words)} {'were' if len(words) != 1 else 'was'} given",
                label=f"expected {signature}",
                related=[(block.header, f"{signature} is defined here")],
                help=f"write it like: {name} " + " ".join(p.text.upper() for p in params) if params else f"write just: {name}",
            )
            return None
        bindings: dict[str, Value] = {}
        line = self.source.line_of(statement.span.start)
        ok = True
        for param, word in zip(params, words):
            if isinstance(word, KeywordArg) or word.stray:
                frame.report("E0013", word.span, "a block argument must be a number or a size", label="not a value")
                ok = False
                continue
            value = read_value(word.text, word.span, BLOCK_ARGUMENT, frame, f"the argument for '{param.text}'")
            if value is None:
                ok = False
                continue
            bindings[param.text] = Value(value.value, value.text, word.span, f"from '{_text(self.source, statement.span)}' at line {line}")
        return bindings if ok else None

    def size_of(self, statements, scope: dict, active: tuple, depth: int) -> int:
        """How many layers statements expand to, computed without expanding them."""
        if depth > MAX_DEPTH:
            return 0
        total = 0
        for statement in statements:
            if isinstance(statement, Command):
                name = statement.name.text
                block = self.blocks.get(name) if lookup(name) is None else None
                if block is None:
                    total += 1 + sum(1 for a in statement.args if isinstance(a, Word) and a.text in ACTIVATIONS)
                    continue
                if name in active or len(statement.args) != len(block.params):
                    continue
                values = []
                for word in statement.args:
                    if isinstance(word, KeywordArg):
                        break
                    bound = scope.get(word.text)
                    values.append(bound.value if bound is not None else word.text)
                else:
                    key = (name, tuple(values))
                    if key not in self._size_memo:
                        inner_scope = {p.text: Value(v, str(v), p.span) for p, v in zip(block.params, values)}
                        self._size_memo[key] = self.size_of(block.body.statements, inner_scope, (*active, name), depth + 1)
                    total += self._size_memo[key]
            elif isinstance(statement, Repeat):
                bound = scope.get(statement.count.text)
                count = bound.value if bound is not None else _int_or_zero(statement.count.text)
                if isinstance(count, int) and count > 0:
                    total += count * self.size_of(statement.body.statements, scope, active, depth + 1)
            elif isinstance(statement, Residual):
                total += self.size_of(statement.body.statements, scope, active, depth + 1)
                if statement.shortcut is not None:
                    total += self.size_of(statement.shortcut.statements, scope, active, depth + 1)
        return total


def _called_names(module: Module) -> set[str]:
    """Every statement name that appears anywhere (calls inside a block to itself excluded)."""
    names: set[str] = set()
    stack: list = [(statement, None) for statement in module.statements]
    while stack:  # iterative: bodies may nest thousands deep
        statement, owner = stack.pop()
        if isinstance(statement, Command):
            if statement.name.text != owner:
                names.add(statement.name.text)
        elif isinstance(statement, BlockDef):
            stack.extend((inner, statement.name.text) for inner in statement.body.statements)
        elif isinstance(statement, Residual):
            stack.extend((inner, owner) for inner in statement.body.statements)
            if statement.shortcut is not None:
                stack.extend((inner, owner) for inner in statement.shortcut.statements)
        elif isinstance(statement, (Repeat, Shortcut)):
            stack.extend((inner, owner) for inner in statement.body.statements)
    return names


def _replicate(node: Node, keep: int = 0, fresh: dict | None = None, prefix: tuple | None = None) -> Node:
    """An independent copy of a typed node (a residual's bodies copied too).

    Block calls made inside the copied pass (all but the first `keep` of a
    node's calls) get new CallSite objects, shared through `fresh` within one
    pass: one CallSite object is one expansion (the drawing frames by it).
    `fresh` may map a call to its replacement; `prefix` replaces the first
    `keep` calls (a block expansion copied into another caller).
    """
    fresh = {} if fresh is None else fresh
    calls = node.calls[:keep] if prefix is None else prefix
    for call in node.calls[keep:]:
        copy = fresh.get(id(call))
        if copy is None:
            copy = fresh[id(call)] = dataclasses.replace(call)
        calls += (copy,)
    # Field by field: dataclasses.replace costs a third of checking the layer again.
    copy = type(node)(*_FIELDS[type(node)](node))
    copy.calls = calls
    if isinstance(node, TypedResidual):
        copy.body = [_replicate(inner, keep, fresh, prefix) for inner in node.body]
        if node.shortcut is not None:
            copy.shortcut = [_replicate(inner, keep, fresh, prefix) for inner in node.shortcut]
    return copy


# Each typed node class -> a function giving its fields' values, in order.
_FIELDS = {
    cls: operator.attrgetter(*(field.name for field in dataclasses.fields(cls))) for cls in (TypedLayer, TypedResidual, TypedSkip)
}


def _follows(kind: LayerKind, config, previous: Node | None) -> tuple[bool, bool]:
    """A layer placed after `previous` (the node before it in its list): does it
    repeat that activation (W0003), and may it run in place?"""
    if not isinstance(previous, TypedLayer):
        return False, False
    repeated = kind.is_activation and previous.kind is kind and previous.config == config
    return repeated, kind.can_run_inplace(config) and previous.kind.inplace_after


def _leaf_count(node: Node) -> int:
    if isinstance(node, TypedResidual):
        return sum(_leaf_count(inner) for inner in node.body) + sum(_leaf_count(inner) for inner in node.shortcut or ())
    return 1


def _option_owner(word: str) -> str | None:
    """The first layer that takes `word` as an option or a flag (`s2`, `same`)."""
    return next((kind.name for kind in dict.fromkeys(BY_NAME.values()) if classify(kind, word).is_option_or_flag), None)


def _uses_parameters(args) -> bool:
    """Whether any argument (or the activation's) came from a block parameter."""
    if any(value.origin for value in args.values.values()):
        return True
    return args.activation is not None and any(value.origin for value in args.activation[1].values.values())


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


def _int_or_zero(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 19 else 0


def _text(source, span: Span) -> str:
    return " ".join(source.snippet(span).split())


def _difference(body: Shape, path: Shape, frame: _Frame) -> list[str] | None:
    """None when the two types are equal for every admissible size, else notes saying where not.

    Symbolic sizes are compared exactly, from the symbol's bound
    (symbolic.Axis.differs_from).
    """
    if body == path:
        return None
    if not (isinstance(body, MapType) and isinstance(path, MapType)) or body.channels != path.channels:
        return []
    notes = []
    for axis, a, b in (("height", body.height, path.height), ("width", body.width, path.width)):
        if isinstance(a, int) and isinstance(b, int):
            if a != b:
                notes.append(f"the {axis}s differ: {a} and {b}")
            continue
        symbolic = a if isinstance(a, Axis) else b
        other = b if symbolic is a else a
        try:
            value = symbolic.differs_from(other, frame.size_bound(symbolic.symbol), frame.size_modulus(symbolic.symbol))
        except TooLongToCompare as error:
            notes.append(
                f"the {axis}s {a} and {b} repeat their pattern only every {error.args[0]:,} values of {symbolic.symbol}, "
                "too many to compare exactly; cnnc treats them as different"
            )
            continue
        if value is not None:
            sizes = {name: value for name in frame.checker.bounds}
            notes.append(
                f"for {symbolic.symbol} = {value} the body's {axis} is {size_at(a, sizes)} and the other path's {size_at(b, sizes)}"
                + (
                    f" (they agree for {symbolic.symbol} = {frame.size_bound(symbolic.symbol)}: equal for some sizes, not for all)"
                    if value > frame.size_bound(symbolic.symbol)
                    else ""
                )
            )
    return notes or None


def _projection_help(shape: Shape, body: Shape, has_shortcut: bool) -> str | None:
    if not (isinstance(shape, MapType) and isinstance(body, MapType)):
        return None
    strides = []
    for size, out in ((shape.height, body.height), (shape.width, body.width)):
        if isinstance(size, Axis) and isinstance(out, Axis) and not size.tail and not out.tail and out.divisor % size.divisor == 0:
            strides.append(out.divisor // size.divisor)
        elif isinstance(size, int) and isinstance(out, int) and size % out == 0:
            strides.append(size // out)
        else:
            return None
    sh, sw = strides
    stride = f" s{sh}" if sh == sw and sh > 1 else (f" s{sh}x{sw}" if (sh, sw) != (1, 1) else "")
    projection = f"shortcut {{ conv {body.channels} k1{stride} nobias; bn }}"
    return ("replace the shortcut with a 1x1 projection: " if has_shortcut else "add a 1x1 projection shortcut: ") + projection


def _class_name(stem: str) -> str:
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


def check_module(module: Module, reporter: Reporter, default_name: str, sizes: dict[str, int] | None = None) -> TypedProgram:
    return Checker(module, reporter, default_name, sizes).check()
