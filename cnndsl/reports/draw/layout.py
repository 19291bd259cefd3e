"""The geometry of a diagram: each step's box and labels measured, the rows packed, the arcs stacked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...check.typed import TypedLayer
from ...types.shapes import MapType, Shape
from .steps import Step, arc_layers, call_key, drawn_size, layer_words

CHAR = 0.62  # width of a monospace character, in font sizes (a safe over-estimate)

MARGIN = 24
ROW_GAP = 30
ADD_RADIUS = 9
MIN_GAP = 44
FRAME_LABEL = 22  # room for a block call's title, per nesting level
FRAME_INSET = 4
OBLIQUE = (math.cos(math.radians(35)), math.sin(math.radians(35)))


def count_text(n: int) -> str:
    """Parameter counts for labels: 280, 5,020, 36,864, 102.8M."""
    if n < 1_000_000:
        return f"{n:,}"
    return f"{n / 1_000_000:.1f}M"


def text_width(text: str, size: float) -> float:
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


def frame_inset(level: int) -> float:
    return 2 + min(level, 2) * FRAME_INSET


def measure(step: Step) -> None:
    _measure(step)
    if step.calls:  # keep clear of the nested frames' sides
        room = 2 * frame_inset(len(step.calls) - 1)
        step.slot += room
        if step.kind != "input":
            step.gap += room


def _measure(step: Step) -> None:
    if step.kind == "add":
        minor = _minor_text(step)
        step.gap = 30
        step.slot = max(2 * ADD_RADIUS, text_width(minor, MINOR_SIZE)) + 14
        step.above = ADD_RADIUS
        step.below = ADD_RADIUS + (MINOR_SIZE + 10 if minor else 0)
        return
    box = box_of(drawn_size(step))
    lines = type_lines(step.shape)
    step.slot = max(box.width, *(text_width(line, TYPE_SIZE) for line in lines)) + 14
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
    count = f"{count_text(params)} params" if params else ""
    step.gap = max(MIN_GAP, text_width(op, OP_SIZE) + 16, text_width(minor, MINOR_SIZE) + 16, text_width(count, COUNT_SIZE) + 16)
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
        for rid in ([step.closes] if step.closes is not None else []) + step.also_closes:
            arcs[rid] = Arc(rid, opened.get(rid, i), i)
    # Residuals nest properly: a stack finds each one's directly enclosing arc.
    # A concat's arcs share their ends: each flies over the one before it.
    stack: list[Arc] = []
    for arc in sorted(arcs.values(), key=lambda a: (a.first, -a.add, a.rid)):
        while stack and not (
            stack[-1].first <= arc.first and (arc.add < stack[-1].add or (arc.add, arc.first) == (stack[-1].add, stack[-1].first))
        ):
            stack.pop()
        if stack:
            stack[-1].inner.append(arc.rid)
        stack.append(arc)
    # Outer arcs fly above inner ones.
    for arc in sorted(arcs.values(), key=lambda a: (a.add - a.first, -a.rid)):  # of equal spans, the inner (later) first
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
            key = call_key(steps[i], level)
            if pieces and (inside[i] or (key is not None and key == call_key(steps[pieces[-1][-1]], level))):
                pieces[-1].append(i)
            else:
                pieces.append([i])
        out: list[list[int]] = []
        for piece in pieces:
            deeper = any(call_key(steps[i], level) is not None for i in piece)
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
        along = arc_layers(add, arc.rid)
        if not along:
            continue
        label = " · ".join(layer_words(layer) for _, layer in along)
        span = sum(s.gap + s.slot for s in steps[arc.first : arc.add]) + add.gap + add.slot / 2 - 3
        add.gap += max(0.0, text_width(label, MINOR_SIZE) + 16 - span)
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
        arc_tops = [a.y - (14 if arc_layers(steps[a.add], a.rid) else 4) for a in arcs.values() if a.add in members]
        row.top = min([row.top, *arc_tops]) - (FRAME_LABEL * row.framed + 4)
        row.bottom = max(steps[i].below for i in row.steps) + (FRAME_INSET * row.framed + 4)
    return rows, arcs
