"""Recovering the model's structure: activations folded, modules as blocks, runs as repeats.

From the flat-ish statements `decompose.decompose` gives, in this order:

1. *Fold*: a `conv` or `linear` followed by an activation in the same module
   becomes one statement (`conv 64 k3 p1 relu`), as people write it.
2. *Regions*: consecutive statements made inside the same call of a
   model-defined module (a `Bottleneck` at `layer1.0`, the `nn.Sequential`
   at `layer1`) are grouped, recursively, following fx's module stacks.
3. *Blocks*, innermost regions first: the instances of one class whose
   statements have the same structure (numbers aside, and `X` the same as
   `repeat n { X }`) form a *variant*. Its numbers that differ between
   instances become parameters (one per distinct column of values, so that
   a depthwise convolution's filters and groups share `mid`), named after
   their role (`mid`, `out`, `s`, `k`, `n`...). A variant becomes a `block`
   when that takes no more lines than writing its instances out (and it has
   two or more); otherwise its instances are written in place.
4. *Repeats*: equal consecutive statements (or runs of statements) become
   `repeat N { ... }`, in every statement list, after each step above.
5. *Stages*: in the top-level list, runs of statements that each end in the
   same pooling layer and share a structure (VGG's `conv..; pool 2`
   stages, which torchvision writes as one flat nn.Sequential) become a
   block too, on the same terms.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from ..layers import lookup
from . import naming
from .ir import (
    Block,
    BlockParam,
    Branches,
    Call,
    Gate,
    Group,
    Layer,
    Param,
    Region,
    Repeat,
    Residual,
    Statement,
    children,
    origin_of,
    sources_of,
    with_children,
)
from .render import compact_paths, count_lines, joins_line, words

# Arguments that are part of a layer's structure, never block parameters.
FIXED = frozenset({"to", "eps", "momentum", "size"})  # size: unflatten's HxWxC
# What a value's role is called as a parameter, and its family (values of one family may share a parameter).
ROLES = {
    "filters": ("c", "channels"),
    "features": ("f", "channels"),
    "groups": ("g", "channels"),
    "kernel": ("k", "window"),
    "window": ("k", "window"),
    "stride": ("s", "window"),
    "padding": ("p", "window"),
    "dilation": ("d", "window"),
    "p": ("drop", "decimal"),
    "slope": ("slope", "decimal"),
    "count": ("n", "count"),
}
FAMILY_ORDER = {"channels": 0, "window": 1, "decimal": 2, "count": 3}
# The longest run of statements `repeat` looks for.
MAX_PERIOD = 8


# -- 1. fold activations --------------------------------------------------------------


def fold(statements) -> tuple[Statement, ...]:
    out: list[Statement] = []
    for statement in statements:
        statement = with_children(statement, [fold(body) for body in children(statement)])
        previous = out[-1] if out else None
        if (
            isinstance(statement, Layer)
            and _is_activation(statement.kind)
            and isinstance(previous, Layer)
            and previous.activation is None
            and _takes_activation(previous.kind)
            and [s.key for s in previous.origin.stack] == [s.key for s in statement.origin.stack]
        ):
            origin = replace(previous.origin, end=statement.origin.end, shape=statement.origin.shape)
            out[-1] = replace(previous, activation=statement, origin=origin)
            continue
        out.append(statement)
    return tuple(out)


def _is_activation(kind: str) -> bool:
    found = lookup(kind)
    return found is not None and found.is_activation


def _takes_activation(kind: str) -> bool:
    found = lookup(kind)
    return found is not None and found.takes_activation


# -- 2. regions ---------------------------------------------------------------------


def regionize(statements, depth: int = 0) -> tuple[Statement, ...]:
    """Group consecutive statements by the module they were made in, `depth` modules down."""
    out: list[Statement] = []
    index = 0
    statements = list(statements)
    while index < len(statements):
        statement = statements[index]
        stack = statement.origin.stack
        if len(stack) > depth:
            key = stack[depth].key
            end = index + 1
            while end < len(statements) and len(statements[end].origin.stack) > depth and statements[end].origin.stack[depth].key == key:
                end += 1
            group = statements[index:end]
            origin = replace(origin_of(group), stack=stack[: depth + 1])
            out.append(Region(stack[depth], regionize(group, depth + 1), origin))
            index = end
        else:
            out.append(with_children(statement, [regionize(body, depth) for body in children(statement)]))
            index += 1
    return tuple(out)


# -- 4. repeats -------------------------------------------------------------------------


def collapse(statements, longest: int = MAX_PERIOD) -> tuple[Statement, ...]:
    """Equal consecutive runs of up to `longest` lines as `repeat N { ... }`, in every list (innermost first).

    The runs are made of whole lines as the text writes them (`conv ...; bn;
    relu` is one), so that a repeat never starts or ends inside one.
    """
    items = [with_children(s, [collapse(body, longest) for body in children(s)]) for s in statements]
    units: list[tuple[Statement, ...]] = []
    for statement in items:
        if units and joins_line(list(units[-1]), statement):
            units[-1] = (*units[-1], statement)
        else:
            units.append((statement,))
    out: list[Statement] = []
    index = 0
    while index < len(units):
        best_period, best_count = 0, 1
        for period in range(1, min(longest, (len(units) - index) // 2) + 1):
            unit = units[index : index + period]
            count = 1
            while units[index + count * period : index + (count + 1) * period] == unit:
                count += 1
            if count > 1 and period * count > best_period * best_count:
                best_period, best_count = period, count
        if best_count > 1:
            run = [s for u in units[index : index + best_period * best_count] for s in u]
            body = tuple(s for u in units[index : index + best_period] for s in u)
            out.append(Repeat(best_count, body, origin_of(run), _sources(run)))
            index += best_period * best_count
        else:
            out.extend(units[index])
            index += 1
    return tuple(out)


def _sources(statements) -> tuple[str, ...]:
    return tuple(dict.fromkeys(path for statement in statements for path in sources_of(statement)))


# -- 3. templates and parameters ----------------------------------------------------------


def shape_key(statement: Statement):
    """A statement's structure, numbers left out; `repeat n { X }` is keyed as X (so that X and a repeat of it unify)."""
    if isinstance(statement, Layer):
        return (
            "layer",
            statement.kind,
            tuple(arg.name if arg.name not in FIXED else (arg.name, arg.value) for arg in statement.args),
            statement.flags,
            shape_key(statement.activation) if statement.activation is not None else None,
        )
    if isinstance(statement, Call):
        return ("call", statement.block)
    if isinstance(statement, Repeat):
        return shape_key(statement.body[0]) if len(statement.body) == 1 else ("repeat", keys(statement.body))
    return (type(statement).__name__, tuple(keys(body) for body in children(statement)), getattr(statement, "split", None), statement.shortcut is None if isinstance(statement, Residual) else None)


def keys(statements) -> tuple:
    return tuple(shape_key(s) for s in statements)


def lift(instances: list[tuple[Statement, ...]]) -> list[tuple[Statement, ...]]:
    """Instances with equal keys made structurally identical: a lone X becomes `repeat 1 { X }` where others repeat it."""
    columns = []
    for column in zip(*instances):
        column = list(column)
        single_repeats = [isinstance(s, Repeat) and len(s.body) == 1 for s in column]
        if any(single_repeats) and not all(single_repeats):
            column = [s if repeated else Repeat(1, (s,), s.origin, _sources([s])) for s, repeated in zip(column, single_repeats)]
        lists = [children(s) for s in column]
        if lists and lists[0]:
            lifted = [lift([own[k] for own in lists]) for k in range(len(lists[0]))]
            column = [with_children(s, [lifted[k][i] for k in range(len(lifted))]) for i, s in enumerate(column)]
        columns.append(column)
    return [tuple(column[i] for column in columns) for i in range(len(instances))]


def map_values(statements, function) -> tuple[Statement, ...]:
    """The statements with every number replaced by `function(role, value)`, in one fixed order."""
    out = []
    for statement in statements:
        if isinstance(statement, Layer):
            args = tuple(arg if arg.name in FIXED else replace(arg, value=function(_role(arg.name), arg.value)) for arg in statement.args)
            activation = map_values((statement.activation,), function)[0] if statement.activation is not None else None
            out.append(replace(statement, args=args, activation=activation))
        elif isinstance(statement, Call):
            args = tuple(function(_call_role(param), value) for param, value in zip(statement.params, statement.args))
            out.append(replace(statement, args=args))
        elif isinstance(statement, Repeat):
            count = function(ROLES["count"], statement.count)
            out.append(replace(statement, count=count, body=map_values(statement.body, function)))
        else:
            out.append(with_children(statement, [map_values(body, function) for body in children(statement)]))
    return tuple(out)


def _role(name: str) -> tuple[str, str]:
    return ROLES.get(name, (name, "window"))


def _call_role(param: BlockParam) -> tuple[str, str]:
    return (param.name, param.family)


def parametrise(instances: list[tuple[Statement, ...]], outputs: list[int | None]):
    """(template, parameters, each instance's arguments): the columns of numbers that differ become parameters."""
    records = []
    for instance in instances:
        found: list = []
        map_values(instance, lambda role, value, found=found: found.append((role, value)) or value)
        records.append(found)
    roles = [role for role, _ in records[0]]
    columns = [tuple(record[j][1] for record in records) for j in range(len(roles))]
    varying: dict[tuple, int] = {}  # (family, column) -> parameter index
    parameters: list[tuple[tuple[str, str], tuple]] = []
    column_parameter: list[int | None] = []
    for role, column in zip(roles, columns):
        if len(set(column)) == 1:
            column_parameter.append(None)
            continue
        key = (role[1], column)
        if key not in varying:
            varying[key] = len(parameters)
            parameters.append((role, column))
        column_parameter.append(varying[key])
    order = sorted(range(len(parameters)), key=lambda i: (FAMILY_ORDER.get(parameters[i][0][1], 9), i))
    names = _names([parameters[i] for i in order], outputs)
    name_of = {index: names[position] for position, index in enumerate(order)}
    position = iter(range(len(roles)))

    def substitute(role, value):
        index = column_parameter[next(position)]
        return value if index is None else Param(name_of[index])

    template = map_values(instances[0], substitute)
    params = tuple(BlockParam(name_of[i], parameters[i][0][1]) for i in order)
    arguments = [tuple(parameters[i][1][k] for i in order) for k in range(len(instances))]
    return template, params, arguments


def _names(parameters, outputs) -> list[str]:
    """Names for parameters (in their final order): role names, `out`/`mid` for several channel counts, numbered when equal."""
    names = [role[0] for role, _ in parameters]
    filters = [i for i, name in enumerate(names) if name == "c"]
    if len(filters) > 1:
        # The channels a block ends with are `out`, the others `mid`, `mid2`...; without an `out`, `c1`, `c2`...
        out = [i for i in filters if all(o is not None and v == o for v, o in zip(parameters[i][1], outputs))]
        middle = 0
        for i in filters:
            if out and i == out[0]:
                names[i] = "out"
            else:
                middle += 1
                names[i] = (f"mid{middle}" if middle > 1 else "mid") if out else f"c{middle}"
    counts = Counter(names)
    seen: Counter = Counter()
    final = []
    for name in names:
        if not naming.acceptable(name) and name not in ("c", "k", "s", "p", "g", "d", "n", "f"):
            name = f"{name}_"
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}{seen[name]}" if seen[name] > 1 else name
        final.append(name)
    return _distinct(final)


def _distinct(names: list[str]) -> list[str]:
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, number = name, 2
        while candidate in taken:
            candidate = f"{name}{number}"
            number += 1
        taken.add(candidate)
        out.append(candidate)
    return out


# -- 3. blocks ---------------------------------------------------------------------------


class Structurer:
    """Turns the decomposed statements into blocks and a main statement list."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.taken: set[str] = set()
        # class -> the markers (residual, shortcut...) of its first block: later variants are named by how they differ.
        self.first_variant: dict[str, set[str]] = {}

    def run(self, statements) -> tuple[list[Block], tuple[Statement, ...]]:
        tree = regionize(fold(statements))
        while True:
            # The innermost regions: each round decides one level of the module tree, all instances at once.
            regions = [r for r in _regions(tree) if next(_regions(r.body), None) is None]
            if not regions:
                break
            tree = _replace(tree, self.decide(regions, tree))
        # Stages are looked for before runs of several statements become repeats (which could cut across them).
        tree = self.stages(collapse(tree, 1))
        return self.blocks, collapse(tree)

    def decide(self, regions: list[Region], tree: tuple[Statement, ...]) -> dict[int, tuple[Statement, ...]]:
        """Each region's replacement: a call of a block, or its statements written out."""
        by_class: dict[str, list[Region]] = {}
        for region in regions:
            by_class.setdefault(region.scope.qualified, []).append(region)
        decisions: dict[int, tuple[Statement, ...]] = {}
        for qualified, members_of_class in by_class.items():
            # Instances are compared with their runs as repeats, unless that splits the class into more variants
            # than comparing them as written: equal numbers in one instance (Inception's 192 in every layer of
            # Mixed_6e) make repeats its siblings do not have; then the block's body is collapsed instead.
            collapsed = {id(r): collapse(r.body) for r in members_of_class}
            written = {id(r): tuple(r.body) for r in members_of_class}
            grouped = {source: _variants(members_of_class, bodies) for source, bodies in (("collapsed", collapsed), ("written", written))}
            source = "written" if len(grouped["written"]) < len(grouped["collapsed"]) else "collapsed"
            bodies = collapsed if source == "collapsed" else written
            for members in sorted(grouped[source], key=lambda members: -len(members)):
                instances = lift([bodies[id(r)] for r in members])
                outputs = [_channels(r.origin.shape) for r in members]
                template, params, arguments = parametrise(instances, outputs)
                template = collapse(template)
                markers = _markers(instances[0])
                base = self._base_name(members)
                main = self.first_variant.get(base, markers)
                name = base + ("" if main is markers else _suffix(markers, main))
                calls = {
                    id(region): (Call(name, args, replace(region.origin, stack=region.origin.stack[:-1]), (region.scope.path,), params),)
                    for region, args in zip(members, arguments)
                }
                if len(members) < 2 or not _worth_a_block(tree, members, calls, template):
                    decisions.update({id(region): _written_out(region) for region in members})
                    continue
                self.first_variant.setdefault(base, markers)
                unique = naming.unique(name, self.taken)
                if unique != name:
                    calls = {key: (replace(call, block=unique),) for key, (call,) in calls.items()}
                paths = tuple(r.scope.path for r in members)
                self.blocks.append(Block(unique, params, template, qualified, paths, _summary(members[0], paths)))
                decisions.update(calls)
        return decisions

    def _base_name(self, members: list[Region]) -> str:
        """The class's name in snake case; for a container (nn.Sequential), the module that holds it or its attribute."""
        scope = members[0].scope
        if scope.class_name not in naming.CONTAINERS:
            return naming.snake(scope.class_name)
        parent = members[0].origin.stack[-2] if len(members[0].origin.stack) > 1 else None
        if parent is not None and parent.class_name not in naming.CONTAINERS:
            return naming.snake(parent.class_name)  # the body of a module: InvertedResidual's `conv`
        attributes = {re.sub(r"\d+$", "", r.scope.path.rpartition(".")[2]) for r in members}
        attribute = attributes.pop() if len(attributes) == 1 else ""
        if attribute and naming.acceptable(attribute):
            return attribute  # ResNet's layer1..layer4
        return "stage"  # numbered entries of a container

    def stages(self, statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
        """VGG-like runs in the top-level list: segments ending in the same pooling layer, as a block."""
        best = None
        separators = [s for s in statements if isinstance(s, Layer) and s.kind in ("pool", "avgpool") and not any(a.name == "to" for a in s.args)]
        for separator in dict.fromkeys(separators):
            ends = [i for i, s in enumerate(statements) if s == separator]
            if len(ends) < 2:
                continue
            for run in _stage_runs(statements, ends):
                instances = [collapse(statements[a:b]) for a, b in run]
                saving = sum(count_lines(instance) for instance in instances) - (count_lines(instances[0]) + 2 + len(run))
                if saving >= 0 and (best is None or saving > best[0]):
                    best = (saving, run, instances)
        if best is None:
            return statements
        _, segments, instances = best
        instances = lift(instances)
        outputs = [_channels(statements[b - 1].origin.shape) for _, b in segments]
        template, params, arguments = parametrise(instances, outputs)
        name = naming.unique("stage", self.taken)
        paths = tuple(path for a, b in segments for path in _sources(statements[a:b]))
        summary = f"{len(segments)} stages, each ending in `{words(statements[segments[0][1] - 1])}`" + (
            f" ({compact_paths(paths)})" if paths else ""
        )
        self.blocks.append(Block(name, params, template, "", paths, summary))
        out = list(statements[: segments[0][0]])
        for (a, b), args in zip(segments, arguments):
            out.append(Call(name, args, origin_of(statements[a:b]), _sources(statements[a:b]), params))
        out.extend(statements[segments[-1][1] :])
        return tuple(out)


def _worth_a_block(tree, members: list[Region], calls: dict[int, tuple[Call]], template) -> bool:
    """Whether the whole program takes no more lines with the block (its definition included) than without.

    Counted on the whole text, because a call can be shorter than what it
    stands for: Inception's one-line conv-bn-relu as a block lets a branch
    of three of them fit on one line.
    """
    without = count_lines(_replace(tree, {id(r): _written_out(r) for r in members}))
    with_block = count_lines(_replace(tree, calls)) + count_lines(template) + 2
    return with_block <= without


def _variants(regions: list[Region], bodies: dict[int, tuple[Statement, ...]]) -> list[list[Region]]:
    """The regions grouped by the structure of their bodies (numbers aside)."""
    groups: dict[tuple, list[Region]] = {}
    for region in regions:
        groups.setdefault(keys(bodies[id(region)]), []).append(region)
    return list(groups.values())


def _written_out(region: Region) -> tuple[Statement, ...]:
    """A region's statements in place; two or three block calls (ResNet-18's `down 128; basic 128`) on one line."""
    body = collapse(region.body, 1)
    calls = all(isinstance(s, Call) or (isinstance(s, Repeat) and all(isinstance(b, Call) for b in s.body)) for s in body)
    if calls and 2 <= len(body) <= 3:
        return (Group(body, region.origin, (region.scope.path,)),)
    return body


def _stage_runs(statements, ends: list[int]) -> list[list[tuple[int, int]]]:
    """Runs of two or more consecutive segments (each up to and including a separator) with one structure."""
    segments = [(ends[j - 1] + 1, ends[j] + 1) for j in range(1, len(ends))]
    key = lambda segment: keys(collapse(statements[segment[0] : segment[1]]))  # noqa: E731
    # The first segment starts where a segment like the second would.
    for start in range(ends[0], -1, -1):
        if segments and key((start, ends[0] + 1)) == key(segments[0]):
            segments.insert(0, (start, ends[0] + 1))
            break
    runs = []
    current: list[tuple[int, int]] = []
    for segment in segments:
        if current and key(segment) == key(current[0]) and current[-1][1] == segment[0]:
            current.append(segment)
            continue
        if len(current) > 1:
            runs.append(current)
        current = [segment]
    if len(current) > 1:
        runs.append(current)
    return runs


def _summary(region: Region, paths) -> str:
    scope = region.scope
    what = f"nn.{scope.class_name}" if scope.class_name in naming.CONTAINERS else scope.qualified
    return f"{what}: {compact_paths(paths)}"


def _channels(shape) -> int | None:
    if shape is None:
        return None
    return shape[1] if len(shape) in (2, 4) else None


def _markers(statements) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if isinstance(statement, Residual):
            found.add("residual")
            if statement.shortcut is not None:
                found.add("shortcut")
        elif isinstance(statement, Gate):
            found.add("gate")
        elif isinstance(statement, Branches):
            found.add("split" if statement.split else "concat")
        for body in children(statement):
            found |= _markers(body)
    return found


def _suffix(markers: set[str], main: set[str]) -> str:
    extra, missing = markers - main, main - markers
    if "shortcut" in extra:
        return "_proj"
    if "residual" in extra:
        return "_res"
    if "residual" in missing:
        return "_plain"
    if "gate" in extra:
        return "_gated"
    return ""


def _regions(statements):
    """Every region in a statement tree, outermost first."""
    for statement in statements:
        if isinstance(statement, Region):
            yield statement
        for body in children(statement):
            yield from _regions(body)


def _replace(statements, decisions: dict[int, tuple[Statement, ...]]) -> tuple[Statement, ...]:
    out: list[Statement] = []
    for statement in statements:
        if id(statement) in decisions:
            out.extend(decisions[id(statement)])
            continue
        out.append(with_children(statement, [_replace(body, decisions) for body in children(statement)]))
    return tuple(out)

