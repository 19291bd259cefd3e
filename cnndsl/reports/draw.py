"""`cnnc draw`: the architecture as a self-contained SVG diagram.

Everything drawn comes from the typed program (`TypedProgram`): the shapes,
the parameter counts, the block calls (`TypedLayer.calls`) and the residual
connections (`TypedResidual`). Nothing here computes a shape.

What the picture shows:

- Each layer that computes a new feature map or changes the shape (conv,
  pooling, flatten, linear) gets a box: an oblique prism whose height is the
  map's height H, whose receding depth is its width W and whose thickness
  along the flow is its channel count C, each on a log scale so that 224 and
  7 both read. Vectors (after `flatten`) are thin bars whose length is the
  feature count, on a log scale too. The type (`128x128x10`) is written under
  each box.
- The arrow into a box carries the layer that made it, in the .cnn notation
  (`conv 10 k3`), with the layers that keep the shape (batchnorm, dropout,
  activations) on the line below and the parameter count under them.
- A residual is a skip arc from where its input branches off to a (+) node;
  a projection shortcut's layers are written on the arc.
- The layers of one block call sit in a dashed frame titled with the call as
  written (`basic 64`) and its line.
- Long networks wrap into rows, breaking only between block calls or
  top-level layers (never inside a residual), so ResNet-34's 109 layers read
  as five rows of whole blocks.

Every leaf layer has exactly one element carrying `data-layer` (its index in
`program.layers`), `data-line` and `data-kind`, with a `<title>` (tooltip)
giving the PyTorch module, the line, the output type and the parameters.
The output is deterministic: the same program gives the same bytes.

A symbolic program (`input HxWx3 where H >= 32, W >= 32`) is drawn at one
admissible size, by default its smallest (`TypedProgram.smallest_size`): the
program checked again at that size (`TypedProgram.instantiate`) gives the
boxes' proportions and the MACs, while the labels keep the symbolic types
(`(H+1)//2 x (W+1)//2 x 64`, on two lines when long) and the header says
`drawn at 32x32; sizes H >= 32, W >= 32`. Each box's tooltip and
`data-size` attribute give its type at the drawn size.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..types.shapes import MapType, Shape
from ..types.symbolic import bounds_text
from ..check.typed import Node, TypedLayer, TypedProgram, TypedResidual

SVG_NS = "http://www.w3.org/2000/svg"
MONO = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
SANS = "DejaVu Sans, Helvetica Neue, Helvetica, Arial, sans-serif"
CHAR = 0.62  # width of a monospace character, in font sizes (a safe over-estimate)

# Colours per kind of box: the front face; the top is lighter, the side darker.
COLOURS = {
    "input": "#b0bec5",
    "conv": "#64b5f6",
    "pool": "#ffb74d",
    "avgpool": "#ffd54f",
    "flatten": "#81c784",
    "linear": "#ba68c8",
    "other": "#90a4ae",
}
INK = "#263238"
MUTED = "#546e7a"
FAINT = "#78909c"
LINE = "#455a64"

MARGIN = 24
ROW_GAP = 30
ADD_RADIUS = 9
MIN_GAP = 44
FRAME_LABEL = 22  # room for a block call's title, per nesting level
FRAME_INSET = 4
OBLIQUE = (math.cos(math.radians(35)), math.sin(math.radians(35)))


# ---------------------------------------------------------------------------
# Steps: what is drawn, in forward order


@dataclass(eq=False)
class Step:
    """One box (or one (+) node) and the layers that produce it."""

    kind: str  # "input", "add", or the kind name of the layer that made the box
    shape: Shape
    layers: list[tuple[int, TypedLayer]] = field(default_factory=list)  # (index in program.layers, layer)
    calls: tuple = ()  # the block calls it was expanded from, outermost first (CallSite)
    opens: list[int] = field(default_factory=list)  # residuals whose body starts here
    closes: int | None = None  # for "add": the residual it closes
    residual: TypedResidual | None = None
    shortcut: list[tuple[int, TypedLayer]] = field(default_factory=list)
    drawn: Shape | None = None  # the shape at the drawn size (a symbolic program); else `shape`
    # Geometry, filled in by measure() and layout().
    gap: float = 0.0
    slot: float = 0.0
    above: float = 0.0
    below: float = 0.0
    x: float = 0.0
    axis: float = 0.0


def _is_box(layer: TypedLayer) -> bool:
    """A layer gets its own box when it computes a new map or changes the shape."""
    return bool(layer.macs) or layer.output != layer.input  # macs: an int, or a symbolic Count


def _size(step: Step) -> Shape:
    """The shape the box is drawn at: concrete even for a symbolic program."""
    return step.drawn if step.drawn is not None else step.shape


def _twins(nodes: list[Node], others: list[Node], table: dict[int, Node]) -> None:
    """Pair each node of a symbolic program with the same node of an instance of it."""
    if len(nodes) != len(others):
        raise ValueError("the program at the drawn size does not have the same layers")
    for node, other in zip(nodes, others):
        if type(node) is not type(other):
            raise ValueError("the program at the drawn size does not have the same layers")
        table[id(node)] = other
        if isinstance(node, TypedResidual):
            _twins(node.body, other.body, table)
            _twins(node.shortcut or [], other.shortcut or [], table)


def build_steps(program: TypedProgram, at: TypedProgram | None = None) -> list[Step]:
    """The steps of a program; `at`, an instance of a symbolic program, sizes the boxes."""
    assert program.input is not None
    index = {id(layer): i for i, layer in enumerate(program.layers)}
    twin: dict[int, Node] = {}
    if at is not None:
        _twins(program.nodes, at.nodes, twin)

    def drawn(node: Node) -> Shape | None:
        return twin[id(node)].output if at is not None else None

    steps = [Step("input", program.input, drawn=at.input if at is not None else None)]
    counter = [0]

    def run(nodes: list[Node]) -> None:
        last: Step | None = None  # the last step made in this sequence (shape-keeping layers join it)
        for node in nodes:
            if isinstance(node, TypedResidual):
                counter[0] += 1
                mark = len(steps)
                run(node.body)
                add = Step("add", node.output, calls=node.calls, closes=counter[0], residual=node, drawn=drawn(node))
                add.shortcut = [(index[id(layer)], layer) for layer in _leaves(node.shortcut or [])]
                steps.append(add)
                steps[mark].opens.append(counter[0])  # the body's first step, or the (+) itself
                last = add
                continue
            entry = (index[id(node)], node)
            if last is not None and not _is_box(node) and _chain(last.calls) == _chain(node.calls):
                last.layers.append(entry)
                last.shape = node.output
                last.drawn = drawn(node)
                continue
            kind = node.kind.name if node.kind.name in COLOURS else "other"
            last = Step(kind, node.output, [entry], calls=node.calls, drawn=drawn(node))
            steps.append(last)

    run(program.nodes)
    return steps


def _chain(calls) -> tuple[int, ...]:
    """The identity of a call chain: one expansion of a block is one CallSite object."""
    return tuple(id(call) for call in calls)


def _key(step: Step, level: int) -> int | None:
    return id(step.calls[level]) if len(step.calls) > level else None


def _leaves(nodes: list[Node]) -> list[TypedLayer]:
    out: list[TypedLayer] = []
    for node in nodes:
        if isinstance(node, TypedLayer):
            out.append(node)
        else:
            out.extend(_leaves(node.body))
            out.extend(_leaves(node.shortcut or []))
    return out


# ---------------------------------------------------------------------------
# Words: layers in the .cnn notation


def _pair(value) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"
    return str(value)


def layer_words(layer: TypedLayer) -> str:
    """A short label in the .cnn notation: `conv 64 k3 s2 p1`, `pool 2`, `linear 10`."""
    kind, config = layer.kind, layer.config
    name = kind.name
    try:
        if name == "conv":
            words = [name, str(config["filters"]), "k" + _pair(config["kernel"])]
            if config["stride"] != (1, 1):
                words.append("s" + _pair(config["stride"]))
            if config["padding"] == "same":
                words.append("same")
            elif config["padding"] != (0, 0):
                words.append("p" + _pair(config["padding"]))
            if config["dilation"] != (1, 1):
                words.append("d" + _pair(config["dilation"]))
            if config["groups"] != 1:
                words.append(f"g{config['groups']}")
            return " ".join(words)
        if name in ("pool", "avgpool"):
            if "adaptive" in config:
                return f"{name} to {_pair(config['adaptive'])}"
            words = [name, _pair(config["window"])]
            if config["stride"] != config["window"]:
                words.append("s" + _pair(config["stride"]))
            if config["padding"] != (0, 0):
                words.append("p" + _pair(config["padding"]))
            if config["ceil"]:
                words.append("ceil")
            return " ".join(words)
        if name == "linear":
            return f"linear {config['features']}"
        if name == "dropout":
            return f"dropout {config['p']:g}"
        if name == "batchnorm":
            return "bn"
        if name == "leakyrelu" and config.get("slope", 0.01) != 0.01:
            return f"leakyrelu {config['slope']:g}"
    except (KeyError, TypeError):
        pass
    return name


def _count(n: int) -> str:
    """Parameter counts for labels: 280, 5,020, 36,864, 102.8M."""
    if n < 1_000_000:
        return f"{n:,}"
    return f"{n / 1_000_000:.1f}M"


def _tooltip(layer: TypedLayer, twin: TypedLayer | None = None, at: str = "") -> str:
    """The layer's tooltip; `twin` is the same layer in the program at the drawn size `at`."""
    where = f"line {layer.line}" + "".join(f", in {c.resolved} called at line {c.line}" for c in reversed(layer.calls))
    text = f"{where}: {layer.module} -> {layer.output}, {layer.params:,} params"
    if twin is not None and layer.input != twin.input:  # symbolic: the numbers at the drawn size
        text += f"\nat {at}: {twin.input} -> {twin.output}, {twin.macs:,} MACs"
    if layer.arithmetic:
        text += "\n" + "\n".join(layer.arithmetic)
    return text


def _width(text: str, size: float) -> float:
    return len(text) * size * CHAR


# ---------------------------------------------------------------------------
# Geometry


def _scale(n: int) -> float:
    return 10 + 12 * math.log2(max(n, 1))


@dataclass(frozen=True)
class Box:
    """An oblique prism: front face thick x high, receding by (dx, dy)."""

    thick: float
    high: float
    dx: float
    dy: float

    @property
    def width(self) -> float:
        return self.thick + self.dx

    @property
    def top(self) -> float:  # relative to the axis (negative is up)
        return -self.high / 2 - self.dy / 2

    @property
    def bottom(self) -> float:
        return self.high / 2 + self.dy / 2


def box_of(shape: Shape) -> Box:
    if isinstance(shape, MapType):
        depth = _scale(shape.width) * 0.55
        return Box(4 + 5 * math.log2(max(shape.channels, 1)), _scale(shape.height), depth * OBLIQUE[0], depth * OBLIQUE[1])
    return Box(9, 10 + 7.5 * math.log2(max(shape.features, 1)), 5 * OBLIQUE[0], 5 * OBLIQUE[1])


OP_SIZE, MINOR_SIZE, COUNT_SIZE, TYPE_SIZE = 12, 11, 10, 11
TYPE_WRAP = 30  # a longer symbolic type is written on two lines: `height x` / `width x channels`
TYPE_LEADING = TYPE_SIZE + 3


def type_lines(shape: Shape) -> list[str]:
    """The type label under a box, as lines."""
    text = str(shape)
    if len(text) <= TYPE_WRAP or not isinstance(shape, MapType):
        return [text]
    return [f"{shape.height} x", f"{shape.width} x {shape.channels}"]


def _minors(step: Step) -> list[tuple[int, TypedLayer]]:
    """The shape-keeping layers a step carries (all of them, for a (+) node)."""
    return step.layers if step.kind in ("add", "input") else step.layers[1:]


def _minor_text(step: Step) -> str:
    return " · ".join(layer_words(layer) for _, layer in _minors(step))


def _frame_inset(level: int) -> float:
    return 2 + min(level, 2) * FRAME_INSET


def measure(step: Step) -> None:
    _measure(step)
    if step.calls:  # keep clear of the nested frames' sides
        room = 2 * _frame_inset(len(step.calls) - 1)
        step.slot += room
        if step.kind != "input":
            step.gap += room


def _measure(step: Step) -> None:
    if step.kind == "add":
        minor = _minor_text(step)
        step.gap = 30
        step.slot = max(2 * ADD_RADIUS, _width(minor, MINOR_SIZE)) + 14
        step.above = ADD_RADIUS
        step.below = ADD_RADIUS + (MINOR_SIZE + 10 if minor else 0)
        return
    box = box_of(_size(step))
    lines = type_lines(step.shape)
    step.slot = max(box.width, *(_width(line, TYPE_SIZE) for line in lines)) + 14
    step.above = -box.top
    step.below = box.bottom + 16 + TYPE_LEADING * (len(lines) - 1)
    if step.kind == "input":
        step.gap = 0
        step.above = max(step.above, 0) + 18  # "input" over the box
        if step.layers:  # their line under the type
            step.below += MINOR_SIZE + 6
        return
    op = layer_words(step.layers[0][1])
    minor = _minor_text(step)
    params = sum(layer.params for _, layer in step.layers)
    count = f"{_count(params)} params" if params else ""
    step.gap = max(MIN_GAP, _width(op, OP_SIZE) + 16, _width(minor, MINOR_SIZE) + 16, _width(count, COUNT_SIZE) + 16)
    step.above = max(step.above, 8 + OP_SIZE)
    step.below = max(step.below, 4 + (MINOR_SIZE + 3) * bool(minor) + (COUNT_SIZE + 3) * bool(count) + 6)


# ---------------------------------------------------------------------------
# Layout


@dataclass
class Arc:
    rid: int
    first: int  # index of the first step of the body (or the add, for an empty body)
    add: int
    level: int = 0
    y: float = 0.0  # relative to the row axis
    inner: list[int] = field(default_factory=list)  # the arcs directly inside this one


@dataclass
class Row:
    steps: list[int]
    axis: float = 0.0
    top: float = 0.0  # extents relative to the axis
    bottom: float = 0.0
    framed: int = 0  # how deep block calls nest in this row
    width: float = 0.0


def _arcs(steps: list[Step]) -> dict[int, Arc]:
    arcs: dict[int, Arc] = {}
    opened: dict[int, int] = {}
    for i, step in enumerate(steps):
        for rid in step.opens:
            opened[rid] = i
        if step.closes is not None:
            arcs[step.closes] = Arc(step.closes, opened.get(step.closes, i), i)
    # Residuals nest properly: a stack finds each one's directly enclosing arc.
    stack: list[Arc] = []
    for arc in sorted(arcs.values(), key=lambda a: (a.first, -a.add)):
        while stack and not (stack[-1].first <= arc.first and arc.add < stack[-1].add):
            stack.pop()
        if stack:
            stack[-1].inner.append(arc.rid)
        stack.append(arc)
    # Outer arcs fly above inner ones.
    for arc in sorted(arcs.values(), key=lambda a: a.add - a.first):
        arc.level = 1 + max((arcs[rid].level for rid in arc.inner), default=-1)
    return arcs


def _units(steps: list[Step], arcs: dict[int, Arc], max_width: float) -> list[list[int]]:
    """Pieces a row may not split: a whole block call, unless it is wider than a
    row, then its parts (sub-calls, layers); never the inside of a residual."""
    inside = [0] * (len(steps) + 1)
    for arc in arcs.values():
        for i in range(arc.first + 1, arc.add + 1):
            inside[i] += 1

    def width(run: list[int]) -> float:
        return sum(steps[i].gap + steps[i].slot for i in run)

    def split(run: list[int], level: int) -> list[list[int]]:
        pieces: list[list[int]] = []
        for i in run:
            key = _key(steps[i], level)
            if pieces and (inside[i] or (key is not None and key == _key(steps[pieces[-1][-1]], level))):
                pieces[-1].append(i)
            else:
                pieces.append([i])
        out: list[list[int]] = []
        for piece in pieces:
            deeper = any(_key(steps[i], level) is not None for i in piece)
            if len(piece) > 1 and deeper and width(piece) > max_width:
                out.extend(split(piece, level + 1))
            else:
                out.append(piece)
        return out

    return split(list(range(len(steps))), 0)


def _pack(widths: list[float], limit: float) -> list[int]:
    """Greedy: the index of the first unit of each row, rows at most `limit` wide."""
    starts, width = [0], 0.0
    for index, unit in enumerate(widths):
        if index and width + unit > limit:
            starts.append(index)
            width = 0.0
        width += unit
    return starts


def _balanced(units: list[list[int]], widths: list[float], max_width: float) -> list[list[list[int]]]:
    """As few rows as fit in `max_width`, then the narrowest limit that keeps that many."""
    rows = len(_pack(widths, max_width))
    low, high = max(widths), max(max_width, max(widths))
    for _ in range(40):
        middle = (low + high) / 2
        if len(_pack(widths, middle)) <= rows:
            high = middle
        else:
            low = middle
    starts = _pack(widths, high) + [len(units)]
    return [units[a:b] for a, b in zip(starts, starts[1:])]


def layout(steps: list[Step], max_width: float) -> tuple[list[Row], dict[int, Arc]]:
    for step in steps:
        measure(step)
    arcs = _arcs(steps)
    # A projection's layers are written along its arc: make the arc long enough.
    for arc in sorted(arcs.values(), key=lambda a: a.add - a.first):
        add = steps[arc.add]
        if not add.shortcut:
            continue
        label = " · ".join(layer_words(layer) for _, layer in add.shortcut)
        span = sum(s.gap + s.slot for s in steps[arc.first : arc.add]) + add.gap + add.slot / 2 - 3
        add.gap += max(0.0, _width(label, MINOR_SIZE) + 16 - span)
    units = _units(steps, arcs, max_width)
    widths = [sum(steps[i].gap + steps[i].slot for i in unit) for unit in units]
    rows = [Row([i for unit in group for i in unit]) for group in _balanced(units, widths, max_width)]
    # Horizontal positions; a row's first arrow starts at the margin.
    for row in rows:
        x = MARGIN + 14
        for i in row.steps:
            steps[i].x = x
            x += steps[i].gap + steps[i].slot
        row.width = x - MARGIN
        row.framed = max(len(steps[i].calls) for i in row.steps)
    # Arc heights: above everything they span, and above the arcs inside them.
    for arc in sorted(arcs.values(), key=lambda a: a.level):
        span = steps[arc.first : arc.add + 1]
        top = -max(s.above for s in span) - 12
        arc.y = min([top, *[arcs[rid].y - 22 for rid in arc.inner]])
    for row in rows:
        members = set(row.steps)
        row.top = -max(steps[i].above for i in row.steps)
        arc_tops = [a.y - (14 if steps[a.add].shortcut else 4) for a in arcs.values() if a.add in members]
        row.top = min([row.top, *arc_tops]) - (FRAME_LABEL * row.framed + 4)
        row.bottom = max(steps[i].below for i in row.steps) + (FRAME_INSET * row.framed + 4)
    return rows, arcs


# ---------------------------------------------------------------------------
# Drawing


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _shade(colour: str, amount: float) -> str:
    """Mix with white (amount > 0) or black (amount < 0)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    target = 255 if amount > 0 else 0
    mixed = [round(c + (target - c) * abs(amount)) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


@dataclass(frozen=True)
class DrawnAt:
    """The size a symbolic program is drawn at, and the program checked at that size."""

    program: TypedProgram  # compiler.instantiate(program, height, width): every number concrete
    height: int
    width: int

    @property
    def label(self) -> str:
        return f"{self.height}x{self.width}"


class Canvas:
    def __init__(self, at: DrawnAt | None = None) -> None:
        self.root = ET.Element("svg", {"xmlns": SVG_NS})
        self.defs = ET.SubElement(self.root, "defs")
        self.at = at

    def tooltip(self, index: int, layer: TypedLayer) -> str:
        """A layer's tooltip (`index` in program.layers); with the drawn size's numbers for a symbolic one."""
        if self.at is None:
            return _tooltip(layer)
        return _tooltip(layer, self.at.program.layers[index], self.at.label)

    @staticmethod
    def add(parent, tag: str, attrs: dict | None = None, text: str | None = None, title: str | None = None):
        element = ET.SubElement(parent, tag, {k: str(v) for k, v in (attrs or {}).items()})
        if title is not None:
            ET.SubElement(element, "title").text = title
        if text is not None:
            if title is not None:
                element[-1].tail = text
            else:
                element.text = text
        return element

    def text(self, parent, x, y, text, size, *, anchor="middle", fill=INK, weight=None, family=MONO, attrs=None, title=None):
        values = {"x": _n(x), "y": _n(y), "font-size": size, "text-anchor": anchor, "fill": fill, "font-family": family}
        if weight:
            values["font-weight"] = weight
        values.update(attrs or {})
        return self.add(parent, "text", values, text, title)


def _prism(canvas: Canvas, parent, x: float, axis: float, box: Box, colour: str) -> None:
    left, right = x, x + box.thick
    top, bottom = axis - box.high / 2 + box.dy / 2, axis + box.high / 2 + box.dy / 2
    dx, dy = box.dx, box.dy
    stroke = {"stroke": _shade(colour, -0.55), "stroke-width": "0.8", "stroke-linejoin": "round"}

    def poly(points, fill):
        canvas.add(parent, "polygon", {"points": " ".join(f"{_n(px)},{_n(py)}" for px, py in points), "fill": fill, **stroke})

    poly([(left, top), (right, top), (right + dx, top - dy), (left + dx, top - dy)], _shade(colour, 0.45))
    poly([(right, top), (right + dx, top - dy), (right + dx, bottom - dy), (right, bottom)], _shade(colour, -0.18))
    poly([(left, top), (right, top), (right, bottom), (left, bottom)], colour)


def _arrow(canvas: Canvas, parent, x1, y, x2) -> None:
    if x2 - x1 < 4:
        return
    canvas.add(parent, "line", {"x1": _n(x1), "y1": _n(y), "x2": _n(x2 - 1), "y2": _n(y), "stroke": LINE,
                                "stroke-width": "1.3", "marker-end": "url(#head)"})


def _step_title(step: Step, at: DrawnAt | None = None) -> str:
    where = ""
    if step.layers:
        first = step.layers[0][1]
        where = f", line {first.line}"
    drawn = f"; {step.drawn} at {at.label}" if at is not None and step.drawn is not None else ""
    return f"{step.shape} ({step.shape.noun}){drawn}{where}"


def drawn_at(program: TypedProgram, at: TypedProgram | None = None) -> DrawnAt | None:
    """The size a symbolic program is drawn at: `at` (an instance of it), else its smallest size.

    None for a program with a fixed input size. ValueError when the program
    cannot be drawn at that size (the instance has errors, or is no instance).
    """
    if not program.symbolic:
        if at is not None and at is not program:
            raise ValueError(f"the input size is fixed at {program.input}: there is no other size to draw it at")
        return None
    if at is None:
        from ..compiler import instantiate

        at = instantiate(program, *program.smallest_size())
    if at.input is None or at.symbolic or not isinstance(at.input.height, int) or not isinstance(at.input.width, int):
        raise ValueError("not an instance of the program at one input size")
    size = f"{at.input.height}x{at.input.width}"
    if not at.ok:
        first = next(d for d in at.diagnostics if d.is_error)
        raise ValueError(f"cannot draw at {size}: line {first.line}: {first.message}")
    return DrawnAt(at, at.input.height, at.input.width)


def _sizes_text(program: TypedProgram) -> str:
    """`H >= 32, W >= 32`, computed bounds marked."""
    return bounds_text(program.symbols.values(), " (computed)")


def render_svg(program: TypedProgram, max_width: float = 1500, at: TypedProgram | None = None) -> str:
    """The diagram as an SVG document (a string).

    A symbolic program is drawn at the size of `at` (`cnndsl.compiler.instantiate(program, h, w)`),
    by default at its smallest admissible size.
    """
    if not program.ok or program.input is None:
        raise ValueError("cannot draw a program with errors")
    drawn = drawn_at(program, at)
    steps = build_steps(program, drawn.program if drawn is not None else None)
    rows, arcs = layout(steps, max_width)
    canvas = Canvas(drawn)
    marker = canvas.add(canvas.defs, "marker", {"id": "head", "viewBox": "0 0 10 10", "refX": "9", "refY": "5",
                                                 "markerWidth": "7", "markerHeight": "7", "orient": "auto-start-reverse"})
    canvas.add(marker, "path", {"d": "M0,1 L10,5 L0,9 z", "fill": LINE})

    # Title and totals.
    header_height = 62
    title = canvas.add(canvas.root, "g", {"class": "header"})
    canvas.text(title, MARGIN, MARGIN + 16, program.name, 20, anchor="start", weight="bold", family=SANS)
    layers = len(program.layers)
    macs = f"{program.total_macs:,} MACs" if drawn is None else f"{drawn.program.total_macs:,} MACs at {drawn.label}"
    subtitle = (f"input {program.input} → output {program.output} · {program.total_params:,} parameters · "
                f"{macs} · {layers} layer{'s' if layers != 1 else ''} · {program.source.filename}")
    canvas.text(title, MARGIN, MARGIN + 36, subtitle, 12, anchor="start", fill=MUTED, family=SANS)
    sizes = ""
    if drawn is not None:
        sizes = f"drawn at {drawn.label}; sizes {_sizes_text(program)}; types for every size (// is floor division)"
        canvas.text(title, MARGIN, MARGIN + 54, sizes, 12, anchor="start", fill=MUTED, family=SANS,
                    attrs={"class": "sizes"})
        header_height += 18

    # Rows, stacked.
    y = MARGIN + header_height
    for row in rows:
        row.axis = y - row.top
        y = row.axis + row.bottom + ROW_GAP
    for row in rows:
        for index in row.steps:
            steps[index].axis = row.axis
    content_width = max(row.width for row in rows) + 2 * MARGIN + 20

    diagram = canvas.add(canvas.root, "g", {"class": "diagram"})
    frames = canvas.add(diagram, "g", {"class": "blocks"})
    wires = canvas.add(diagram, "g", {"class": "wires", "fill": "none"})
    _draw_frames(canvas, frames, steps, rows)
    _draw_connectors(canvas, wires, steps, rows)
    _draw_arcs(canvas, diagram, wires, steps, arcs)
    for index, step in enumerate(steps):
        previous = steps[index - 1] if index else None
        _draw_step(canvas, diagram, step, previous if previous is not None and previous.axis == step.axis else None)

    legend_y = y + 4
    legend_height, legend_width = _draw_legend(canvas, canvas.root, steps, rows, legend_y)
    height = legend_y + legend_height + MARGIN
    width = max(content_width, MARGIN * 2 + max(_width(subtitle, 12), _width(sizes, 12), _width(program.name, 20), legend_width))
    canvas.root.set("width", _n(width))
    canvas.root.set("height", _n(height))
    canvas.root.set("viewBox", f"0 0 {_n(width)} {_n(height)}")
    canvas.root.set("font-family", SANS)
    background = ET.Element("rect", {"width": "100%", "height": "100%", "fill": "#ffffff"})
    canvas.root.insert(1, background)
    return _serialise(canvas.root)


def _anchor_out(step: Step) -> float:
    """Where the arrow leaving a step starts."""
    if step.kind == "add":
        return step.x + step.gap + step.slot / 2 + ADD_RADIUS
    box = box_of(_size(step))
    left = step.x + step.gap + (step.slot - box.width) / 2
    return left + box.thick + box.dx / 2


def _box_left(step: Step) -> float:
    box = box_of(_size(step))
    return step.x + step.gap + (step.slot - box.width) / 2


def _draw_step(canvas: Canvas, parent, step: Step, previous: Step | None) -> None:
    group = canvas.add(parent, "g", {"class": f"step step-{step.kind}"})
    axis = step.axis
    start = _anchor_out(previous) if previous is not None else step.x
    if step.kind == "add":
        centre = step.x + step.gap + step.slot / 2
        _arrow(canvas, group, start, axis, centre - ADD_RADIUS)
        drawn = f" ({step.drawn} at {canvas.at.label})" if canvas.at is not None and step.drawn is not None else ""
        node = canvas.add(group, "g", {"class": "add"}, title=f"residual (line {step.residual.line}): body + "
                          + ("shortcut" if step.residual.shortcut is not None else "identity") + f" -> {step.shape}{drawn}")
        canvas.add(node, "circle", {"cx": _n(centre), "cy": _n(axis), "r": ADD_RADIUS, "fill": "#ffffff",
                                    "stroke": LINE, "stroke-width": "1.3"})
        canvas.add(node, "path", {"d": f"M{_n(centre - 5)},{_n(axis)} H{_n(centre + 5)} M{_n(centre)},{_n(axis - 5)} V{_n(axis + 5)}",
                                  "stroke": LINE, "stroke-width": "1.5"})
        if step.layers:
            _minor_line(canvas, group, centre, axis + ADD_RADIUS + MINOR_SIZE + 6, step.layers)
        return
    box = box_of(_size(step))
    left = _box_left(step)
    if step.kind != "input":
        _arrow(canvas, group, start, axis, left)
    fill = COLOURS.get(step.kind, COLOURS["other"])
    attrs = {"class": "map" if isinstance(step.shape, MapType) else "vector", "data-shape": str(step.shape)}
    if step.drawn is not None:
        attrs["data-size"] = str(step.drawn)
    shape = canvas.add(group, "g", attrs, title=_step_title(step, canvas.at))
    _prism(canvas, shape, left, axis, box, fill)
    centre = left + box.width / 2
    lines = type_lines(step.shape)
    for number, line in enumerate(lines):
        canvas.text(group, centre, axis + box.bottom + TYPE_SIZE + 2 + number * TYPE_LEADING, line, TYPE_SIZE,
                    attrs={"class": "type"})
    if step.kind == "input":
        canvas.text(group, left + box.thick / 2, axis + box.top - 6, "input", 11, fill=MUTED, family=SANS)
        if step.layers:  # minor layers right at the start get the input's box
            below = axis + box.bottom + TYPE_SIZE + 16 + TYPE_LEADING * (len(lines) - 1)
            _minor_line(canvas, group, centre, below, step.layers)
        return
    # The arrow's labels: the layer above, shape-keeping layers and the parameters below.
    mid = step.x + step.gap / 2
    index, first = step.layers[0]
    colour = _shade(fill, -0.55)
    canvas.text(group, mid, axis - 6, layer_words(first), OP_SIZE, fill=colour, weight="bold",
                attrs=_layer_attrs(index, first), title=canvas.tooltip(index, first))
    y = axis + MINOR_SIZE + 4
    if len(step.layers) > 1:
        _minor_line(canvas, group, mid, y, step.layers[1:])
        y += MINOR_SIZE + 3
    params = sum(layer.params for _, layer in step.layers)
    if params:
        canvas.text(group, mid, y, f"{_count(params)} params", COUNT_SIZE, fill=FAINT, attrs={"class": "params"})


def _layer_attrs(index: int, layer: TypedLayer) -> dict:
    return {"class": "layer", "data-layer": index, "data-line": layer.line, "data-kind": layer.kind.name}


def _minor_line(canvas: Canvas, parent, x: float, y: float, layers: list[tuple[int, TypedLayer]], size=MINOR_SIZE, fill=MUTED):
    text = canvas.text(parent, x, y, None, size, fill=fill)
    for position, (index, layer) in enumerate(layers):
        if position:
            ET.SubElement(text, "tspan").text = " · "
        span = ET.SubElement(text, "tspan", {k: str(v) for k, v in _layer_attrs(index, layer).items()})
        ET.SubElement(span, "title").text = canvas.tooltip(index, layer)
        span[-1].tail = layer_words(layer)
    return text


def _draw_arcs(canvas: Canvas, parent, wires, steps: list[Step], arcs: dict[int, Arc]) -> None:
    for rid in sorted(arcs):
        arc = arcs[rid]
        first, add = steps[arc.first], steps[arc.add]
        axis = add.axis
        x1 = first.x + 3 if arc.first != arc.add else add.x + 3
        x2 = add.x + add.gap + add.slot / 2
        top = axis + arc.y
        r = 6
        d = (f"M{_n(x1)},{_n(axis)} V{_n(top + r)} Q{_n(x1)},{_n(top)} {_n(x1 + r)},{_n(top)} "
             f"H{_n(x2 - r)} Q{_n(x2)},{_n(top)} {_n(x2)},{_n(top + r)} V{_n(axis - ADD_RADIUS - 1)}")
        kind = "projection" if add.shortcut else "identity"
        canvas.add(wires, "path", {"d": d, "stroke": "#8e24aa" if add.shortcut else LINE, "stroke-width": "1.3",
                                   "stroke-dasharray": "none", "marker-end": "url(#head)", "class": f"skip {kind}"})
        canvas.add(wires, "circle", {"cx": _n(x1), "cy": _n(axis), "r": "2.5", "fill": LINE, "stroke": "none"})
        if add.shortcut:
            _minor_line(canvas, parent, (x1 + x2) / 2, top - 5, add.shortcut, size=MINOR_SIZE, fill="#6a1b9a")


def _draw_connectors(canvas: Canvas, parent, steps: list[Step], rows: list[Row]) -> None:
    for row, following in zip(rows, rows[1:]):
        last, first = steps[row.steps[-1]], steps[following.steps[0]]
        x1 = _anchor_out(last)
        right = last.x + last.gap + last.slot + 8
        middle = row.axis + row.bottom + ROW_GAP / 2
        left = MARGIN + 4
        r = 8
        d = (f"M{_n(x1)},{_n(row.axis)} H{_n(right - r)} Q{_n(right)},{_n(row.axis)} {_n(right)},{_n(row.axis + r)} "
             f"V{_n(middle - r)} Q{_n(right)},{_n(middle)} {_n(right - r)},{_n(middle)} H{_n(left + r)} "
             f"Q{_n(left)},{_n(middle)} {_n(left)},{_n(middle + r)} V{_n(following.axis - r)} "
             f"Q{_n(left)},{_n(following.axis)} {_n(left + r)},{_n(following.axis)} H{_n(first.x)}")
        canvas.add(parent, "path", {"d": d, "stroke": LINE, "stroke-width": "1.3", "class": "wrap"})


def _draw_frames(canvas: Canvas, parent, steps: list[Step], rows: list[Row]) -> None:
    """A dashed frame per block call and row, nested calls inside their callers."""
    seen: set[int] = set()
    for row in rows:
        for level in range(row.framed):
            runs: list[list[int]] = []
            for i in row.steps:
                key = _key(steps[i], level)
                if key is None:
                    continue
                if runs and _key(steps[runs[-1][-1]], level) == key and runs[-1][-1] == i - 1:
                    runs[-1].append(i)
                else:
                    runs.append([i])
            inset = _frame_inset(level)
            for run in runs:
                first, last = steps[run[0]], steps[run[-1]]
                call = first.calls[level]
                x1 = first.x + inset
                x2 = last.x + last.gap + last.slot - inset
                top = row.axis + row.top + 2 + level * FRAME_LABEL
                bottom = row.axis + row.bottom - 2 - level * FRAME_INSET
                continued = id(call) in seen
                seen.add(id(call))
                name = call.resolved
                frame = canvas.add(parent, "g", {"class": "block", "data-block": call.block, "data-line": call.line},
                                   title=f"{name}: block {call.block}, called as '{call.text}' at line {call.line}")
                canvas.add(frame, "rect", {"x": _n(x1), "y": _n(top), "width": _n(x2 - x1), "height": _n(bottom - top),
                                           "rx": "8", "fill": "#f5f7fa" if level % 2 == 0 else "#eceff1",
                                           "stroke": "#90a4ae", "stroke-width": "1", "stroke-dasharray": "5 4"})
                label = name + (" (continued)" if continued else "")
                if _width(label, 11) + 60 > x2 - x1:
                    label = name if _width(name, 11) + 50 < x2 - x1 else call.block
                canvas.text(frame, x1 + 8, top + 15, label, 11, anchor="start", fill="#37474f", weight="bold")
                if _width(label, 11) + 60 < x2 - x1:
                    canvas.text(frame, x2 - 8, top + 15, f"line {call.line}", 10, anchor="end", fill=FAINT, family=SANS)


def _draw_legend(canvas: Canvas, parent, steps: list[Step], rows: list[Row], y: float) -> tuple[float, float]:
    kinds = [k for k in ("input", "conv", "pool", "avgpool", "flatten", "linear", "other") if any(s.kind == k for s in steps)]
    names = {"input": "input", "conv": "convolution", "pool": "max pooling", "avgpool": "average pooling",
             "flatten": "flatten", "linear": "linear", "other": "bn, dropout, activation"}
    legend = canvas.add(parent, "g", {"class": "legend"})
    x = MARGIN
    for kind in kinds:
        _prism(canvas, legend, x, y + 8, Box(8, 12, 5, 3.5), COLOURS[kind])
        canvas.text(legend, x + 18, y + 13, names[kind], 11, anchor="start", fill=MUTED, family=SANS)
        x += 18 + _width(names[kind], 11) + 14
    if any(s.kind == "add" for s in steps):
        canvas.add(legend, "circle", {"cx": _n(x + 6), "cy": _n(y + 9), "r": "6", "fill": "#fff", "stroke": LINE})
        canvas.text(legend, x + 18, y + 13, "residual add", 11, anchor="start", fill=MUTED, family=SANS)
        x += 18 + _width("residual add", 11) + 14
    if any(s.calls for s in steps):
        canvas.add(legend, "rect", {"x": _n(x), "y": _n(y + 2), "width": "16", "height": "13", "rx": "3", "fill": "#f5f7fa",
                                    "stroke": "#90a4ae", "stroke-dasharray": "3 2"})
        canvas.text(legend, x + 22, y + 13, "block call", 11, anchor="start", fill=MUTED, family=SANS)
    note = "box height = H, depth = W, thickness = C; bar length = features; log scales"
    if canvas.at is not None:  # H and W are the program's symbols: say it in words
        note = (f"box height = height, depth = width, thickness = channels, at {canvas.at.label}; "
                "bar length = features; log scales")
    canvas.text(legend, MARGIN, y + 32, note, 10, anchor="start", fill=FAINT, family=SANS)
    return 36, max(x - MARGIN, _width(note, 10))


def _serialise(root: ET.Element) -> str:
    """Indented between elements, never inside <text> (whitespace there is visible)."""

    def indent(element: ET.Element, level: int) -> None:
        if element.tag in ("text", "title", "tspan"):
            return
        children = list(element)
        if not children:
            return
        element.text = "\n" + "  " * (level + 1)
        for child in children:
            indent(child, level + 1)
            child.tail = "\n" + "  " * (level + 1)
        children[-1].tail = "\n" + "  " * level

    indent(root, 0)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_html(program: TypedProgram, max_width: float = 1500, at: TypedProgram | None = None) -> str:
    """A standalone page: the diagram and the summary table (for a symbolic program, also at the drawn size)."""
    from html import escape

    from .summary import render_table

    drawn = drawn_at(program, at)
    svg = render_svg(program, max_width, drawn.program if drawn is not None else None).split("\n", 1)[1]
    table = render_table(program, explain=False)
    if drawn is not None:
        table += f"\nat {drawn.label}:\n\n" + render_table(drawn.program, explain=False)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(program.name)} · cnnc draw</title>\n"
        "<style>body{margin:24px;font-family:" + SANS + ";color:#263238;background:#fff}"
        "svg{max-width:100%;height:auto}pre{font-family:" + MONO + ";font-size:13px;background:#f5f7fa;"
        "padding:12px;border-radius:6px;overflow-x:auto}</style>\n</head>\n<body>\n"
        + svg
        + f"<h2>Summary</h2>\n<pre>{escape(table)}</pre>\n</body>\n</html>\n"
    )
