"""The receptive field of every typed node, computed once the program is checked.

A layer's field depends on the path that leads to it, not on the layer
alone, so it cannot be inferred with the layer (the checker memoises and
copies typed layers): this walk runs after the check, in forward order,
carrying the field of the current units (cnndsl/types/fields.py has the
algebra). Each layer kind gives its rule per axis (`LayerKind.window`); a
residual's field is the union of its body's and its shortcut's (the input's,
for an identity shortcut), a concat's or split's the union of its branches'
(a split's parts are channels: the same positions), a gate's the union of
its input's and its body's (stretched over every unit along an axis where
the body ends in one unit).

It sets `receptive_input` and `receptive_field` on every typed node, and
finds the first node whose unit sees more than a fixed input (N0001, a note,
which `check_module` reports when the program has no error).
"""

from __future__ import annotations

from ..layers.values import Site
from ..syntax.visitor import Visitor
from ..types.fields import (
    ALIGNED, UNIT_FIELD, AdaptiveWindow, AxisWindow, ReceptiveField, UnevenAxis, WholeAxis, join, step_arithmetic,
)  # fmt: skip
from ..types.shapes import MapType, Shape
from .typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip


def annotate(program: TypedProgram) -> tuple[Node, ReceptiveField] | None:
    """Set the receptive fields of `program`'s nodes. Returns the first node whose unit sees more than a
    fixed input, with its field (for N0001: `report_exceeding`), or None."""
    if not isinstance(program.input, MapType):
        return None  # no input, or a vector (a generator's latent code): no image for a field to lie in
    walk = _FieldWalk(program)
    walk.sequence(program.nodes, UNIT_FIELD)
    return walk.exceeding


class _FieldWalk(Visitor):
    """Each node gets the field of its input units (the argument) and returns that of its output units."""

    walks = NODES

    def __init__(self, program: TypedProgram) -> None:
        shape = program.input
        sizes = (shape.height, shape.width)
        self.input_size = sizes if all(isinstance(size, int) for size in sizes) else None
        self.exceeding: tuple[Node, ReceptiveField] | None = None
        # Each configuration's rules, asked once (the checker shares one configuration object between
        # the layers a statement makes); a square one as one object for both axes, so that a square
        # field is computed once.
        self.rules: dict[int, tuple] = {}

    def sequence(self, nodes: list[Node], field: ReceptiveField) -> ReceptiveField:
        methods = self.methods
        for node in nodes:
            field = methods[node.__class__](self, node, field)
        return field

    def window(self, layer: TypedLayer):
        known = self.rules.get(id(layer.config))
        if known is not None and known[0] is layer.config:
            return known[1]
        rules = layer.kind.window(layer.config)
        if rules is not None and rules[0] == rules[1]:
            rules = (rules[0], rules[0])
        self.rules[id(layer.config)] = (layer.config, rules)
        return rules

    def visit_TypedLayer(self, layer: TypedLayer, field: ReceptiveField) -> ReceptiveField:
        layer.receptive_input = field
        shape = layer.input
        if isinstance(shape, MapType):
            field = field.through(self.window(layer), shape.height, shape.width)
        else:  # a vector: only WHOLE rules (a linear layer) apply, whatever the sizes
            field = field.through(self.window(layer), 1, 1)
        layer.receptive_field = field
        if self.exceeding is None and self.input_size is not None:
            self._check(layer, field, units(layer.output, layer.input))
        return field

    def visit_TypedResidual(self, node: TypedResidual, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        body = self.sequence(node.body, field)
        shortcut = self.sequence(node.shortcut, field) if node.shortcut is not None else field
        return self._joined(node, [body, shortcut])

    def visit_TypedSkip(self, node: TypedSkip, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        body = self.sequence(node.body, field)
        kept = kept_field(node, field)
        return self._joined(node, [kept, body])

    def visit_TypedConcat(self, node: TypedConcat, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        return self._joined(node, [self.visit(branch, field) for branch in node.branches])

    def visit_TypedBranch(self, node: TypedBranch, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        node.receptive_field = self.sequence(node.body, field)
        return node.receptive_field

    def visit_TypedGate(self, node: TypedGate, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        return self._joined(node, [field, gate_field(node, self.sequence(node.body, field))])

    def _joined(self, node, parts: list[ReceptiveField]) -> ReceptiveField:
        """A join's field (the union of its parts'), set on the node and checked against the input."""
        joined = join(parts)
        node.receptive_field = joined
        self._check(node, joined, units(node.output, node.input))
        return joined

    def _check(self, node: Node, field: ReceptiveField, output_size: tuple[int, int]) -> None:
        if self.exceeding is None and self.input_size is not None and field.exceeds(self.input_size, output_size):
            self.exceeding = (node, field)


def crop_offsets(node: TypedSkip) -> tuple:
    """The units a `crop` cuts off the kept map's top and left: (kept - body) // 2 per axis (0 without crop)."""
    if not node.crop:
        return 0, 0
    kept = (node.input.height, node.input.width)
    body = node.body[-1].output if node.body else node.input
    offsets = []
    for size, target in zip(kept, (body.height, body.width)):
        offsets.append((size - target) // 2 if isinstance(size, int) and isinstance(target, int) else None)
    return tuple(offsets)


def kept_field(node: TypedSkip, field: ReceptiveField) -> ReceptiveField:
    """The field of the kept map's units as the join meets them (a crop starts them further on)."""
    top, left = crop_offsets(node)
    return ReceptiveField(field.height.shifted(top), field.width.shifted(left))


def gate_field(node: TypedGate, body: ReceptiveField) -> ReceptiveField:
    """The field of a gate's body as the product sees it: along an axis where the body ends in one unit and
    the input does not, that unit multiplies every unit (its paths get jump 0)."""
    gate, shape = units(node.gate, node.gate), units(node.input, node.input)
    stretched = [size == 1 and along != 1 for size, along in zip(gate, shape)]
    if body.width is body.height and stretched[0] == stretched[1]:
        axis = body.height.broadcast() if stretched[0] else body.height
        return ReceptiveField(axis, axis)
    return ReceptiveField(*(axis.broadcast() if stretch else axis for axis, stretch in zip(body.axes, stretched)))


def units(output: Shape, input: Shape) -> tuple:
    """The output units along each axis that a field's extent ranges over (a vector's are its map's)."""
    for shape in (output, input):
        if isinstance(shape, MapType):
            return shape.height, shape.width
    return 1, 1


def report_exceeding(site: Site, program: TypedProgram, node: Node, field: ReceptiveField) -> None:
    """N0001, a note, at the first node whose field is larger than the input (`site` carries its call chain)."""
    shape = program.input
    text = field.text(units(node.output, node.input))
    site.report(
        "N0001",
        node.span,
        f"one unit here sees more than the whole {shape.height}x{shape.width} input: receptive field {text}",
        label=f"receptive field {text}",
        notes=[
            "from here on every unit's field reaches past the input's borders: "
            "at the borders, what the layers after this one add to it is padding",
        ],
    )


def field_arithmetic(node: Node) -> tuple[str, ...]:
    """How a node's receptive field follows from its input's, for `--explain` and hover.

    `field: r = 6 + (5 - 1)*4 = 22, jump 4*1 = 4, padding 0 + 2*4 = 8` for a
    window (one line per axis when the axes differ); the union for a
    residual; nothing for a layer that keeps the field.
    """
    before, after = node.receptive_input, node.receptive_field
    if before is None or after is None:
        return ()
    spatial = units(node.output, node.input)
    if isinstance(node, TypedSkip):
        body = node.body[-1].receptive_field if node.body else before
        kept = kept_field(node, before).text(spatial)
        return (f"field: union of the kept map's {kept} and the body's {body.text(spatial)} = {after.text(spatial)}",)
    if isinstance(node, TypedResidual):
        body = node.body[-1].receptive_field if node.body else before
        other = node.shortcut[-1].receptive_field if node.shortcut else before
        which = "shortcut's" if node.shortcut is not None else "input's (identity)"
        return (f"field: union of the body's {body.text(spatial)} and the {which} {other.text(spatial)} = {after.text(spatial)}",)
    if isinstance(node, TypedConcat):
        fields = ", ".join(branch.receptive_field.text(spatial) for branch in node.branches)
        return (f"field: union of the branches' {fields} = {after.text(spatial)}",)
    if isinstance(node, TypedGate):
        body = node.body[-1].receptive_field if node.body else before
        gate = gate_field(node, body)
        stretched = " (one unit, for every unit)" if gate != body else ""
        return (f"field: union of the input's {before.text(spatial)} and the gate's {gate.text(spatial)}{stretched} = {after.text(spatial)}",)
    if isinstance(node, TypedBranch):
        return ()
    rules = node.kind.window(node.config)
    if rules is None:
        return ()
    sizes = (node.input.height, node.input.width) if isinstance(node.input, MapType) else (None, None)
    lines = []
    for axis, (rule, was, now, size) in zip(("height", "width"), zip(rules, before.axes, after.axes, sizes)):
        if was.form != ALIGNED:
            continue  # the whole input, or not one extent: whatever the window, it stays so
        if isinstance(rule, UnevenAxis):
            lines.append(f"field {axis}: one unit spread over several (a fractional jump): fields of different sizes")
        elif isinstance(rule, WholeAxis):
            lines.append(f"field {axis}: every output unit reads every input unit: the whole input")
        elif isinstance(rule, AdaptiveWindow):
            if rule.size == 1:
                lines.append(f"field {axis}: one window over all {size} units: the whole input")
            elif now.form != ALIGNED:
                lines.append(f"field {axis}: adaptive windows of {size} into {rule.size}: {now.text(1)}")
            else:
                window = size // rule.size
                lines.append(f"field {axis}: windows of {size}/{rule.size} = {window}: " + step_arithmetic(was, AxisWindow(window, window)))
        else:
            lines.append(f"field {axis}: " + step_arithmetic(was, rule))
    if len(lines) == 2 and lines[0].partition(": ")[2] == lines[1].partition(": ")[2]:
        return ("field: " + lines[0].partition(": ")[2],)
    return tuple(lines)
