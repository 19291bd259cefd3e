"""The receptive field of every typed node, computed once the program is checked.

A layer's field depends on the path that leads to it, not on the layer
alone, so it cannot be inferred with the layer (the checker memoises and
copies typed layers): this walk runs after the check, in forward order,
carrying the field of the current units (cnndsl/types/fields.py has the
algebra). Each layer kind gives its rule per axis (`LayerKind.window`); a
residual's field is the union of its body's and its shortcut's (the input's,
for an identity shortcut).

It sets `receptive_input` and `receptive_field` on each TypedLayer and
`receptive_field` on each TypedResidual, and reports N0001 (a note) at the
first node whose unit sees more than the whole input, for a concrete input.
"""

from __future__ import annotations

from ..diagnostics.model import Reporter
from ..syntax.visitor import Visitor
from ..types.fields import ALIGNED, UNIT_FIELD, AdaptiveWindow, AxisWindow, ReceptiveField, WholeAxis, step_arithmetic, union
from ..types.shapes import MapType, Shape
from .typed import NODES, Node, TypedLayer, TypedProgram, TypedResidual


def annotate(program: TypedProgram, reporter: Reporter | None = None) -> None:
    """Set the receptive fields of `program`'s nodes; with a reporter, the N0001 note where one exceeds the input."""
    if program.input is None:
        return
    walk = _FieldWalk(program)
    walk.sequence(program.nodes, UNIT_FIELD)
    if reporter is not None and walk.exceeding is not None and program.ok:
        _report_exceeding(reporter, program, *walk.exceeding)


class _FieldWalk(Visitor):
    """Each node gets the field of its input units (the argument) and returns that of its output units."""

    walks = NODES

    def __init__(self, program: TypedProgram) -> None:
        shape = program.input
        sizes = (shape.height, shape.width)
        self.input_size = sizes if all(isinstance(size, int) for size in sizes) else None
        self.exceeding: tuple[Node, ReceptiveField] | None = None

    def sequence(self, nodes: list[Node], field: ReceptiveField) -> ReceptiveField:
        for node in nodes:
            field = self.visit(node, field)
        return field

    def visit_TypedLayer(self, layer: TypedLayer, field: ReceptiveField) -> ReceptiveField:
        layer.receptive_input = field
        shape = layer.input
        if isinstance(shape, MapType):
            field = field.through(layer.kind.window(layer.config), shape.height, shape.width)
        else:  # a vector: only WHOLE rules (a linear layer) apply, whatever the sizes
            field = field.through(layer.kind.window(layer.config), 1, 1)
        layer.receptive_field = field
        self._check(layer, field, units(layer.output, layer.input))
        return field

    def visit_TypedResidual(self, node: TypedResidual, field: ReceptiveField) -> ReceptiveField:
        node.receptive_input = field
        body = self.sequence(node.body, field)
        shortcut = self.sequence(node.shortcut, field) if node.shortcut is not None else field
        joined = ReceptiveField(union([body.height, shortcut.height]), union([body.width, shortcut.width]))
        node.receptive_field = joined
        self._check(node, joined, units(node.output, node.input))
        return joined

    def _check(self, node: Node, field: ReceptiveField, output_size: tuple[int, int]) -> None:
        if self.exceeding is None and self.input_size is not None and field.exceeds(self.input_size, output_size):
            self.exceeding = (node, field)


def units(output: Shape, input: Shape) -> tuple:
    """The output units along each axis that a field's extent ranges over (a vector's are its map's)."""
    for shape in (output, input):
        if isinstance(shape, MapType):
            return shape.height, shape.width
    return 1, 1


def _report_exceeding(reporter: Reporter, program: TypedProgram, node: Node, field: ReceptiveField) -> None:
    shape = program.input
    spatial = units(node.output, node.input)
    text = field.text(spatial)
    notes = [
        "from here on every unit's field reaches past the input's borders: "
        "at the borders, what the layers after this one add to it is padding",
    ]
    related = []
    if node.calls:
        notes.append(", ".join(f"in {c.text}, called at line {c.line}" for c in reversed(node.calls)))
        related.append((node.calls[-1].span, f"in {node.calls[-1].text}, called here"))
    reporter.report(
        "N0001",
        node.span,
        f"one unit here sees more than the whole {shape.height}x{shape.width} input: receptive field {text}",
        label=f"receptive field {text}",
        notes=notes,
        related=related,
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
    if isinstance(node, TypedResidual):
        body = node.body[-1].receptive_field if node.body else before
        other = node.shortcut[-1].receptive_field if node.shortcut else before
        spatial = units(node.output, node.input)
        which = "shortcut's" if node.shortcut is not None else "input's (identity)"
        return (f"field: union of the body's {body.text(spatial)} and the {which} {other.text(spatial)} = {after.text(spatial)}",)
    rules = node.kind.window(node.config)
    if rules is None:
        return ()
    sizes = (node.input.height, node.input.width) if isinstance(node.input, MapType) else (None, None)
    lines = []
    for axis, (rule, was, now, size) in zip(("height", "width"), zip(rules, before.axes, after.axes, sizes)):
        if was.form != ALIGNED:
            continue  # the whole input, or not one extent: whatever the window, it stays so
        if isinstance(rule, WholeAxis):
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
