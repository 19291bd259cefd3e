"""The diagram drawn: steps and layout as SVG elements, serialised deterministically."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ...check.typed import TypedConcat, TypedLayer, TypedProgram, TypedSkip
from ...types.shapes import MapType
from ...types.symbolic import bounds_text
from .layout import (
    ADD_RADIUS, COUNT_SIZE, FRAME_INSET, FRAME_LABEL, MARGIN, MINOR_SIZE, OP_SIZE, ROW_GAP, TYPE_LEADING, TYPE_SIZE, Arc, Box,
    Row, box_of, count_text, frame_inset, layout, text_width, type_lines,
)
from .steps import Step, arc_layers, build_steps, call_key, drawn_size, layer_words, legend_styles

SVG_NS = "http://www.w3.org/2000/svg"
MONO = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
SANS = "DejaVu Sans, Helvetica Neue, Helvetica, Arial, sans-serif"
INK = "#263238"
MUTED = "#546e7a"
FAINT = "#78909c"
LINE = "#455a64"


def _tooltip(layer: TypedLayer, twin: TypedLayer | None = None, at: str = "") -> str:
    """The layer's tooltip; `twin` is the same layer in the program at the drawn size `at`."""
    where = f"line {layer.line}" + "".join(f", in {c.resolved} called at line {c.line}" for c in reversed(layer.calls))
    text = f"{where}: {layer.module} -> {layer.output}, {layer.params:,} params"
    if twin is not None and layer.input != twin.input:  # symbolic: the numbers at the drawn size
        text += f"\nat {at}: {twin.input} -> {twin.output}, {twin.macs:,} MACs"
    if layer.arithmetic:
        text += "\n" + "\n".join(layer.arithmetic)
    return text


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
        from ...compiler import instantiate

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
    width = max(content_width, MARGIN * 2 + max(text_width(subtitle, 12), text_width(sizes, 12), text_width(program.name, 20), legend_width))
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
    box = box_of(drawn_size(step))
    left = step.x + step.gap + (step.slot - box.width) / 2
    return left + box.thick + box.dx / 2


def _box_left(step: Step) -> float:
    box = box_of(drawn_size(step))
    return step.x + step.gap + (step.slot - box.width) / 2


def _draw_step(canvas: Canvas, parent, step: Step, previous: Step | None) -> None:
    group = canvas.add(parent, "g", {"class": f"step step-{step.kind}"})
    axis = step.axis
    start = _anchor_out(previous) if previous is not None else step.x
    if step.kind == "add":
        centre = step.x + step.gap + step.slot / 2
        _arrow(canvas, group, start, axis, centre - ADD_RADIUS)
        drawn = f" ({step.drawn} at {canvas.at.label})" if canvas.at is not None and step.drawn is not None else ""
        kind, title, mark = _node_look(step, centre, axis)
        node = canvas.add(group, "g", {"class": kind}, title=f"{title} -> {step.shape}{drawn}")
        canvas.add(node, "circle", {"cx": _n(centre), "cy": _n(axis), "r": ADD_RADIUS, "fill": "#ffffff",
                                    "stroke": LINE, "stroke-width": "1.3"})
        canvas.add(node, "path", {"d": mark, "stroke": LINE, "stroke-width": "1.5"})
        if step.layers:
            _minor_line(canvas, group, centre, axis + ADD_RADIUS + MINOR_SIZE + 6, step.layers)
        return
    box = box_of(drawn_size(step))
    left = _box_left(step)
    if step.kind != "input":
        _arrow(canvas, group, start, axis, left)
    fill = step.style.colour
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
        canvas.text(group, mid, y, f"{count_text(params)} params", COUNT_SIZE, fill=FAINT, attrs={"class": "params"})


def _mark(kind: str, x: float, y: float, scale: float = 1.0) -> str:
    """The path inside a node's circle: + (residual add), three bars (concat), x (gate)."""
    a, b = 5 * scale, 4 * scale
    if kind == "add":
        return f"M{_n(x - a)},{_n(y)} H{_n(x + a)} M{_n(x)},{_n(y - a)} V{_n(y + a)}"
    if kind == "concat":
        return " ".join(f"M{_n(x - a)},{_n(y + d * scale)} H{_n(x + a)}" for d in (-3.5, 0, 3.5))
    return f"M{_n(x - b)},{_n(y - b)} L{_n(x + b)},{_n(y + b)} M{_n(x - b)},{_n(y + b)} L{_n(x + b)},{_n(y - b)}"


def _node_look(step: Step, x: float, y: float) -> tuple[str, str, str]:
    """A (+)-like node's class, title and mark: a residual's +, a join's stacked bars, a gate's x."""
    join = step.join
    if isinstance(step.residual, TypedSkip):  # a long skip: the kept map joined here
        skip = step.residual
        title = f"{skip.statement} (line {skip.line}): the map kept as {skip.name} " + (
            "then the body's, on the channels" if skip.join == "cat" else "plus the body's")
        return "kept", title, _mark("concat" if skip.join == "cat" else "add", x, y)
    if join is None:
        residual = step.residual
        title = f"residual (line {residual.line}): body + " + ("shortcut" if residual.shortcut is not None else "identity")
        return "add", title, _mark("add", x, y)
    if isinstance(join, TypedConcat):
        channels = " + ".join(map(str, join.channels))
        what = "split: branches on equal parts of the channels, joined" if join.split else "concat: branches joined"
        return "concat", f"{what} (line {join.line}), channels {channels}", _mark("concat", x, y)
    return "gate", f"gate (line {join.line}): input x {join.gate}", _mark("gate", x, y)


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
        along = arc_layers(add, rid)
        kind = ("branch" if add.join is not None else "projection") if along else "identity"
        canvas.add(wires, "path", {"d": d, "stroke": "#8e24aa" if along else LINE, "stroke-width": "1.3",
                                   "stroke-dasharray": "none", "marker-end": "url(#head)", "class": f"skip {kind}"})
        canvas.add(wires, "circle", {"cx": _n(x1), "cy": _n(axis), "r": "2.5", "fill": LINE, "stroke": "none"})
        if along:
            _minor_line(canvas, parent, (x1 + x2) / 2, top - 5, along, size=MINOR_SIZE, fill="#6a1b9a")


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
                key = call_key(steps[i], level)
                if key is None:
                    continue
                if runs and call_key(steps[runs[-1][-1]], level) == key and runs[-1][-1] == i - 1:
                    runs[-1].append(i)
                else:
                    runs.append([i])
            inset = frame_inset(level)
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
                if text_width(label, 11) + 60 > x2 - x1:
                    label = name if text_width(name, 11) + 50 < x2 - x1 else call.block
                canvas.text(frame, x1 + 8, top + 15, label, 11, anchor="start", fill="#37474f", weight="bold")
                if text_width(label, 11) + 60 < x2 - x1:
                    canvas.text(frame, x2 - 8, top + 15, f"line {call.line}", 10, anchor="end", fill=FAINT, family=SANS)


def _draw_legend(canvas: Canvas, parent, steps: list[Step], rows: list[Row], y: float) -> tuple[float, float]:
    shown = {step.style for step in steps if step.style is not None}
    legend = canvas.add(parent, "g", {"class": "legend"})
    x = MARGIN
    for style in (style for style in legend_styles() if style in shown):
        _prism(canvas, legend, x, y + 8, Box(8, 12, 5, 3.5), style.colour)
        canvas.text(legend, x + 18, y + 13, style.legend, 11, anchor="start", fill=MUTED, family=SANS)
        x += 18 + text_width(style.legend, 11) + 14
    nodes = {_node_look(s, 0, 0)[0] for s in steps if s.kind == "add"}
    for kind, words in (("add", "residual add"), ("concat", "concat (join on channels)"), ("gate", "gate (multiply)"),
                        ("kept", "a kept map joined (keep, cat, add)")):
        if kind not in nodes:
            continue
        canvas.add(legend, "circle", {"cx": _n(x + 6), "cy": _n(y + 9), "r": "6", "fill": "#fff", "stroke": LINE})
        if kind not in ("add", "kept"):  # the residual's circle has always been plain in the legend
            canvas.add(legend, "path", {"d": _mark(kind, x + 6, y + 9, 0.7), "stroke": LINE, "stroke-width": "1.2"})
        canvas.text(legend, x + 18, y + 13, words, 11, anchor="start", fill=MUTED, family=SANS)
        x += 18 + text_width(words, 11) + 14
    if any(s.calls for s in steps):
        canvas.add(legend, "rect", {"x": _n(x), "y": _n(y + 2), "width": "16", "height": "13", "rx": "3", "fill": "#f5f7fa",
                                    "stroke": "#90a4ae", "stroke-dasharray": "3 2"})
        canvas.text(legend, x + 22, y + 13, "block call", 11, anchor="start", fill=MUTED, family=SANS)
    note = "box height = H, depth = W, thickness = C; bar length = features; log scales"
    if canvas.at is not None:  # H and W are the program's symbols: say it in words
        note = (f"box height = height, depth = width, thickness = channels, at {canvas.at.label}; "
                "bar length = features; log scales")
    canvas.text(legend, MARGIN, y + 32, note, 10, anchor="start", fill=FAINT, family=SANS)
    return 36, max(x - MARGIN, text_width(note, 10))


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
