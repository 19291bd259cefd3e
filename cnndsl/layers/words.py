"""What a word after a layer's name is: the one classifier.

`conv 16 k3 s2 same relu`: `16` is a positional value, `k3` and `s2` are
options, `same` a flag, `relu` an activation. The argument reader decides
with `classify`, and so do completion, hover, the quick fixes and the
checker's help for an option written as a statement, so they cannot disagree
about a word.
"""

from __future__ import annotations

import enum
from collections.abc import Container
from typing import Any

from ..record import Record
from .registry import activation
from .values import literal_like, looks_like_value


class Role(enum.Enum):
    POSITIONAL = "positional value"  # `16` in `conv 16`: the next positional argument
    OPTION = "option"  # `k3`, `kernel=3`
    FLAG = "flag"  # `same`, `nobias`, `ceil`
    ACTIVATION = "activation"  # `relu` after a conv or linear
    FORM = "form"  # the keyword of a special form, first after the name: `pool to 7x7`
    UNKNOWN = "unknown"


_set = object.__setattr__


class WordRole(Record):
    """A word's role, with what it names (one of the object fields, by role)."""

    __slots__ = ("role", "value", "positional", "option", "long", "activation", "form")
    role: Role
    value: str  # POSITIONAL: the word; OPTION: the value written after the letter or `=`
    positional: Any  # arguments.Positional
    option: Any  # arguments.Option
    long: bool  # OPTION written `name=value`
    activation: Any  # the activation's kind
    form: Any  # base.SpecialForm

    def __init__(self, role: Role, value: str = "", *, positional: Any = None, option: Any = None, long: bool = False,
                 activation: Any = None, form: Any = None) -> None:
        _set(self, "role", role)
        _set(self, "value", value)
        _set(self, "positional", positional)
        _set(self, "option", option)
        _set(self, "long", long)
        _set(self, "activation", activation)
        _set(self, "form", form)

    @property
    def is_option_or_flag(self) -> bool:
        return self.role in (Role.OPTION, Role.FLAG)


UNKNOWN = WordRole(Role.UNKNOWN)


def classify(kind, word: str, scope: Container[str] = (), *, slot=None, at_start: bool = False) -> WordRole:
    """The role of `word` after `kind`'s name.

    `scope` holds the block parameters' names (a name in it stands for a
    value); `slot` is the positional argument still to be given, if any;
    `at_start` is true for the first word after the name (where a special form
    such as `pool to` starts). A keyword argument is passed as `name=value`.
    """
    if "=" in word:  # `kernel=3`: the grammar keeps `=` out of every other word
        key, _, value = word.partition("=")
        option = kind.option_named(key)
        return WordRole(Role.OPTION, value, option=option, long=True) if option is not None else UNKNOWN
    if at_start:
        form = next((f for f in kind.forms if f.keyword == word), None)
        if form is not None:
            return WordRole(Role.FORM, form=form)
    if slot is not None and looks_like_value(word, scope):
        return WordRole(Role.POSITIONAL, word, positional=slot)
    if word in kind.flags:
        return WordRole(Role.FLAG)
    if kind.takes_activation:
        found = activation(word)
        if found is not None:
            return WordRole(Role.ACTIVATION, activation=found)
    letter, rest = word[:1], word[1:]
    option = kind.option_by_short(letter) if rest else None
    if option is not None and (literal_like(rest) or rest in scope):
        return WordRole(Role.OPTION, rest, option=option)
    return UNKNOWN
