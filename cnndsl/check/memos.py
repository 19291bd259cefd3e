"""Every cache of one check (`Memos`), and what a symbolic input's entries are keyed on.

Only steps that reported nothing are remembered, so every problem is still
reported, once, with the call chain of its first instance.
"""

from __future__ import annotations

from ..layers.values import Value
from ..syntax.nodes import Command, KeywordArg


class Memos:
    """Every cache of one check (and of its discovery pass: `Checker.check`)."""

    __slots__ = ("configs", "inferences", "expansions", "sizes", "words")

    def __init__(self) -> None:
        # A layer statement's text and the block parameters' values -> its
        # configuration (read once, not once per expansion or repeat pass).
        self.configs: dict = {}
        # A layer kind, configuration and input (with the symbols' bounds, for
        # a symbolic one) -> its inference.
        self.inferences: dict = {}
        # A block call -> its first expansion that reported nothing (Blocks.call).
        self.expansions: dict = {}
        # A block and its arguments' values -> the layers it expands to (Budget.size_of).
        self.sizes: dict = {}
        # A layer statement (by id: the syntax tree outlives the check) -> the
        # texts among its words that can name a block parameter.
        self.words: dict[int, frozenset[str]] = {}

    def named_values(self, statement: Command, scope: dict[str, Value]) -> tuple:
        """The values of the block parameters that a layer statement's words can name, for its configuration's key.

        A word names a parameter as a whole (`conv c`), after an option's
        letter (`sc`: stride c) or as a keyword's value (`stride=c`); the
        others do not change what the statement reads, so `bn` in
        `stage(c, n)` is read once, not once per value of c and n.
        """
        words = self.words.get(id(statement))
        if words is None:
            texts = set()
            for word in statement.args:
                if word.__class__ is KeywordArg:
                    texts.add(word.value.text)
                else:
                    texts.add(word.text)
                    texts.add(word.text[1:])
            words = self.words[id(statement)] = frozenset(texts)
        return tuple([(name, type(value.value), value.value) for name, value in scope.items() if name in words])

    def share(self, other: Memos) -> None:
        """Use `other`'s configurations and inferences (the discovery pass and the check after it).

        Configurations do not depend on the symbols' bounds, and inferences are
        keyed on them. Not the expansions: a copy would skip the bookkeeping of
        `Blocks.expanded` in the pass that did not make it.
        """
        self.configs = other.configs
        self.inferences = other.inferences


def bounds_state(bounds: dict) -> tuple:
    """Everything a layer's checks read of the size symbols (`Site.size_bound` and the rest).

    A symbolic input's inference is a function of the input and of these;
    memoised under them, and only when its checks left them as they were.
    """
    return tuple([(state.bound, state.value, state.modulus, state.residue) for state in bounds.values()])
