"""The steps of a diagram: what is drawn, in forward order, from the typed program."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...check.typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip, walk
from ...layers import LAYERS, DiagramStyle
from ...layers.base import SHAPE_KEEPING
from ...syntax.visitor import Visitor
from ...types.shapes import Shape

# The input's box; every other box has the style of the kind that made it.
INPUT = DiagramStyle("input", "#b0bec5", "input")


@dataclass(eq=False)
class Step:
    """One box (or one (+) node) and the layers that produce it."""

    kind: str  # "input", "add", or the diagram group of the layer that made the box (LayerKind.diagram)
    shape: Shape
    layers: list[tuple[int, TypedLayer]] = field(default_factory=list)  # (index in program.layers, layer)
    calls: tuple = ()  # the block calls it was expanded from, outermost first (CallSite)
    opens: list[int] = field(default_factory=list)  # residuals whose body starts here
    closes: int | None = None  # for "add": the residual it closes
    residual: TypedResidual | None = None
    shortcut: list[tuple[int, TypedLayer]] = field(default_factory=list)
    # A concat's or split's join, or a gate's multiply, drawn as a node like the (+):
    # the node, the further arcs it closes (a concat's other branches), and the
    # layers written along each of them.
    join: TypedConcat | TypedGate | None = None
    also_closes: list[int] = field(default_factory=list)
    paths: dict[int, list[tuple[int, TypedLayer]]] = field(default_factory=dict)
    drawn: Shape | None = None  # the shape at the drawn size (a symbolic program); else `shape`
    style: DiagramStyle | None = None  # a box's colour and legend entry (None for a (+) node)
    # Geometry, filled in by measure() and layout().
    gap: float = 0.0
    slot: float = 0.0
    above: float = 0.0
    below: float = 0.0
    x: float = 0.0
    axis: float = 0.0


def arc_layers(step: Step, rid: int) -> list[tuple[int, TypedLayer]]:
    """The layers written along arc `rid`, which ends at `step`: a projection shortcut's, a branch's."""
    if rid in step.paths:
        return step.paths[rid]
    return step.shortcut if rid == step.closes else []


def _is_box(layer: TypedLayer) -> bool:
    """A layer gets its own box when it computes a new map or changes the shape."""
    return bool(layer.macs) or layer.output != layer.input  # macs: an int, or a symbolic Count


def drawn_size(step: Step) -> Shape:
    """The shape the box is drawn at: concrete even for a symbolic program."""
    return step.drawn if step.drawn is not None else step.shape


class _Twins(Visitor):
    """Pairs each node of a symbolic program with the same node of an instance of it."""

    walks = NODES

    def __init__(self) -> None:
        self.table: dict[int, Node] = {}

    def pair(self, nodes: list[Node], others: list[Node]) -> None:
        if len(nodes) != len(others):
            raise ValueError("the program at the drawn size does not have the same layers")
        for node, other in zip(nodes, others):
            if type(node) is not type(other):
                raise ValueError("the program at the drawn size does not have the same layers")
            self.table[id(node)] = other
            self.visit(node, other)

    def visit_TypedLayer(self, node: TypedLayer, other: TypedLayer) -> None:
        pass

    def visit_TypedResidual(self, node: TypedResidual, other: TypedResidual) -> None:
        self.pair(node.body, other.body)
        self.pair(node.shortcut or [], other.shortcut or [])

    def visit_TypedConcat(self, node: TypedConcat, other: TypedConcat) -> None:
        self.pair(node.branches, other.branches)

    def visit_TypedBranch(self, node: TypedBranch | TypedGate, other: TypedBranch | TypedGate) -> None:
        self.pair(node.body, other.body)

    visit_TypedGate = visit_TypedBranch

    visit_TypedSkip = visit_TypedResidual


class _Steps(Visitor):
    """Appends the steps of typed nodes to `steps`, in forward order."""

    walks = NODES

    def __init__(self, steps: list[Step], index: dict[int, int], drawn) -> None:
        self.steps = steps
        self.index = index  # id(layer) -> its position in program.layers
        self.drawn = drawn  # node -> its shape at the drawn size, or None
        self.residuals = 0  # residuals met so far: they number the (+) nodes
        self.last: Step | None = None  # the last step made in this sequence (shape-keeping layers join it)

    def run(self, nodes: list[Node]) -> None:
        """One sequence (the program, or a residual's body): its own `last`."""
        outer, self.last = self.last, None
        self.visit_all(nodes)
        self.last = outer

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        self.residuals += 1
        mark = len(self.steps)
        self.run(node.body)
        # Numbered after the body, as the drawing always was: a residual nested
        # in the body shares this number, and layout keeps one arc for the two.
        number = self.residuals
        add = Step("add", node.output, calls=node.calls, closes=number, residual=node, drawn=self.drawn(node))
        add.shortcut = [(self.index[id(layer)], layer) for layer in walk(node.shortcut or [])]
        self.steps.append(add)
        self.steps[mark].opens.append(number)  # the body's first step, or the (+) itself
        self.last = add

    def visit_TypedSkip(self, node: TypedSkip) -> None:
        """An arc from where the map is kept to the join (svg.py draws the join's glyph and title).

        Numbered before its body, unlike a residual: the U-Net's skips nest,
        and each keeps its own arc.
        """
        self.residuals += 1
        number = self.residuals
        mark = len(self.steps)
        self.run(node.body)
        join = Step("add", node.output, calls=node.calls, closes=number, residual=node, drawn=self.drawn(node))
        self.steps.append(join)
        self.steps[mark].opens.append(number)
        self.last = join

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        """The branch with the most layers is drawn inline; each other one as an arc from the
        concat's input to the join, its layers written along it (as a projection shortcut's)."""
        sizes = [len(walk(branch.body)) for branch in node.branches]
        inline = sizes.index(max(sizes))
        mark = len(self.steps)
        self.visit(node.branches[inline])
        join = Step("add", node.output, calls=node.calls, join=node, drawn=self.drawn(node))
        self.steps.append(join)
        for index, branch in enumerate(node.branches):
            if index == inline:
                continue
            self.residuals += 1
            if join.closes is None:
                join.closes = self.residuals
            else:
                join.also_closes.append(self.residuals)
            join.paths[self.residuals] = [(self.index[id(layer)], layer) for layer in walk(branch.body)]
            self.steps[mark].opens.append(self.residuals)  # the inline branch's first step, or the join
        self.last = join

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        self.run(node.body)

    def visit_TypedGate(self, node: TypedGate) -> None:
        """The body inline, the input carried over it on an arc to the multiply."""
        self.residuals += 1
        number = self.residuals
        mark = len(self.steps)
        self.run(node.body)
        gate = Step("add", node.output, calls=node.calls, closes=number, join=node, drawn=self.drawn(node))
        self.steps.append(gate)
        self.steps[mark].opens.append(number)
        self.last = gate

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        entry = (self.index[id(node)], node)
        last = self.last
        if last is not None and not _is_box(node) and _chain(last.calls) == _chain(node.calls):
            last.layers.append(entry)
            last.shape = node.output
            last.drawn = self.drawn(node)
            return
        style = node.kind.diagram
        self.last = Step(style.group, node.output, [entry], calls=node.calls, drawn=self.drawn(node), style=style)
        self.steps.append(self.last)


def build_steps(program: TypedProgram, at: TypedProgram | None = None) -> list[Step]:
    """The steps of a program; `at`, an instance of a symbolic program, sizes the boxes."""
    assert program.input is not None
    index = {id(layer): i for i, layer in enumerate(program.layers)}
    twin: dict[int, Node] = {}
    if at is not None:
        twins = _Twins()
        twins.pair(program.nodes, at.nodes)
        twin = twins.table

    def drawn(node: Node) -> Shape | None:
        return twin[id(node)].output if at is not None else None

    steps = [Step("input", program.input, drawn=at.input if at is not None else None, style=INPUT)]
    _Steps(steps, index, drawn).run(program.nodes)
    return steps


def _chain(calls) -> tuple[int, ...]:
    """The identity of a call chain: one expansion of a block is one CallSite object."""
    return tuple(id(call) for call in calls)


def call_key(step: Step, level: int) -> int | None:
    return id(step.calls[level]) if len(step.calls) > level else None


def layer_words(layer: TypedLayer) -> str:
    """A short label in the .cnn notation: `conv 64 k3 s2 p1`, `pool 2`, `linear 10` (the kind writes it)."""
    return layer.kind.label(layer.config)


def legend_styles() -> list[DiagramStyle]:
    """Every box style in legend order: the input, the kinds' own styles in table order, shape-keeping layers last."""
    styles = [INPUT]
    for kind in LAYERS:
        if kind.diagram != SHAPE_KEEPING and kind.diagram not in styles:
            styles.append(kind.diagram)
    return styles + [SHAPE_KEEPING]

