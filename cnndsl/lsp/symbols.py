"""Document symbols: the outline of blocks, repeats, residuals and layers."""

from __future__ import annotations

from lsprotocol import types

from ..layers import lookup
from ..syntax.nodes import STATEMENTS, BlockDef, Body, Command, Repeat, Residual, Shortcut, Structural
from ..syntax.source import Span
from ..syntax.visitor import Visitor
from . import branches
from .document import MAX_WALK_DEPTH, Document


def outline(doc: Document) -> list[types.DocumentSymbol]:
    """The network (a class) with its statements, and each block (a function) with its own."""
    top: list[types.DocumentSymbol] = []
    network_children: list[types.DocumentSymbol] = []
    network_span: Span | None = None
    name_span: Span | None = None
    symbols = _Outline(doc)
    for statement in doc.module.statements:
        if isinstance(statement, BlockDef):
            symbol = symbols.symbol(statement, 0)
            if symbol is not None:
                top.append(symbol)
            continue
        network_span = statement.span if network_span is None else network_span.cover(statement.span)
        if isinstance(statement, Command) and statement.name.text == "network":
            name_span = statement.span
            continue
        symbol = symbols.symbol(statement, 0)
        if symbol is not None:
            network_children.append(symbol)
    if network_span is not None:
        program = doc.program
        detail = f"{program.input} -> {program.output}" if program.input and program.output else ""
        if program.output is not None:
            detail += f", {program.total_params:,} params"
        selection = name_span or network_span
        top.append(
            types.DocumentSymbol(
                name=program.name,
                kind=types.SymbolKind.Class,
                detail=detail or None,
                range=doc.index.range(network_span.start, network_span.end),
                selection_range=doc.index.range(selection.start, selection.end),
                children=network_children,
            )
        )
    top.sort(key=lambda s: (s.range.start.line, s.range.start.character))
    return top


class _Outline(Visitor):
    """A statement's symbol, with its children; None for what the outline leaves out."""

    walks = STATEMENTS

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.range = doc.index.range

    def symbol(self, statement, depth: int) -> types.DocumentSymbol | None:
        if depth > MAX_WALK_DEPTH:
            return None
        return self.visit(statement, depth)

    def children(self, body: Body, depth: int) -> list[types.DocumentSymbol]:
        found = []
        for statement in body.statements:
            symbol = self.symbol(statement, depth + 1)
            if symbol is not None:
                found.append(symbol)
        return found

    def visit_BlockDef(self, statement: BlockDef, depth: int) -> types.DocumentSymbol:
        r = self.range
        return types.DocumentSymbol(
            name=statement.name.text,
            kind=types.SymbolKind.Function,
            detail=f"block ({', '.join(p.text for p in statement.params)})",
            range=r(statement.span.start, statement.span.end),
            selection_range=r(statement.name.span.start, statement.name.span.end),
            children=self.children(statement.body, depth),
        )

    def visit_Repeat(self, statement: Repeat, depth: int) -> types.DocumentSymbol:
        r = self.range
        return types.DocumentSymbol(
            name=f"repeat {statement.count.text}",
            kind=types.SymbolKind.Array,
            range=r(statement.span.start, statement.span.end),
            selection_range=r(statement.header.start, statement.header.end),
            children=self.children(statement.body, depth),
        )

    def visit_Residual(self, statement: Residual, depth: int) -> types.DocumentSymbol:
        r = self.range
        typed = self.doc.typed_structures.get(statement.span.start, [])
        children = self.children(statement.body, depth)
        if statement.shortcut is not None:
            shortcut = statement.shortcut
            children.append(
                types.DocumentSymbol(
                    name="shortcut",
                    kind=types.SymbolKind.Namespace,
                    range=r(shortcut.span.start, shortcut.span.end),
                    selection_range=r(shortcut.span.start, shortcut.span.start + 1),
                    children=self.children(shortcut, depth),
                )
            )
        return types.DocumentSymbol(
            name="residual",
            kind=types.SymbolKind.Namespace,
            detail=f"{typed[0].input} -> {typed[0].output}" if len(typed) == 1 else None,
            range=r(statement.span.start, statement.span.end),
            selection_range=r(statement.header.start, statement.header.end),
            children=children,
        )

    def visit_Structural(self, statement: Structural, depth: int) -> types.DocumentSymbol:
        r = self.range
        return types.DocumentSymbol(
            name=statement.keyword,
            kind=types.SymbolKind.Namespace,
            detail=branches.symbol_detail(self.doc, statement),
            range=r(statement.span.start, statement.span.end),
            selection_range=r(statement.header.start, statement.header.end),
            children=self.children(statement.body, depth),
        )

    visit_Concat = visit_Split = visit_Branch = visit_Gate = visit_Structural

    def visit_Shortcut(self, statement: Shortcut, depth: int) -> None:
        return None  # a shortcut without its residual: an error, not part of the outline

    def visit_Command(self, statement: Command, depth: int) -> types.DocumentSymbol | None:
        doc = self.doc
        name = statement.name.text
        is_call = name in doc.blocks and lookup(name) is None
        if name == "input":
            kind = types.SymbolKind.Variable
        elif is_call:
            kind = types.SymbolKind.Method
        elif lookup(name) is not None:
            kind = types.SymbolKind.Field
        else:
            return None
        instances = doc.instances(statement) if name != "input" else []
        outputs = {str(inst[-1].output) for inst in instances}
        detail = f"-> {outputs.pop()}" if len(outputs) == 1 else None
        if name == "input" and doc.program.symbols:
            detail = doc.bounds_text()
        r = self.range
        return types.DocumentSymbol(
            name=doc.snippet(statement.span),
            kind=kind,
            detail=detail,
            range=r(statement.span.start, statement.span.end),
            selection_range=r(statement.name.span.start, statement.name.span.end),
        )
