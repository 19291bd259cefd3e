"""Lark's reductions -> cnndsl.syntax.nodes (the tree builder).

Lark calls these methods while it parses (the transformer of an LALR
parser runs at each reduction), so no intermediate parse tree is built.
"""

from __future__ import annotations

from .nodes import Body, BlockDef, Bound, Branch, Command, Concat, Gate, KeywordArg, Module, Repeat, Residual, Shortcut, Split, Word
from .source import Span


def _span(first, last) -> Span:
    return Span(_start(first), _end(last))


def _start(item) -> int:
    return item.start_pos if hasattr(item, "start_pos") else item.span.start


def _end(item) -> int:
    return item.end_pos if hasattr(item, "end_pos") else item.span.end


def _word(token) -> Word:
    return Word(str(token), Span(token.start_pos, token.end_pos), token.type == "STRAY")


def attach_shortcuts(statements: list) -> tuple:
    """A `shortcut` statement right after a residual belongs to that residual."""
    result: list = []
    for statement in statements:
        if (
            isinstance(statement, Shortcut)
            and result
            and isinstance(result[-1], Residual)
            and result[-1].shortcut is None
        ):
            residual = result[-1]
            result[-1] = Residual(
                residual.body,
                statement.body,
                residual.span.cover(statement.span),
                residual.header,
            )
        else:
            result.append(statement)
    return tuple(result)


class Builder:
    """One method per grammar rule, named after it: children in, a node out."""

    def start(self, children):
        return Module(attach_shortcuts([c for c in children if c is not None]))

    def positional(self, children):
        return _word(children[0])

    def keyword(self, children):
        key, _, value = children
        return KeywordArg(_word(key), _word(value), _span(key, value))

    def bound(self, children):
        if len(children) == 5:  # H % 16 == 0
            symbol, _, modulus, _, residue = children
            return Bound(_word(symbol), _word(residue), _span(symbol, residue), _word(modulus))
        symbol, _, minimum = children
        return Bound(_word(symbol), _word(minimum), _span(symbol, minimum))

    def where(self, children):
        return tuple(c for c in children if isinstance(c, Bound))

    def command(self, children):
        name = _word(children[0])
        args = []
        bounds: tuple = ()
        for child in children[1:]:
            if isinstance(child, tuple):
                bounds = child
            else:
                args.append(child)
        last = children[-1]
        if isinstance(last, tuple):
            last = last[-1] if last else children[-2]
        return Command(name, tuple(args), bounds, _span(children[0], last))

    def body(self, children):
        statements = [c for c in children[1:-1] if c is not None]
        return Body(attach_shortcuts(statements), _span(children[0], children[-1]))

    def block_def(self, children):
        keyword, name = children[0], children[1]
        params = tuple(_word(c) for c in children[3:-2] if c is not None and c.type == "WORD")
        body = children[-1]
        rpar = children[-2]
        return BlockDef(_word(name), params, body, _span(keyword, body), _span(keyword, rpar))

    def repeat(self, children):
        keyword, count, body = children
        return Repeat(_word(count), body, _span(keyword, body), _span(keyword, count))

    def residual(self, children):
        keyword, body = children[0], children[1]
        shortcut = children[3] if len(children) > 3 else None
        return Residual(body, shortcut, _span(keyword, children[-1]), _span(keyword, keyword))

    def shortcut(self, children):
        keyword, body = children
        return Shortcut(body, _span(keyword, body), _span(keyword, keyword))

    def _structural(cls):
        def build(self, children):
            keyword, body = children
            return cls(body, _span(keyword, body), _span(keyword, keyword))

        build.__name__ = cls.keyword
        return build

    concat = _structural(Concat)
    split = _structural(Split)
    branch = _structural(Branch)
    gate = _structural(Gate)
    del _structural
