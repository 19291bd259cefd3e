"""Syntax tree -> typed program: expands blocks and repeats, types every layer.

One pass over the statements, in order, carrying the current type. After an
error the type becomes unknown (None) and later layers are still read (their
own mistakes are reported) but not typed, so one mistake gives one error.

The checker walks the statements (a `Visitor`: one `visit_<Statement>` each)
and types layers; its collaborators each do one job: `Declarations` reads
the top level first (name, input, block definitions), `Blocks` binds and
expands block calls, `Budget` counts layers before expanding and limits
nesting, `Frame` is the scope statements are checked in. `Memos` (memos.py)
holds every cache of one check.
"""

from __future__ import annotations

from ..diagnostics.model import Reporter
from ..diagnostics.suggest import closest
from ..diagnostics.wording import show
from ..layers import COUNT, Args, LayerKind, all_kinds, classify, lookup, range_check, read_value
from ..syntax.nodes import BROKEN, STATEMENTS, BlockDef, Branch, Command, Module, Repeat, Residual, Shortcut, Structural
from ..syntax.source import Span
from ..syntax.visitor import Visitor
from ..types.shapes import MapType, Shape, describe
from ..types.symbolic import Axis, SizeSymbol, TooLongToCompare, size_at
from .blocks import Blocks, replicate
from .branches import Gates, Joins
from .budgets import Budget
from .declarations import STRUCTURE_WORDS, Declarations
from .fields import annotate, report_exceeding
from .frame import Frame, SymbolBound
from .admissible import on_admissible
from .memos import Memos, bounds_state
from .placements import Placements
from .skips import KEEP, Keeps, SizeFailures
from .skips import WORDS as SKIP_WORDS
from .typed import Node, TypedLayer, TypedProgram, TypedResidual, follows, walk

# A file cannot produce more diagnostics than this (the rest are counted).
MAX_DIAGNOSTICS = 500


class Checker(Visitor):
    """One check of one module: `check()` gives the typed program."""

    walks = STATEMENTS

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
        self.bounds: dict[str, SymbolBound] = {}
        self.reporter = reporter
        self.source = reporter.source
        self.default_name = default_name
        self.memos = Memos()
        definitions: dict[str, BlockDef] = {}  # the blocks by name: Blocks defines them, the budget reads them
        self.budget = Budget(definitions, self.memos.sizes)
        self.blocks = Blocks(self, definitions, self.budget, self.memos.expansions)
        self.joins = Joins(self)
        self.gates = Gates(self)
        self.dropped = 0  # diagnostics beyond MAX_DIAGNOSTICS
        self.seen: set = set()
        # Every report made, shown or not: a step that made none is pure, and is memoised.
        self.reports = 0
        self.syntax_errors = reporter.error_count
        # A layer with a placement rule was read: the expanded program is walked for it after checking.
        self.placed = False
        self.skip_failures = SizeFailures()  # skips.py: reported together, with one fix for all

    @property
    def full(self) -> bool:
        """MAX_DIAGNOSTICS are shown: later reports are only counted."""
        return len(self.reporter.diagnostics) >= MAX_DIAGNOSTICS

    def report(self, code, span, message, **details) -> None:
        self.reports += 1
        key = (code, span, message)
        if key in self.seen:
            return
        self.seen.add(key)
        if self.full:
            self.dropped += 1
            return
        self.reporter.report(code, span, message, **details)

    # -- the program ------------------------------------------------------
    def check(self) -> TypedProgram:
        name, input_type = Declarations(self).read()
        if not self.discovering and any(state.written is None for state in self.bounds.values()):
            # Unwritten bounds are the smallest sizes every layer accepts: find
            # them first, so that equality and warnings are decided from them.
            silent = Reporter(self.source)
            discovery = Checker(self.module, silent, self.default_name, discovering=True)
            discovery.memos.share(self.memos)
            discovery.check()
            for symbol, state in self.bounds.items():
                if state.written is None and symbol in discovery.bounds:
                    state.bound = state.value = discovery.bounds[symbol].bound
        top = Frame(self, {}, (), 0, ())
        nodes: list[Node] = []
        output = self.sequence(self.module.statements, input_type, top, nodes)
        if self.placed:
            Placements(self).check(nodes)
        self.blocks.check_unexpanded()
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
            join_constraint=self.skip_failures.constraint,
        )

    # -- statements: the checker walks them -------------------------------
    def sequence(self, statements, shape: Shape | None, frame: Frame, nodes: list[Node]) -> Shape | None:
        """Check statements in order from `shape`, appending their typed nodes; the type after them."""
        methods = self.methods  # visit(), without a call per statement
        keeps = None  # the maps kept in this body (skips.py)
        for statement in statements:
            if statement.__class__ is Command and statement.name.text in SKIP_WORDS:
                keeps = keeps or Keeps(self.skip_failures)
                if statement.name.text == KEEP:
                    shape = keeps.keep(statement, shape, frame, nodes)
                else:
                    shape = keeps.join(statement, shape, frame, nodes, self.source.line_of(statement.span.start), frame.calls)
                continue
            shape = methods[statement.__class__](self, statement, shape, frame, nodes)
        if keeps is not None:
            keeps.finish(frame)
        return shape

    def visit_BlockDef(self, statement: BlockDef, shape, frame: Frame, nodes: list[Node]):
        if frame.depth > 0 or frame.calls:
            frame.report(
                "E0024",
                statement.header,
                "blocks are defined at the top level, not inside other statements",
                label="nested block definition",
                help="move this block definition to the top level of the file",
            )
        return shape

    def visit_Shortcut(self, statement: Shortcut, shape, frame: Frame, nodes: list[Node]):
        frame.report(
            "E0024",
            statement.header,
            "shortcut must directly follow a residual { ... }",
            label="no residual before this",
            help="put it right after the closing brace of a residual",
        )
        return shape

    def visit_Concat(self, statement: Structural, shape, frame: Frame, nodes: list[Node]):
        return self.joins.join(statement, shape, frame, nodes)

    visit_Split = visit_Concat

    def visit_Gate(self, statement: Structural, shape, frame: Frame, nodes: list[Node]):
        return self.gates.gate(statement, shape, frame, nodes)

    def visit_Branch(self, statement: Branch, shape, frame: Frame, nodes: list[Node]):
        return self.gates.stray_branch(statement, shape, frame)

    def visit_Command(self, statement: Command, shape, frame: Frame, nodes: list[Node]):
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
            if kind.checks_placement:
                self.placed = True
            frame.layer_name = name
            try:
                return self.layer(kind, statement, shape, frame, nodes)
            finally:
                frame.layer_name = None
        block = self.blocks.definitions.get(name)
        if block is not None:
            return self.blocks.call(block, statement, shape, frame, nodes)
        if name in self.blocks.broken:  # its definition is already reported
            return None
        what = "layer or block" if self.blocks.definitions else "layer"
        if self.full:  # not shown: the wording (a did-you-mean search) would be wasted
            message, help_text = f"unknown {what}", None
        else:
            message, help_text = _unknown_name(name, what, list(self.blocks.definitions))
        frame.report("E0010", statement.name.span, message, label=f"unknown {what}", help=help_text)
        return None

    def layer(self, kind: LayerKind, statement: Command, shape, frame: Frame, nodes: list[Node]):
        if statement.bounds:
            frame.report("E0011", statement.bounds[0].span, f"{kind.name} takes no 'where' clause", label="unexpected")
            return None
        start = statement.span.start
        # Reading is a function of the text and the values of the parameters it
        # names; a read that reported nothing is reused by every later
        # expansion and by every statement written the same way.
        memos = self.memos
        key = None if frame.light else (
            kind,
            self.source.text[start : statement.span.end],
            memos.named_values(statement, frame.scope) if frame.scope else (),
        )
        known = memos.configs.get(key) if key is not None else None
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
                memos.configs[key] = (
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
        budget, memos = self.budget, self.memos
        if budget.expanded >= budget.limit:
            budget.report_full(statement.span, frame)
            return None
        # An inference is a function of the kind, configuration and input (and,
        # for a symbolic input, of the symbols' bounds); one that reported
        # nothing, and moved no bound, is reused.
        state = bounds_state(self.bounds) if shape.symbolic else None
        key = (kind, config, shape, state)
        inference = memos.inferences.get(key)
        if inference is None:
            reports = self.reports
            inference = kind.infer(config, shape, frame, span)
            if inference is None:
                return None
            if state is not None and self.residues and isinstance(inference.output, MapType) and inference.output.symbolic:
                inference = on_admissible(inference, self.bounds)
            if self.reports == reports and (state is None or bounds_state(self.bounds) == state):
                memos.inferences[key] = inference
        previous = nodes[-1] if nodes else None
        repeated, inplace = follows(kind, config, previous)
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
                explanation=inference.arithmetic,
                span=span,
                statement=statement.span,
                line=self.source.line_of(statement.span.start),
                calls=frame.calls,
                inplace=inplace,
            )
        )
        budget.expanded += 1
        return inference.output

    @property
    def residues(self) -> bool:
        """Whether a symbol has a residue constraint (`where H % 16 == 0`)."""
        return any(state.modulus > 1 for state in self.bounds.values())

    def visit_Repeat(self, statement: Repeat, shape, frame: Frame, nodes: list[Node]):
        if self.budget.too_deep(statement.header, frame, "repeat"):
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
        estimate = count.value * self.budget.size_of(statement.body.statements, frame.scope, frame.active, 0)
        if not self.budget.fits(estimate, statement.header, frame, f"repeat {count.text}"):
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
                    nodes.extend(replicate(node, len(frame.calls), fresh) for node in produced)
                self.budget.expanded += remaining * len(walk(produced))
                break
        return shape

    def visit_Residual(self, statement: Residual, shape, frame: Frame, nodes: list[Node]):
        if self.budget.too_deep(statement.header, frame, "residual"):
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


def _unknown_name(name: str, what: str, blocks: list[str]) -> tuple[str, str]:
    """E0010's message and help for a statement that starts with `name`."""
    if name[:1].isdigit() or name[:1] in "+-.":
        return f"a statement starts with a layer name, found '{show(name)}'", f"did you forget the layer name, like 'conv {show(name)} k3'?"
    match = closest(name, [word for kind in all_kinds() for word in kind.names] + blocks + list(STRUCTURE_WORDS))
    if match:
        return f"unknown {what} '{show(name)}'", f"did you mean '{match}'?"
    owner = _option_owner(name)
    if owner is not None:
        return f"'{name}' is an option of {owner}, not a statement", f"put it on the same line as its layer, like: {owner} ... {name}"
    layers = ", ".join(kind.name for kind in all_kinds() if not kind.is_activation)
    return f"unknown {what} '{show(name)}'", f"the layers are {layers} and the activations (relu, gelu, ...)"


def _option_owner(word: str) -> str | None:
    """The first layer that takes `word` as an option or a flag (`s2`, `same`)."""
    return next((kind.name for kind in all_kinds() if classify(kind, word).is_option_or_flag), None)


def _uses_parameters(args) -> bool:
    """Whether any argument (or the activation's) came from a block parameter."""
    if any(value.origin for value in args.values.values()):
        return True
    return args.activation is not None and any(value.origin for value in args.activation[1].values.values())


def _difference(body: Shape, path: Shape, frame: Frame) -> list[str] | None:
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


def check_module(module: Module, reporter: Reporter, default_name: str, sizes: dict[str, int] | None = None) -> TypedProgram:
    checker = Checker(module, reporter, default_name, sizes)
    program = checker.check()
    # The receptive fields depend on each layer's path: computed once every layer is typed.
    exceeding = annotate(program)
    if exceeding is not None and program.ok:
        node, field = exceeding
        report_exceeding(Frame(checker, {}, node.calls, 0, ()), program, node, field)  # with the call chain
        program.diagnostics = reporter.sorted()
    return program
