"""The imported program before it is text: statements that carry where they came from.

Statements compare by what they say (kind, values, flags, bodies), never by
where they came from, so two instances of a layer or block that say the same
thing are equal: repeats and blocks are found by comparing statements.
Provenance (the fx node that ends a statement, the modules it uses, its
module stack, its output shape) rides along with `compare=False`.

A value inside a block definition may be a `Param` instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union


# A number as a statement writes it: a count, a decimal, or a size (height, width).
Number = Union[int, float, tuple]


@dataclass(frozen=True)
class Scope:
    """A module the forward pass went through: one entry of fx's nn_module_stack."""

    key: str  # the module path, with `@N` for its N-th later call
    path: str
    class_name: str  # `Bottleneck`
    qualified: str  # `torchvision.models.resnet.Bottleneck`


@dataclass(frozen=True)
class Param:
    """A block parameter standing where a number would."""

    name: str


@dataclass(frozen=True)
class Arg:
    """One value of a layer: its argument name in the layer table, the value, its default (None: always written)."""

    name: str  # `filters`, `kernel`, `stride`, `window`, `p`, `to`
    value: Number | Param
    default: Number | None = None


@dataclass(frozen=True)
class Origin:
    """Where a statement comes from (never compared)."""

    end: str = ""  # the fx node whose value the statement produces
    stack: tuple[Scope, ...] = ()  # the model-defined modules it sits in, outermost first
    modules: tuple[str, ...] = ()  # the module paths whose parameters it uses
    shape: tuple[int, ...] | None = None  # its output shape, (1, C, H, W) or (1, N)
    note: str = ""  # a remark for a comment (a setting the language does not write)
    source: str = ""  # what made it: a module path (`layer1.0.conv1`) or a function (`torch.flatten`)


@dataclass(frozen=True)
class Layer:
    """One layer statement: `conv 64 k3 s2 p1 nobias relu`."""

    kind: str  # its name in the layer table
    args: tuple[Arg, ...] = ()
    flags: tuple[str, ...] = ()
    activation: Layer | None = None  # an activation written after it on the same statement
    origin: Origin = field(default=Origin(), compare=False)


@dataclass(frozen=True)
class Residual:
    """`residual { body } shortcut { shortcut }` (shortcut None: the identity)."""

    body: tuple[Statement, ...]
    shortcut: tuple[Statement, ...] | None = None
    origin: Origin = field(default=Origin(), compare=False)


@dataclass(frozen=True)
class Branches:
    """`concat { branch {..} ... }` or, with `split`, `split { branch {..} ... }` (issue 13)."""

    branches: tuple[tuple[Statement, ...], ...]
    split: bool = False
    origin: Origin = field(default=Origin(), compare=False)


@dataclass(frozen=True)
class Gate:
    """`gate { body }`: the input times body(input) (issue 13)."""

    body: tuple[Statement, ...]
    origin: Origin = field(default=Origin(), compare=False)


@dataclass(frozen=True)
class Region:
    """The statements one call of a model-defined module made (transient: becomes a call or is inlined)."""

    scope: Scope = field(compare=False)
    body: tuple[Statement, ...]
    origin: Origin = field(default=Origin(), compare=False)


@dataclass(frozen=True)
class Call:
    """A block call: `bottleneck 64 256`."""

    block: str
    args: tuple[Number | Param, ...]
    origin: Origin = field(default=Origin(), compare=False)
    sources: tuple[str, ...] = field(default=(), compare=False)  # the module paths of the instances it stands for
    params: tuple[BlockParam, ...] = field(default=(), compare=False)  # the block's parameters, for naming


@dataclass(frozen=True)
class Repeat:
    """`repeat N { body }`."""

    count: int | Param
    body: tuple[Statement, ...]
    origin: Origin = field(default=Origin(), compare=False)
    sources: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Group:
    """Statements one module made, written on one line (`down 128; basic 128`): a layout, not a construct."""

    body: tuple[Statement, ...]
    origin: Origin = field(default=Origin(), compare=False)
    sources: tuple[str, ...] = field(default=(), compare=False)


Statement = Union[Layer, Residual, Branches, Gate, Region, Call, Repeat, Group]


@dataclass(frozen=True)
class BlockParam:
    """A block parameter: its name and its family (values of one family may share a parameter)."""

    name: str
    family: str  # "channels", "window", "count", "decimal"


@dataclass(frozen=True)
class Block:
    """A block definition: `block name(params) { body }`, with where its calls come from."""

    name: str
    params: tuple[BlockParam, ...]
    body: tuple[Statement, ...]
    class_name: str  # the source class (qualified) the instances belong to
    instances: tuple[str, ...]  # module paths of the instances
    summary: str = ""  # a comment line saying what varies


def children(statement: Statement) -> tuple[tuple[Statement, ...], ...]:
    """The statement lists directly inside a statement (bodies, shortcut, branches)."""
    if isinstance(statement, Residual):
        return (statement.body,) if statement.shortcut is None else (statement.body, statement.shortcut)
    if isinstance(statement, Branches):
        return statement.branches
    if isinstance(statement, (Gate, Region, Repeat, Group)):
        return (statement.body,)
    return ()


def with_children(statement: Statement, lists: list[tuple[Statement, ...]]) -> Statement:
    """The statement with its lists replaced (in the order `children` gives them)."""
    if isinstance(statement, Residual):
        return replace(statement, body=lists[0], shortcut=lists[1] if statement.shortcut is not None else None)
    if isinstance(statement, Branches):
        return replace(statement, branches=tuple(lists))
    if isinstance(statement, (Gate, Region, Repeat, Group)):
        return replace(statement, body=lists[0])
    return statement


def origin_of(statements: tuple[Statement, ...] | list[Statement]) -> Origin:
    """The origin of a run of statements: it ends where the last one ends; its stack is what they share."""
    if not statements:
        return Origin()
    last = statements[-1].origin
    stacks = [s.origin.stack for s in statements]
    modules = tuple(m for s in statements for m in all_modules(s))
    return Origin(end=last.end, stack=common_stack(stacks), modules=modules, shape=last.shape)


def common_stack(stacks) -> tuple[Scope, ...]:
    stacks = list(stacks)
    if not stacks:
        return ()
    common = []
    for entries in zip(*stacks):
        if any(entry.key != entries[0].key for entry in entries):
            break
        common.append(entries[0])
    return tuple(common)


def sources_of(statement: Statement) -> list[str]:
    """The module paths (or functions) a statement stands for, for comments: `layer1`, `conv1`, `torch.flatten`."""
    if isinstance(statement, Layer):
        found = [statement.origin.source] if statement.origin.source else []
        if statement.activation is not None and statement.activation.origin.source:
            found.append(statement.activation.origin.source)
        return found
    if isinstance(statement, (Call, Repeat, Group)) and statement.sources:
        return list(statement.sources)
    if isinstance(statement, Region):
        return [statement.scope.path]
    if isinstance(statement, (Repeat, Group)):
        return [path for inner in statement.body for path in sources_of(inner)]
    stack = statement.origin.stack
    return [stack[-1].path] if stack else []


def all_modules(statement: Statement) -> tuple[str, ...]:
    """The module paths whose parameters a statement (and everything in it) uses."""
    if isinstance(statement, Layer):
        return statement.origin.modules
    found = list(statement.origin.modules) if isinstance(statement, (Call, Repeat, Group)) else []
    for body in children(statement):
        for inner in body:
            found.extend(all_modules(inner))
    return tuple(dict.fromkeys(found))
