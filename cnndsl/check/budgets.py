"""How much a program may expand to, decided before it is expanded.

Before a `repeat` or a block call is expanded, the number of leaf layers it
would produce is computed from the syntax tree (memoised per block and
arguments), so `repeat 1000000000` costs nothing and is reported (E0060).
Nesting deeper than MAX_DEPTH is reported too (E0062).
"""

from __future__ import annotations

from ..layers import activation_names, lookup
from ..layers.values import Value
from ..syntax.nodes import STATEMENTS, BlockDef, Command, KeywordArg, Repeat, Residual, Shortcut, Structural, Word
from ..syntax.source import Span
from ..syntax.visitor import Visitor, children
from .frame import Frame

# Checking costs tens of microseconds per layer; real networks have hundreds
# to a few thousand leaf layers.
MAX_LAYERS = 100_000
MAX_DEPTH = 64


class Budget(Visitor):
    """The layers expanded so far against MAX_LAYERS, and the nesting limit.

    As a walker it counts the leaf layers statements expand to, without
    expanding them: `visit` returns a count.
    """

    walks = STATEMENTS

    def __init__(self, blocks: dict[str, BlockDef], sizes: dict) -> None:
        self.blocks = blocks  # the program's block definitions, by name
        self.sizes = sizes  # (block, argument values) -> layer count: the checker's memo
        self.expanded = 0  # leaf layers produced so far
        # A statement that is no block call (by id) -> its layers (itself and an activation
        # word): counted once, not once per estimate of every block and repeat around it.
        self.leaves: dict[int, int] = {}
        self.limit = MAX_LAYERS

    def size_of(self, statements, scope: dict, active: tuple, depth: int) -> int:
        """How many layers statements expand to, computed without expanding them."""
        if depth > MAX_DEPTH:
            return 0
        methods = self.methods
        total = 0
        for statement in statements:
            total += methods[statement.__class__](self, statement, scope, active, depth)
        return total

    def visit_Command(self, statement: Command, scope: dict, active: tuple, depth: int) -> int:
        count = self.leaves.get(id(statement))
        if count is not None:
            return count
        name = statement.name.text
        block = self.blocks.get(name) if lookup(name) is None else None
        if block is None:
            count = self.leaves[id(statement)] = 1 + sum(1 for a in statement.args if isinstance(a, Word) and a.text in activation_names())
            return count
        if name in active or len(statement.args) != len(block.params):
            return 0
        values = []
        for word in statement.args:
            if isinstance(word, KeywordArg):
                return 0
            bound = scope.get(word.text)
            values.append(bound.value if bound is not None else word.text)
        key = (name, tuple(values))
        if key not in self.sizes:
            inner_scope = {p.text: Value(v, str(v), p.span) for p, v in zip(block.params, values)}
            self.sizes[key] = self.size_of(block.body.statements, inner_scope, (*active, name), depth + 1)
        return self.sizes[key]

    def visit_Repeat(self, statement: Repeat, scope: dict, active: tuple, depth: int) -> int:
        bound = scope.get(statement.count.text)
        count = bound.value if bound is not None else _int_or_zero(statement.count.text)
        if isinstance(count, int) and count > 0:
            return count * self.size_of(statement.body.statements, scope, active, depth + 1)
        return 0

    def visit_Residual(self, statement: Residual, scope: dict, active: tuple, depth: int) -> int:
        return self.size_of(children(statement), scope, active, depth + 1)  # the body and the shortcut

    def visit_Structural(self, statement: Structural, scope: dict, active: tuple, depth: int) -> int:
        return self.size_of(statement.body.statements, scope, active, depth + 1)  # a concat's branches, a gate's body

    visit_Concat = visit_Split = visit_Branch = visit_Gate = visit_Structural

    def visit_BlockDef(self, statement: BlockDef, scope: dict, active: tuple, depth: int) -> int:
        return 0  # its layers count where it is called

    def visit_Shortcut(self, statement: Shortcut, scope: dict, active: tuple, depth: int) -> int:
        return 0  # without a residual before it, it is an error and never expanded

    # -- the limits --------------------------------------------------------
    def too_deep(self, span: Span, frame: Frame, what: str) -> bool:
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

    def fits(self, estimate: int, span: Span, frame: Frame, what: str) -> bool:
        if self.expanded + estimate <= self.limit:
            return True
        frame.report(
            "E0060",
            span,
            f"{what} expands to {estimate:,} layers; the limit is {self.limit:,} for the whole program",
            label="too many layers",
            help="lower the repeat count; the layer count is checked before anything is expanded",
        )
        return False

    def report_full(self, span: Span, frame: Frame) -> None:
        """The program already has `limit` layers (the estimate before each
        repeat and call should prevent this)."""
        self.fits(self.limit + 1, span, frame, "the program")


def _int_or_zero(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 19 else 0
