"""One way to walk statements and typed nodes: dispatch on the node's class.

A walker subclasses `Visitor`, says which node classes it walks (`walks`:
the statement classes, or the typed node classes) and writes one
`visit_<ClassName>` method per class, as Jinja2's compiler does. A node class
without a method raises `UnhandledNode`: a statement kind that a walker
forgets fails loudly instead of being skipped (and tests/test_visitor.py
checks every walker against the node classes before anything runs).

Node classes declare which of their fields hold child nodes (`children`, a
class attribute: `("body", "shortcut")` for a residual), so walking into
children takes no code per class: `children(node)` yields them in field
order, and `Visitor.visit_children` visits them. A child field holds a
sequence of nodes (a `Body` iterates over its statements, a typed residual's
body is a list) or None.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class UnhandledNode(TypeError):
    """A walker met a node class it has no `visit_<ClassName>` method for."""


def children(node) -> Iterator:
    """The node's child nodes, field by field in the order its class declares them."""
    for name in type(node).children:
        value = getattr(node, name)
        if value is not None:
            yield from value


class _Dispatch(dict):
    """Node class -> the walker's function for it, looked up on first use."""

    __slots__ = ("walker",)

    def __init__(self, walker: type) -> None:
        super().__init__()
        self.walker = walker

    def __missing__(self, node_class: type):
        function = getattr(self.walker, "visit_" + node_class.__name__, None)
        if function is None:
            function = self.walker.generic_visit
        self[node_class] = function
        return function


class Visitor:
    """Base of every walker over statements or typed nodes.

    Arguments after the node are passed on unchanged (`visit(node, shape,
    frame)`); what a method returns, `visit` returns.
    """

    # The node classes this walker must handle: every class of
    # `nodes.Statement` or of `typed.Node` (tests/test_visitor.py checks it).
    walks: tuple[type, ...] = ()
    # Node class -> this walker's function for it (called as `function(self,
    # node, *args)`); hot loops may index it directly instead of calling `visit`.
    methods: _Dispatch

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.methods = _Dispatch(cls)

    def visit(self, node, *args):
        if args:
            return self.methods[node.__class__](self, node, *args)
        return self.methods[node.__class__](self, node)  # a plain call: no argument tuple to unpack

    def visit_all(self, nodes: Iterable, *args) -> None:
        """Visit each node in turn (what the methods return is dropped)."""
        methods = self.methods
        if args:
            for node in nodes:
                methods[node.__class__](self, node, *args)
        else:
            for node in nodes:
                methods[node.__class__](self, node)

    def visit_children(self, node, *args) -> None:
        """Visit the node's children (its declared child fields, in order)."""
        self.visit_all(children(node), *args)

    def generic_visit(self, node, *args):
        raise UnhandledNode(
            f"{type(self).__name__} has no method visit_{type(node).__name__}: "
            f"every walker must say what a {type(node).__name__} means to it"
        )

    @classmethod
    def unhandled(cls) -> list[str]:
        """The names of the classes in `walks` that have no visit method."""
        return [node_class.__name__ for node_class in cls.walks if not hasattr(cls, "visit_" + node_class.__name__)]
