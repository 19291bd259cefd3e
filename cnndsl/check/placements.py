"""The layers' placement rules (`LayerKind.check_placement`), on the expanded program.

Whether a layer stands where it makes sense depends on the structure around
it once blocks and repeats are expanded: `stochdepth` at the end of a block
body is right when the block is called as the last statement of a residual
body. So the rule is applied to the typed nodes, after checking: each layer
learns whether it is the last of a residual's body.
"""

from __future__ import annotations

from ..syntax.visitor import Visitor
from .frame import Frame
from .typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedResidual, TypedSkip


class Placements(Visitor):
    """Visits the typed nodes with `at_residual_end`; reports through the checker."""

    walks = NODES

    def __init__(self, checker) -> None:
        self.checker = checker

    def check(self, nodes: list[Node], residual_body: bool = False) -> None:
        last = len(nodes) - 1
        for index, node in enumerate(nodes):
            self.visit(node, residual_body and index == last)

    def visit_TypedLayer(self, node: TypedLayer, at_residual_end: bool) -> None:
        if node.kind.checks_placement:
            site = Frame(self.checker, {}, node.calls, 0, ())  # reports carry the layer's call chain
            written = self.checker.source.text[node.span.start : node.span.end].split(None, 1)
            site.layer_name = written[0] if written else None  # `droppath` as written, for messages
            node.kind.check_placement(node.config, at_residual_end, site, node.span)

    def visit_TypedResidual(self, node: TypedResidual, at_residual_end: bool) -> None:
        self.check(node.body, residual_body=True)
        if node.shortcut is not None:
            self.check(node.shortcut)

    # A branch's or a gate's body is no residual body: stochastic depth there
    # would drop the branch's part of the join, not skip a block.
    def visit_TypedConcat(self, node: TypedConcat, at_residual_end: bool) -> None:
        for branch in node.branches:
            self.visit(branch, False)

    def visit_TypedBranch(self, node: TypedBranch, at_residual_end: bool) -> None:
        self.check(node.body)

    def visit_TypedGate(self, node: TypedGate, at_residual_end: bool) -> None:
        self.check(node.body)

    def visit_TypedSkip(self, node: TypedSkip, at_residual_end: bool) -> None:
        """`add NAME` joins like a residual (its body may end in stochdepth); `cat NAME` like a branch."""
        self.check(node.body, residual_body=node.join == "add")
