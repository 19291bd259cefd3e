"""The per-layer summary (`cnnc summary`, `program.summary`), from the typed program."""

from __future__ import annotations


from .memory import DEFAULT_DTYPE, MemoryEstimate, estimate
from .memory import render as render_memory
from ..types.symbolic import bounds_text
from ..check.typed import NODES, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip
from ..record import Record
from ..syntax.visitor import Visitor

_set = object.__setattr__


class LayerSummary(Record):
    """One PyTorch leaf layer: where it came from, its type, its cost."""

    __slots__ = ("line", "kind", "module", "input", "output", "output_type", "params", "macs", "called_at", "arithmetic", "depth")
    line: int
    kind: str
    module: str  # the PyTorch constructor, e.g. "nn.Conv2d(3, 10, 3)"
    input: tuple[int, ...]  # PyTorch order, without the batch
    output: tuple[int, ...]
    output_type: str  # the .cnn notation: "128x128x10", "5120"
    params: int
    macs: int
    called_at: tuple[int, ...]
    arithmetic: tuple[str, ...]
    depth: int  # residual nesting, for the table

    def __init__(self, line: int, kind: str, module: str, input: tuple[int, ...], output: tuple[int, ...], output_type: str, params: int, macs: int, called_at: tuple[int, ...] = (), arithmetic: tuple[str, ...] = (), depth: int = 0) -> None:
        _set(self, "line", line)
        _set(self, "kind", kind)
        _set(self, "module", module)
        _set(self, "input", input)
        _set(self, "output", output)
        _set(self, "output_type", output_type)
        _set(self, "params", params)
        _set(self, "macs", macs)
        _set(self, "called_at", called_at)
        _set(self, "arithmetic", arithmetic)
        _set(self, "depth", depth)

    def to_dict(self) -> dict:
        entry = {
            "line": self.line,
            "kind": self.kind,
            "output": _json_shape(self.output),
            "params": self.params,
            "macs": self.macs if isinstance(self.macs, int) else str(self.macs),
        }
        if self.called_at:
            entry["called_at"] = list(self.called_at)
        return entry


class JoinSummary(Record):
    """One concat, split or gate: where the branches meet. No parameters, no MACs
    (PyTorch's FlopCounterMode counts none for cat and mul)."""

    __slots__ = ("line", "kind", "output", "output_type", "channels", "called_at")
    line: int
    kind: str  # "concat", "split" or "gate"
    output: tuple[int, ...]  # PyTorch order, without the batch
    output_type: str
    channels: tuple[int, ...]  # each branch's output channels (a gate: its body's)
    called_at: tuple[int, ...]

    def __init__(self, line: int, kind: str, output: tuple[int, ...], output_type: str, channels: tuple[int, ...], called_at: tuple[int, ...] = ()) -> None:
        _set(self, "line", line)
        _set(self, "kind", kind)
        _set(self, "output", output)
        _set(self, "output_type", output_type)
        _set(self, "channels", channels)
        _set(self, "called_at", called_at)

    def to_dict(self) -> dict:
        entry = {"line": self.line, "kind": self.kind, "output": _json_shape(self.output), "params": 0, "macs": 0}
        entry["branch_channels" if self.kind != "gate" else "gate_channels"] = list(self.channels)
        if self.called_at:
            entry["called_at"] = list(self.called_at)
        return entry


class Summary(Record):
    __slots__ = ("network", "input", "output", "layers", "total_params", "total_macs", "filename", "memory", "symbols", "sizes", "joins")
    network: str
    input: tuple[int, ...]
    output: tuple[int, ...]
    layers: tuple[LayerSummary, ...]
    total_params: int
    total_macs: int
    filename: str
    memory: MemoryEstimate | None  # torchinfo's sizes (cnndsl/memory.py)
    symbols: dict | None
    sizes: dict | None
    joins: tuple[JoinSummary, ...]  # the concats, splits and gates, in forward order

    def __init__(self, network: str, input: tuple[int, ...], output: tuple[int, ...], layers: tuple[LayerSummary, ...], total_params: int, total_macs: int, filename: str = "<string>", memory: MemoryEstimate | None = None, symbols: dict | None = None, sizes: dict | None = None, joins: tuple[JoinSummary, ...] = ()) -> None:
        _set(self, "network", network)
        _set(self, "input", input)
        _set(self, "output", output)
        _set(self, "layers", layers)
        _set(self, "total_params", total_params)
        _set(self, "total_macs", total_macs)
        _set(self, "filename", filename)
        _set(self, "memory", memory)
        _set(self, "symbols", symbols)
        _set(self, "sizes", sizes)
        _set(self, "joins", joins)

    def to_dict(self) -> dict:
        entry = {
            "network": self.network,
            "input": _json_shape(self.input),
            "output": _json_shape(self.output),
            "layers": [layer.to_dict() for layer in self.layers],
            "total_params": self.total_params,
            "total_macs": self.total_macs if isinstance(self.total_macs, int) else None,
        }
        if self.symbols:
            entry["symbols"] = self.symbols
        if self.sizes:
            entry["sizes"] = self.sizes
        if self.joins:
            entry["joins"] = [join.to_dict() for join in self.joins]
        if self.memory is not None:
            entry["memory"] = self.memory.to_dict()
        return entry


def sizes_line(program: TypedProgram) -> str:
    """`sizes: H >= 32, W >= 32 (given); // is floor division`."""
    given = [s for s in program.symbols.values() if s.given]
    computed = [s for s in program.symbols.values() if not s.given]
    parts = []
    if given:
        parts.append(bounds_text(given) + " (given)")
    if computed and any(s.modulus > 1 for s in computed):  # the residues are given, the bounds computed
        parts.append(bounds_text(computed, " (computed: the smallest admissible size every layer accepts)"))
    elif computed:
        parts.append(bounds_text(computed) + " (computed: the smallest sizes every layer accepts)")
    return "sizes: " + ", ".join(parts) + "; `//` is floor division"


def _json_shape(shape: tuple) -> list:
    """A shape for JSON: numbers, and a symbolic size as its text (`"(H+1)//2"`)."""
    return [d if isinstance(d, int) else str(d) for d in shape]


def summarize(program: TypedProgram, batch: int = 1, dtype: str = DEFAULT_DTYPE) -> Summary:
    """The summary; `batch` and `dtype` set the memory figures (default 1, float32).

    For a symbolic program, types are symbolic, MACs are expressions (JSON:
    strings, total null) and there are no memory figures: summarise an
    instance (`cnndsl.compiler.instantiate(program, 224, 224)`) for numbers.
    """
    layers = _Layers()
    layers.visit_all(program.nodes)
    return Summary(
        network=program.name,
        input=program.input.torch_shape if program.input else (),
        output=program.output.torch_shape if program.output else (),
        layers=tuple(layers.found),
        total_params=program.total_params,
        total_macs=program.total_macs,
        filename=program.source.filename,
        memory=estimate(program, batch, dtype) if program.input is not None and not program.symbolic else None,
        symbols={s.name: {"bound": s.bound, "given": s.given} for s in program.symbols.values()} if program.symbolic else None,
        sizes=dict(program.sizes) or None,
        joins=tuple(layers.joins),
    )


class _Layers(Visitor):
    """A LayerSummary per leaf layer, with its residual nesting (`depth`)."""

    walks = NODES

    def __init__(self) -> None:
        self.found: list[LayerSummary] = []
        self.joins: list[JoinSummary] = []
        self.depth = 0

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        self.found.append(layer_summary(node, self.depth))

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        self.depth += 1
        self.visit_children(node)  # the body, then the shortcut
        self.depth -= 1

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        self.joins.append(_join_summary(node, node.keyword, node.channels))
        self.visit_TypedResidual(node)  # its branches, one level deeper

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        self.visit_children(node)

    def visit_TypedGate(self, node: TypedGate) -> None:
        self.joins.append(_join_summary(node, "gate", [node.gate.channels] if hasattr(node.gate, "channels") else [node.gate.features]))
        self.visit_TypedResidual(node)

    visit_TypedSkip = visit_TypedResidual  # the body between the keep and the join


def _join_summary(node, kind: str, channels) -> JoinSummary:
    return JoinSummary(node.line, kind, node.output.torch_shape, str(node.output), tuple(channels), tuple(call.line for call in node.calls))


def skip_arithmetic(node: TypedSkip) -> tuple[str, ...]:
    """A join's arithmetic: the crop and the channel sum."""
    kept, body = node.input, node.body[-1].output if node.body else node.input
    lines = []
    if node.crop:
        lines.append(f"crop: the kept {kept.height}x{kept.width} to its centre {body.height}x{body.width}"
                     if kept.symbolic or body.symbolic else
                     f"crop: the kept {kept.height}x{kept.width} to its centre {body.height}x{body.width}, "
                     f"{(kept.height - body.height) // 2} rows and {(kept.width - body.width) // 2} columns off each side")
    if node.join == "cat":
        lines.append(f"channels: {kept.channels} (kept) + {body.channels} = {node.output.channels}")
    else:
        lines.append(f"adds: kept {kept.channels} channels + {body.channels} = {node.output.channels} channels")
    return tuple(lines)


def layer_summary(layer: TypedLayer, depth: int = 0) -> LayerSummary:
    return LayerSummary(
        line=layer.line,
        kind=layer.kind.name,
        module=layer.module,
        input=layer.input.torch_shape,
        output=layer.output.torch_shape,
        output_type=str(layer.output),
        params=layer.params,
        macs=layer.macs,
        called_at=tuple(call.line for call in layer.calls),
        arithmetic=layer.arithmetic,
        depth=depth,
    )


class _Rows(Visitor):
    """The table's rows (line, layer, output, params, MACs) and, by row, what `--explain` adds."""

    walks = NODES

    def __init__(self, explain: bool, source) -> None:
        self.explain = explain
        self.source = source  # the lines of `keep` statements
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.explanations: dict[int, tuple[str, ...]] = {}
        self.indent = ""  # two spaces per residual around the node

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        where = str(node.line)
        if node.calls:
            where += f" ({node.calls[0].line})"
        self.rows.append((where, self.indent + node.module.removeprefix("nn."), str(node.output), f"{node.params:,}", f"{node.macs:,}"))
        if self.explain and node.arithmetic:
            self.explanations[len(self.rows) - 1] = node.arithmetic

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.rows.append((where, f"{indent}residual", str(node.output), "", ""))
        if self.explain:
            other = "shortcut" if node.shortcut is not None else "input (identity)"
            self.explanations[len(self.rows) - 1] = (f"adds: body {node.output} + {other} {node.output} = {node.output}",)
        self.indent = indent + "  "
        self.visit_all(node.body)
        if node.shortcut is not None:
            self.rows.append(("", f"{indent}shortcut", "", "", ""))
            self.visit_all(node.shortcut)
        self.indent = indent

    def visit_TypedSkip(self, node: TypedSkip) -> None:
        """A `keep NAME` row, the body indented, then the join's row (`cat e1 crop`)."""
        indent = self.indent
        self.rows.append((str(self.source.line_of(node.keep_span.start)), f"{indent}keep {node.name}", str(node.input), "", ""))
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.rows.append((where, f"{indent}{node.statement}", str(node.output), "0", "0"))
        if self.explain:
            self.explanations[len(self.rows) - 1] = skip_arithmetic(node)

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.rows.append((where, f"{indent}{node.keyword}", str(node.output), "0", "0"))
        if self.explain:
            formulas = []
            if node.split:
                parts = len(node.branches)
                formulas.append(f"splits: {node.input.channels} channels / {parts} branches = {node.input.channels // parts} each")
            formulas.append(f"channels: {' + '.join(map(str, node.channels))} = {node.output.channels}")
            self.explanations[len(self.rows) - 1] = tuple(formulas)
        self.indent = indent + "  "
        self.visit_all(node.branches)
        self.indent = indent

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        indent = self.indent
        self.rows.append((str(node.line), f"{indent}branch", str(node.output) if node.body else f"{node.output} (input)", "", ""))
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent

    def visit_TypedGate(self, node: TypedGate) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.rows.append((where, f"{indent}gate", str(node.output), "0", "0"))
        if self.explain:
            self.explanations[len(self.rows) - 1] = (
                f"multiplies: {node.input} * {node.gate} = {node.output} (each axis of the gate equals the input's or is 1, and is stretched)",
            )
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent


def render_table(program: TypedProgram, explain: bool = False, memory: MemoryEstimate | None = None) -> str:
    """The summary as a text table, in the .cnn notation (HxWxC); `memory`'s figures under it."""
    table = _Rows(explain, program.source)
    if program.input is not None:
        table.rows.append(("", "input", str(program.input), "", ""))
    table.visit_all(program.nodes)
    rows, explanations = table.rows, table.explanations
    total = ("total", "", "", f"{program.total_params:,}", f"{program.total_macs:,}")
    header = ("line", "layer", "output", "params", "MACs")
    widths = [max(len(r[i]) for r in [header, total, *rows]) for i in range(5)]

    def line(row) -> str:
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                 row[3].rjust(widths[3]), row[4].rjust(widths[4])]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(tuple("x" * w for w in widths)))
    title = f"{program.name} ({program.source.filename})"
    if program.sizes:
        title += " at " + ", ".join(f"{name} = {value}" for name, value in program.sizes.items())
    out = [title]
    if program.symbolic:
        out.append(sizes_line(program))
    out += [line(header), rule]
    labels = [f.partition(": ")[0] for lines in explanations.values() for f in lines]
    label_width = max(map(len, labels), default=0)
    margin = " " * (widths[0] + 4)

    def explained(formula: str) -> str:
        label, sep, rest = formula.partition(": ")
        return margin + (f"{label.ljust(label_width)}  {rest}" if sep else formula)

    for index, row in enumerate(rows):
        out.append(line(row))
        out.extend(explained(formula) for formula in explanations.get(index, ()))
    out.append(rule)
    out.append(line(total))
    if explain:
        terms = [layer.params for layer in program.layers if layer.params]
        if 1 < len(terms) <= 12:
            out.append(explained(f"params: {' + '.join(f'{t:,}' for t in terms)} = {program.total_params:,}"))
    if program.output is not None:
        out.append(f"output {program.output} ({program.output.noun}); PyTorch shape (N, {', '.join(map(str, program.output.torch_shape))})")
    if memory is not None:
        out.append(render_memory(memory).rstrip("\n"))
    elif program.symbolic:
        out.append("MACs and memory depend on the input size: `cnnc summary FILE --size 224x224` gives numbers")
    if explain:
        out.extend(_formula_legend(program))
    return "\n".join(out) + "\n"


def _formula_legend(program: TypedProgram) -> list[str]:
    """The general rules of the kinds used, in the lesson's letters, once each."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for layer in program.layers:
        names = groups.setdefault(layer.kind.formulas, [])
        if layer.kind.formulas and layer.kind.name not in names:
            names.append(layer.kind.name)
    groups.pop((), None)
    if not groups:
        return []
    width = max(len(", ".join(names)) for names in groups.values())
    out = ["", "formulas (K filters, F kernel, S stride, P padding, D dilation, G groups, C channels):"]
    for formulas, names in groups.items():
        for index, formula in enumerate(formulas):
            out.append(f"  {(', '.join(names) if index == 0 else '').ljust(width)}  {formula}")
    return out
