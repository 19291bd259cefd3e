"""Records: what `@dataclass(frozen=True, slots=True)` makes (and, for the
typed program, `@dataclass(slots=True)`), written out, without importing
`dataclasses` (which imports `inspect`: docs/design.md, "Start-up").

The syntax tree, the types and the summary's records are created in every
fresh `cnnc check` and `cnnc summary`, and a frozen dataclass costs about
1 ms to create (it compiles six or seven methods from source; ten of them
were a tenth of a fresh `cnnc check`). A subclass of `Record` lists its fields in
`__slots__`, in order, and writes its `__init__` (with `object.__setattr__`,
as a frozen dataclass's does); equality, hashing, `repr`, immutability,
pickling and copying come from here and behave as the dataclass versions do.
A class may name the fields that equality and hashing use in `_compared`
(a dataclass's `field(compare=False)` leaves the others out); `replace`
is `dataclasses.replace`. A `DeclaredRecord` (the layers' configurations)
is declared as a dataclass is, by annotations with defaults, and has the
constructor a dataclass would have; a `MutableRecord` may be assigned to.
"""

from __future__ import annotations

from operator import attrgetter

try:
    from typing import dataclass_transform
except ImportError:  # Python 3.10: a marker for type checkers, nothing at run time

    def dataclass_transform(**kwargs):
        return lambda cls: cls


class FrozenRecordError(AttributeError):
    """Assigning to or deleting a field of a record."""


class _Frozen:
    """What both frozen records share: their fields (`_fields`, in order) and a comparison key."""

    __slots__ = ()

    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r}")

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self._fields])

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
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({fields})"


class Record(_Frozen):
    __slots__ = ()

    _compared: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._fields = cls.__match_args__ = cls.__slots__
        if "_compared" not in cls.__dict__:
            cls._compared = cls.__slots__
        # The key tuple built in C: shapes and configurations are memo keys on
        # the checker's hot path, hashed and compared for every layer.
        cls._key_of = staticmethod(_tuple_getter(cls._compared))

    def __getstate__(self) -> tuple:
        return self._values()

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__, state):
            object.__setattr__(self, name, value)


@dataclass_transform(eq_default=True, frozen_default=True)  # type checkers read it as a frozen dataclass
class DeclaredRecord(_Frozen):
    """A frozen record declared as a frozen dataclass is: annotated fields, defaults after them.

    For the layers' configurations (`layers.base.Config`), which are written
    as dataclasses are but built without `dataclasses`: that module imports
    `inspect` (with `ast`, `dis`, `tokenize`: about 7 ms of CPU) and compiles
    six methods per class from source (about 0.5 ms each class), together a
    sixth of a fresh `cnnc check` (docs/design.md, "Start-up"). Fields are
    the class's own annotations after its parents' (ClassVar ones are not
    fields); a default is the value the annotation is given. The
    constructor takes them positionally or by name, as a dataclass's does;
    equality (same class, equal fields), hashing, `repr`, `replace`,
    `__match_args__`, pickling and copying behave as a frozen dataclass's;
    assigning a field raises `FrozenRecordError`. `record_fields` lists
    the fields.
    """

    __slots__ = ()

    _defaults: dict[str, object] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = [
            name
            for name, annotation in cls.__dict__.get("__annotations__", {}).items()
            if not str(annotation).startswith(("ClassVar", "typing.ClassVar"))
        ]
        defaults = dict(cls._defaults)
        defaults.update({name: cls.__dict__[name] for name in own if name in cls.__dict__})
        fields = cls._fields + tuple(name for name in own if name not in cls._fields)
        for before, after in zip(fields, fields[1:]):
            if before in defaults and after not in defaults:
                raise TypeError(f"non-default argument {after!r} follows default argument")
        cls._fields, cls._defaults, cls.__match_args__ = fields, defaults, fields
        cls._key_of = staticmethod(_tuple_getter(fields))

    def __init__(self, *args, **kwargs) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__qualname__}() takes {len(fields)} arguments but {len(args)} were given")
        for name, value in zip(fields, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__qualname__}() got multiple values for argument {name!r}")
            object.__setattr__(self, name, value)
        for name in fields[len(args) :]:
            if name in kwargs:
                object.__setattr__(self, name, kwargs.pop(name))
            elif name in self._defaults:
                object.__setattr__(self, name, self._defaults[name])
            else:
                raise TypeError(f"{type(self).__qualname__}() missing required argument: {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__qualname__}() got an unexpected keyword argument {next(iter(kwargs))!r}")


def record_fields(record) -> tuple[str, ...]:
    """The names of a `DeclaredRecord`'s fields (a class or an instance), in order: `dataclasses.fields`'s names."""
    return record._fields


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
