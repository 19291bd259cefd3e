"""One analysed version of a document, indexed for the editor features.

`Document` holds the text, its `LineIndex`, the typed program (the same
`check` the command line runs) and the syntax tree it came from, and builds
on first use what the features look things up in: every command with the
block it is in, the block definitions, the residuals, and the typed layers
of each statement and block call. Nothing here computes a type.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..check.typed import NODES, CallSite, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual
from ..layers import lookup
from ..syntax.nodes import STATEMENTS, Arg, BlockDef, Command, KeywordArg, Module, Residual, Structural
from ..syntax.source import Span
from ..syntax.visitor import Visitor, children
from ..types.symbolic import bounds_text
from .positions import UTF16, LineIndex

MAX_WALK_DEPTH = 200  # deeper nesting is an error anyway (E0062); stop walking there


@dataclass(frozen=True, slots=True)
class Statement:
    """A command in the syntax tree, with the block definition it stands in."""

    command: Command
    block: BlockDef | None
    depth: int


class Document:
    """One version of a document, checked once and queried by every feature."""

    def __init__(self, text: str, filename: str = "<string>", encoding: str = UTF16, parse_cache=None) -> None:
        """`parse_cache`: the document's `cnndsl.syntax.ParseCache`, kept across versions."""
        from ..compiler import check_program

        self.text = text
        self.filename = filename
        self.index = LineIndex(text, encoding)
        # A byte-order mark is not part of the program; a space keeps every offset.
        checked = " " + text[1:] if text.startswith("\ufeff") else text
        # The one pipeline; the typed program keeps the syntax tree it came from.
        self.program: TypedProgram = check_program(checked, filename, parse_cache=parse_cache)
        self.module: Module = self.program.syntax or Module(())
        # The flattened syntax tree (statements, blocks, residuals) is built on
        # first use: publishing diagnostics after an edit does not need it.
        self._flat: _Flatten | None = None
        self._statement_layers: dict[Span, list[TypedLayer]] | None = None
        self._call_layers: dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]] | None = None
        self._typed_structures: dict[int, list] | None = None
        self._smallest: tuple[tuple[int, int], dict[str, int]] | None | bool = False

    # -- the syntax tree, flattened ------------------------------------------
    @property
    def _flattened(self) -> _Flatten:
        if self._flat is None:
            self._flat = _Flatten(self.module.statements)
        return self._flat

    @property
    def statements(self) -> list[Statement]:
        """Every command, in source order, with its block and depth."""
        return self._flattened.commands

    @property
    def blocks(self) -> dict[str, BlockDef]:
        """The top-level block definitions by name (the first of each name)."""
        return self._flattened.blocks

    @property
    def residuals(self) -> list[tuple[Residual, BlockDef | None]]:
        return self._flattened.residuals

    @property
    def structures(self) -> list[tuple[Structural, BlockDef | None]]:
        """Every concat, split, branch and gate, with the block it is in."""
        return self._flattened.structures

    def statement_at(self, offset: int) -> Statement | None:
        """The innermost command whose text holds the offset (end inclusive)."""
        best = None
        for statement in self.statements:
            span = statement.command.span
            if span.start <= offset <= span.end and (best is None or span.start >= best.command.span.start):
                best = statement
        return best

    def block_at(self, offset: int) -> BlockDef | None:
        for block in self.blocks.values():
            if block.body.span.start < offset < block.body.span.end:
                return block
        return None

    # -- the typed program, indexed --------------------------------------------
    @property
    def statement_layers(self) -> dict[Span, list[TypedLayer]]:
        if self._statement_layers is None:
            table: dict[Span, list[TypedLayer]] = {}
            calls: dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]] = {}
            for layer in self.program.layers:
                table.setdefault(layer.statement, []).append(layer)
                for site in layer.calls:
                    entry = calls.setdefault(site.span, {}).setdefault(id(site), (site, []))
                    entry[1].append(layer)
            self._statement_layers = table
            self._call_layers = calls
        return self._statement_layers

    @property
    def call_layers(self) -> dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]]:
        self.statement_layers  # noqa: B018 - builds both tables
        assert self._call_layers is not None
        return self._call_layers

    def layer_instances(self, command: Command) -> list[list[TypedLayer]]:
        """The typed layers of a layer statement, one list per time it was typed.

        A statement inside a block called three times, or inside `repeat 3`,
        is typed three times. An instance starts at the statement's own layer
        (its span is the whole statement); an activation suffix follows it.
        """
        instances: list[list[TypedLayer]] = []
        for layer in self.statement_layers.get(command.span, ()):
            if layer.span == layer.statement or not instances:
                instances.append([layer])
            else:
                instances[-1].append(layer)
        return instances

    def call_instances(self, command: Command) -> list[tuple[CallSite, list[TypedLayer]]]:
        """The layers each expansion of a block call produced."""
        return list(self.call_layers.get(command.span, {}).values())

    def instances(self, command: Command) -> list[list[TypedLayer]]:
        if command.name.text in self.blocks and lookup(command.name.text) is None:
            return [layers for _, layers in self.call_instances(command)]
        return self.layer_instances(command)

    @property
    def typed_structures(self) -> dict[int, list]:
        """The typed residuals, joins, branches and gates by the offset of their
        statement (one per expansion)."""
        if self._typed_structures is None:
            self._typed_structures = _TypedStructures(self.program.nodes).found
        return self._typed_structures

    @property
    def smallest(self) -> tuple[tuple[int, int], dict[str, int]] | None:
        """A symbolic program's smallest admissible input (height, width) and its symbols' values.

        None for a fixed-size program, and when a size can reach 0 (E0071):
        numbers at that size would mean nothing.
        """
        if self._smallest is False:
            self._smallest = None
            program = self.program
            if program.symbolic and program.input is not None and not any(d.code == "E0071" for d in program.diagnostics):
                try:
                    size = program.smallest_size()
                    self._smallest = (size, program.sizes_for(*size))
                except (ValueError, KeyError):
                    pass
        return self._smallest  # type: ignore[return-value]

    def bounds_text(self) -> str:
        """`H >= 32, W >= 3`: every size symbol's bound (written, or computed)."""
        return bounds_text(self.program.symbols.values())

    def snippet(self, span: Span) -> str:
        """The text of a span on one line: `conv 8 k3`."""
        return " ".join(self.text[span.start : span.end].split())


def block_params(block: BlockDef | None) -> list[str]:
    """The names a word may stand for in a block body: its parameters."""
    return [p.text for p in block.params] if block is not None else []


def argument_text(arg: Arg) -> str:
    """An argument as written, on one line: `k3`, `kernel=3`."""
    return f"{arg.key.text}={arg.value.text}" if isinstance(arg, KeywordArg) else arg.text


class _Flatten(Visitor):
    """Every command, block and residual, with the block each is in and how deep.

    Without recursion (a stack of bodies): bodies may nest thousands deep.
    """

    walks = STATEMENTS

    def __init__(self, statements) -> None:
        self.commands: list[Statement] = []
        self.blocks: dict[str, BlockDef] = {}
        self.residuals: list[tuple[Residual, BlockDef | None]] = []
        self.structures: list[tuple[Structural, BlockDef | None]] = []
        self.pending: list[tuple[tuple, BlockDef | None, int]] = [(tuple(statements), None, 0)]
        while self.pending:
            group, block, depth = self.pending.pop()
            if depth > MAX_WALK_DEPTH:
                continue
            for statement in group:
                self.visit(statement, block, depth)
        self.commands.sort(key=lambda s: s.command.span.start)

    def visit_Command(self, statement: Command, block: BlockDef | None, depth: int) -> None:
        self.commands.append(Statement(statement, block, depth))

    def visit_BlockDef(self, statement: BlockDef, block: BlockDef | None, depth: int) -> None:
        if depth == 0:
            self.blocks.setdefault(statement.name.text, statement)
        self.descend(statement, statement, depth)

    def visit_Residual(self, statement: Residual, block: BlockDef | None, depth: int) -> None:
        self.residuals.append((statement, block))
        self.descend(statement, block, depth)

    def descend(self, statement, block: BlockDef | None, depth: int) -> None:
        """Walk the statement's bodies later, one level deeper."""
        for name in type(statement).children:
            body = getattr(statement, name)
            if body is not None:
                self.pending.append((body.statements, block, depth + 1))

    visit_Repeat = visit_Shortcut = descend

    def visit_Structural(self, statement: Structural, block: BlockDef | None, depth: int) -> None:
        self.structures.append((statement, block))
        self.descend(statement, block, depth)

    visit_Concat = visit_Split = visit_Branch = visit_Gate = visit_Structural


class _TypedStructures(Visitor):
    """The typed residuals, joins, branches and gates by the offset of their statement (one per expansion)."""

    walks = NODES

    def __init__(self, nodes) -> None:
        self.found: dict[int, list] = {}
        self.stack = [iter(nodes)]
        while self.stack:
            node = next(self.stack[-1], None)
            if node is None:
                self.stack.pop()
                continue
            self.visit(node)

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        pass

    def visit_TypedResidual(self, node: TypedResidual | TypedConcat | TypedBranch | TypedGate) -> None:
        self.found.setdefault(node.span.start, []).append(node)
        if len(self.stack) < MAX_WALK_DEPTH:
            self.stack.append(children(node))

    visit_TypedConcat = visit_TypedBranch = visit_TypedGate = visit_TypedResidual

    def visit_TypedSkip(self, node) -> None:
        """Not a residual statement: only its body's residuals are found."""
        if len(self.stack) < MAX_WALK_DEPTH:
            self.stack.append(children(node))
