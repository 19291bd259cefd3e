"""Records with slots: what `@dataclass(frozen=True, slots=True)` makes (and, for
the typed program, `@dataclass(slots=True)`), written out.

The syntax tree, the types and the summary's records are created in every
fresh `cnnc check` and `cnnc summary`, and a frozen dataclass costs about
1 ms to create (it compiles six or seven methods from source; ten of them
were a tenth of a fresh `cnnc check`). A subclass of `Record` lists its fields in
`__slots__`, in order, and writes its `__init__` (with `object.__setattr__`,
as a frozen dataclass's does); equality, hashing, `repr`, immutability,
pickling and copying come from here and behave as the dataclass versions do.
A class may name the fields that equality and hashing use in `_compared`
(a dataclass's `field(compare=False)` leaves the others out); `replace`
is `dataclasses.replace`.
"""

from __future__ import annotations

from operator import attrgetter


class FrozenRecordError(AttributeError):
    """Assigning to or deleting a field of a record."""


class Record:
    __slots__ = ()

    _compared: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.__match_args__ = cls.__slots__
        if "_compared" not in cls.__dict__:
            cls._compared = cls.__slots__
        # The key tuple built in C: shapes and configurations are memo keys on
        # the checker's hot path, hashed and compared for every layer.
        cls._key_of = staticmethod(_tuple_getter(cls._compared))

    def __setattr__(self, name: str, value) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r}")

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self.__slots__])

    def _key(self) -> tuple:
        return self._key_of(self)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key_of(self) == self._key_of(other)

    def __hash__(self) -> int:
        return hash(self._key_of(self))

    def replace(self, **changes):
        """A copy with some fields changed, as `dataclasses.replace` makes one."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def __getstate__(self) -> tuple:
        return self._values()

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__, state):
            object.__setattr__(self, name, value)


def _tuple_getter(names: tuple[str, ...]):
    """A function giving an object's `names` attributes as a tuple (attrgetter gives a bare value for one name)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        name = names[0]
        return lambda record: (getattr(record, name),)
    return lambda record: ()


class MutableRecord:
    """A record whose fields may be assigned: what `@dataclass(slots=True)` makes, written out.

    For the typed program's nodes, which the checker creates in every fresh
    `cnnc check` and completes after creation (receptive fields, copied
    calls). A subclass lists its own fields in `__slots__` and writes its
    `__init__`; a subclass of a subclass adds fields after its parent's, as
    dataclass inheritance does. Equality compares every field (a dataclass's
    `eq`), instances are unhashable, and `repr` leaves out the fields named
    in `_unshown` (a dataclass's `field(repr=False)`).
    """

    __slots__ = ()

    _fields: tuple[str, ...] = ()
    _unshown: tuple[str, ...] = ()
    __hash__ = None  # mutable: as a dataclass with eq and without frozen

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._fields = cls._fields + tuple(cls.__dict__.get("__slots__", ()))
        cls.__match_args__ = cls._fields

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def replace(self, **changes):
        """A copy with some fields changed, as `dataclasses.replace` makes one."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields if name not in self._unshown)
        return f"{type(self).__qualname__}({fields})"

    def __getstate__(self) -> tuple:
        return self._values()

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self._fields, state):
            object.__setattr__(self, name, value)
