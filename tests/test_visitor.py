"""The one visitor: every walker handles every node class it can meet.

Walkers over statements (syntax/nodes.py) and typed nodes (check/typed.py)
dispatch on `visit_<ClassName>`; a class without a method raises. Here every
walker in the package is checked against the node classes before anything
runs, so a statement kind added to `nodes.Statement` (or a typed node added
to `typed.Node`) fails these tests until every walker says what it means.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

import pytest

import cnndsl
from cnndsl.check import typed
from cnndsl.check.checker import Checker
from cnndsl.syntax import nodes
from cnndsl.syntax.source import Span
from cnndsl.syntax.visitor import UnhandledNode, Visitor, children

STATEMENT_CLASSES = set(typing.get_args(nodes.Statement))
TYPED_CLASSES = set(typing.get_args(typed.Node))


def _walkers() -> list[type]:
    """Every Visitor subclass defined in the package (all its modules imported)."""
    for module in pkgutil.walk_packages(cnndsl.__path__, "cnndsl."):
        if module.name != "cnndsl.__main__":  # runs the command line
            importlib.import_module(module.name)
    found, pending = [], list(Visitor.__subclasses__())
    while pending:
        walker = pending.pop()
        pending.extend(walker.__subclasses__())
        if walker.__module__.startswith("cnndsl."):
            found.append(walker)
    return sorted(found, key=lambda walker: (walker.__module__, walker.__qualname__))


WALKERS = _walkers()


def test_the_walkers_are_found():
    """The check below covers the walkers of every stage and tool (it would pass vacuously on none)."""
    names = {f"{walker.__module__}.{walker.__qualname__}" for walker in WALKERS}
    assert {
        "cnndsl.check.checker.Checker",
        "cnndsl.check.budgets.Budget",
        "cnndsl.check.typed._Leaves",
        "cnndsl.lsp.document._Flatten",
        "cnndsl.lsp.symbols._Outline",
        "cnndsl.backend.codegen._Views",
        "cnndsl.reports.summary._Rows",
        "cnndsl.reports.draw.steps._Steps",
        "cnndsl.syntax.incremental._Shift",
    } <= names


@pytest.mark.parametrize("walker", WALKERS, ids=lambda walker: f"{walker.__module__}.{walker.__qualname__}")
def test_every_walker_handles_every_node_class(walker):
    walks = set(walker.walks)
    assert walks, f"{walker.__qualname__} does not say which node classes it walks"
    assert STATEMENT_CLASSES <= walks or TYPED_CLASSES <= walks, (
        f"{walker.__qualname__} walks {sorted(c.__name__ for c in walks)}: "
        "all the statement classes or all the typed node classes"
    )
    assert walker.unhandled() == []


def test_the_node_unions_are_the_declared_tuples():
    assert set(nodes.STATEMENTS) == STATEMENT_CLASSES
    assert set(typed.NODES) == TYPED_CLASSES


def _fields(node_class) -> dict[str, str]:
    """A node class's fields and their annotations (a dataclass, or a record listing them in __slots__)."""
    if dataclasses.is_dataclass(node_class):
        return {field.name: str(field.type) for field in dataclasses.fields(node_class)}
    annotations = {}
    for klass in reversed(node_class.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    # a MutableRecord's fields include its parents' (TypedSkip's, TypedResidual's)
    names = getattr(node_class, "_fields", node_class.__slots__)
    return {name: str(annotations.get(name, "")) for name in names}


@pytest.mark.parametrize("node_class", [*nodes.STATEMENTS, nodes.Body, *typed.NODES], ids=lambda c: c.__name__)
def test_children_name_fields(node_class):
    """`children` names fields of the class, each holding nodes (so generic walks need no code per class)."""
    fields = _fields(node_class)
    assert isinstance(node_class.children, tuple)
    assert set(node_class.children) <= set(fields)
    # and every field that holds statements, a body or typed nodes is declared
    holding = {name for name, annotation in fields.items() if any(word in annotation for word in ("Body", "Statement", "Node]", "Branch]"))}
    assert holding == set(node_class.children)


def _word(text: str, start: int = 0) -> nodes.Word:
    return nodes.Word(text, Span(start, start + len(text)))


def _command(text: str) -> nodes.Command:
    return nodes.Command(_word(text), (), (), Span(0, len(text)))


def _body(*statements) -> nodes.Body:
    return nodes.Body(statements, Span(0, 1))


def test_children_follow_the_declared_fields_in_order():
    conv, bn, pool = _command("conv"), _command("bn"), _command("pool")
    residual = nodes.Residual(_body(conv, bn), _body(pool), Span(0, 1), Span(0, 1))
    assert list(children(residual)) == [conv, bn, pool]  # the body, then the shortcut
    identity = nodes.Residual(_body(conv), None, Span(0, 1), Span(0, 1))
    assert list(children(identity)) == [conv]
    assert list(children(conv)) == []
    repeat = nodes.Repeat(_word("2"), _body(bn, pool), Span(0, 1), Span(0, 1))
    assert list(children(repeat)) == [bn, pool]


def test_typed_children_and_walk():
    program = cnndsl.check_program("input 8x8x4\nresidual { conv 4 k3 p1; relu } shortcut { conv 4 k1 }\nflatten\n")
    residual = program.nodes[0]
    assert isinstance(residual, typed.TypedResidual)
    assert [layer.kind.name for layer in children(residual)] == ["conv", "relu", "conv"]
    assert [layer.kind.name for layer in typed.walk(program.nodes)] == ["conv", "relu", "conv", "flatten"]


class _OnlyCommands(Visitor):
    walks = nodes.STATEMENTS

    def visit_Command(self, statement):
        return statement.name.text


def test_a_walker_without_a_method_raises_a_clear_error():
    walker = _OnlyCommands()
    assert walker.visit(_command("conv")) == "conv"
    repeat = nodes.Repeat(_word("2"), _body(_command("bn")), Span(0, 1), Span(0, 1))
    with pytest.raises(UnhandledNode, match=r"_OnlyCommands has no method visit_Repeat"):
        walker.visit(repeat)
    assert _OnlyCommands.unhandled() == ["BlockDef", "Repeat", "Residual", "Shortcut", "Concat", "Split", "Branch", "Gate"]


@dataclasses.dataclass(frozen=True, slots=True)
class Ripple:
    """A statement kind no walker knows yet."""

    body: nodes.Body
    span: Span

    children = ("body",)


def test_a_new_statement_kind_fails_loudly_in_the_checker():
    ripple = Ripple(_body(_command("relu")), Span(0, 4))
    assert [c.name.text for c in children(ripple)] == ["relu"]  # generic traversal works at once
    with pytest.raises(UnhandledNode, match="Checker has no method visit_Ripple"):
        Checker.visit(object.__new__(Checker), ripple, None, None, [])
    budget = next(walker for walker in WALKERS if walker.__qualname__ == "Budget")
    with pytest.raises(UnhandledNode, match="visit_Ripple"):
        budget({}, {}).size_of([ripple], {}, (), 0)


def test_dispatch_is_per_walker_class():
    """A subclass overrides one method; the base keeps its own."""

    class Louder(_OnlyCommands):
        def visit_Command(self, statement):
            return statement.name.text.upper()

    assert Louder().visit(_command("conv")) == "CONV"
    assert _OnlyCommands().visit(_command("conv")) == "conv"
