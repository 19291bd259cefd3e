"""Blocks: definitions, calls, argument binding, expansion, and copies of expansions.

A call binds the block's parameters to its arguments' values and checks the
body in a frame of its own (the call chain grows by one `CallSite`). A call
with the same argument values, concrete input type and nesting as an earlier
expansion that reported nothing copies that expansion's typed nodes: new
call sites for the call and every call nested in it, the caller's chain
before them. A block that no call expands is still read, without argument
values, for the mistakes that do not depend on them.
"""

from __future__ import annotations

import operator

from ..layers import is_layer_name
from ..layers.values import Expect, Value, read_value
from ..syntax.nodes import STATEMENTS, BlockDef, Command, KeywordArg, Module
from ..syntax.source import Span
from ..syntax.visitor import Visitor, children
from ..types.shapes import Shape
from .budgets import Budget
from .declarations import STRUCTURE_WORDS, valid_name
from .frame import Frame
from .memos import bounds_state
from .typed import NODES, CallSite, Node, TypedLayer, follows

BLOCK_ARGUMENT = Expect("a number or a size", "64 or 3x5", size=True, decimal=True)


class Blocks:
    """The program's blocks, and what the checker does with a call to one."""

    def __init__(self, checker, definitions: dict[str, BlockDef], budget: Budget, expansions: dict) -> None:
        self.checker = checker  # its `sequence` checks a body; its `reports` counts reports
        self.source = checker.source
        self.report = checker.report
        self.definitions = definitions  # the valid blocks by name (the budget reads them too)
        self.budget = budget
        # Blocks whose definition was rejected: calls to them are not reported again.
        self.broken: set[str] = set()
        self.expanded: set[str] = set()  # blocks checked with argument values
        # A call (block, argument values, input, depth, blocks being expanded,
        # the symbols' bounds for a symbolic input) -> its first expansion that
        # reported nothing: (its CallSite, typed nodes, output, leaf layers). The checker's memo.
        self.expansions = expansions
        # A call statement (by id) -> its text on one line: said by its call site and its
        # arguments' origins, for every expansion of the block it stands in.
        self.texts: dict[int, str] = {}

    def define(self, block: BlockDef) -> None:
        name = block.name.text
        if not valid_name(block.name, "block name", self.report):
            self.broken.add(name)
            for param in block.params:  # report its bad parameter names too
                valid_name(param, "parameter name", self.report)
            return
        if is_layer_name(name) or name in STRUCTURE_WORDS:
            self.report(
                "E0043",
                block.name.span,
                f"a block cannot be called '{name}': that is the name of a {'layer' if is_layer_name(name) else 'statement'}",
                label="name taken",
                help=f"choose another name, like {name}_block",
            )
            return
        if name in self.definitions:
            self.report(
                "E0043",
                block.name.span,
                f"the block '{name}' is defined twice",
                label="second definition",
                related=[(self.definitions[name].header, "first defined here")],
                help="rename one of them",
            )
            return
        seen: dict[str, Span] = {}
        ok = True
        for param in block.params:
            if not valid_name(param, "parameter name", self.report):
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
            self.broken.add(name)
            return
        self.definitions[name] = block

    def call(self, block: BlockDef, statement: Command, shape: Shape | None, frame: Frame, nodes: list[Node]) -> Shape | None:
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
        if self.budget.too_deep(statement.span, frame, "block calls"):
            return None
        bindings = self.bind(block, statement, frame)
        if bindings is None or frame.light:
            return None
        self.expanded.add(name)
        estimate = self.budget.size_of(block.body.statements, bindings, (*frame.active, name), 0)
        if not self.budget.fits(estimate, statement.span, frame, f"'{self.text(statement)}'"):
            return None
        site = CallSite(
            name,
            self.text(statement),
            statement.span,
            self.source.line_of(statement.span.start),
            tuple(value.value for value in bindings.values()),
        )
        # An expansion is a function of the block, its arguments' values, the
        # input (and, for a symbolic one, the symbols' bounds) and the nesting
        # (depth, blocks being expanded); one that reported nothing, and moved
        # no bound, is copied by later calls.
        key = state = None
        if shape is not None:
            state = bounds_state(self.checker.bounds) if shape.symbolic else None
            values = tuple([(type(value.value), value.value) for value in bindings.values()])
            key = (name, values, shape, frame.depth, frame.active, state)
            known = self.expansions.get(key)
            if known is not None and self.copy_expansion(known, site, frame, nodes):
                return known[2]
        inner = Frame(self.checker, bindings, (*frame.calls, site), frame.depth, (*frame.active, name))
        start, reports, expanded = len(nodes), self.checker.reports, self.budget.expanded
        output = self.checker.sequence(block.body.statements, shape, inner, nodes)
        if (
            key is not None and output is not None and self.checker.reports == reports and key not in self.expansions
            and (state is None or bounds_state(self.checker.bounds) == state)
        ):
            self.expansions[key] = (site, nodes[start:], output, self.budget.expanded - expanded)
        return output

    def copy_expansion(self, known, site: CallSite, frame: Frame, nodes: list[Node]) -> bool:
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
            repeated, inplace = follows(head.kind, head.config, nodes[-1] if nodes else None)
            if repeated:
                return False
        fresh = {id(first_site): site}  # nested calls get their own CallSite objects too
        copies = [replicate(node, len(frame.calls), fresh, frame.calls) for node in produced]
        if isinstance(head, TypedLayer):
            copies[0].inplace = inplace
        nodes.extend(copies)
        self.budget.expanded += leaves
        return True

    def text(self, statement: Command) -> str:
        """A call statement's text on one line (`vgg 512 2`)."""
        text = self.texts.get(id(statement))
        if text is None:
            text = self.texts[id(statement)] = _text(self.source, statement.span)
        return text

    def bind(self, block: BlockDef, statement: Command, frame: Frame) -> dict[str, Value] | None:
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
        origin = f"from '{self.text(statement)}' at line {self.source.line_of(statement.span.start)}"
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
            bindings[param.text] = Value(value.value, value.text, word.span, origin)
        return bindings if ok else None

    def check_unexpanded(self) -> None:
        """Check blocks that were never expanded, and warn about unused ones.

        A block that no call expands is still read, without argument values:
        unknown layers, options and names, wrong argument counts and literal
        values out of range are reported (W0004 says it is unused).
        """
        for name, block in self.definitions.items():
            if name in self.expanded:
                continue
            scope = {p.text: Value(1, p.text, p.span) for p in block.params}
            frame = Frame(self.checker, scope, (), 0, (name,), light=True)
            self.checker.sequence(block.body.statements, None, frame, [])
        if self.checker.syntax_errors:  # a dropped statement may have been the call
            return
        called = called_names(self.checker.module)
        for name, block in self.definitions.items():
            if name not in called:
                self.report(
                    "W0004",
                    block.name.span,
                    f"block '{name}' is defined but never used",
                    label="never called",
                    notes=["its body was checked only for mistakes that do not depend on its arguments"],
                    help=f"call it, like: {name}" + "".join(f" {p.text.upper()}" for p in block.params) + ", or remove it",
                )


class _CalledNames(Visitor):
    """Every statement name that appears anywhere (calls inside a block to itself excluded).

    Iterative: bodies may nest thousands deep.
    """

    walks = STATEMENTS

    def __init__(self, module: Module) -> None:
        self.names: set[str] = set()
        self.pending: list = [(statement, None) for statement in module.statements]
        while self.pending:
            self.visit(*self.pending.pop())

    def visit_Command(self, statement: Command, owner: str | None) -> None:
        if statement.name.text != owner:
            self.names.add(statement.name.text)

    def visit_BlockDef(self, statement: BlockDef, owner: str | None) -> None:
        self.pending.extend((inner, statement.name.text) for inner in children(statement))

    def visit_Repeat(self, statement, owner: str | None) -> None:
        self.pending.extend((inner, owner) for inner in children(statement))

    visit_Residual = visit_Shortcut = visit_Concat = visit_Split = visit_Branch = visit_Gate = visit_Repeat


def called_names(module: Module) -> set[str]:
    return _CalledNames(module).names


def replicate(node: Node, keep: int = 0, fresh: dict | None = None, prefix: tuple | None = None) -> Node:
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
            copy = fresh[id(call)] = call.replace()
        calls += (copy,)
    # Field by field: a generic replace costs a third of checking the layer again.
    copy = type(node)(*_FIELDS[type(node)](node))
    copy.calls = calls
    for name in type(node).children:  # a residual's body and shortcut
        inner = getattr(node, name)
        if inner is not None:
            setattr(copy, name, [replicate(child, keep, fresh, prefix) for child in inner])
    return copy


# Each typed node class -> a function giving its fields' values, in order.
_FIELDS = {cls: operator.attrgetter(*cls._fields) for cls in NODES}


def _text(source, span: Span) -> str:
    return " ".join(source.snippet(span).split())

