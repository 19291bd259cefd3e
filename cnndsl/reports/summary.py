"""The per-layer summary (`cnnc summary`, `program.summary`), from the typed program."""

from __future__ import annotations


from .memory import DEFAULT_DTYPE, MemoryEstimate, estimate
from .memory import render as render_memory
from .memory import render_training
from ..check.compute import flops, mult_adds
from ..check.fields import field_arithmetic, units
from ..check.saved import SavedBytes, saved_bytes
from ..check.training import TrainingStep, training_step
from ..types.shapes import MapType
from ..types.symbolic import bounds_text
from ..check.typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip
from ..record import Record
from ..syntax.visitor import Visitor

_set = object.__setattr__


class LayerSummary(Record):
    """One PyTorch leaf layer: where it came from, its type, its cost, its receptive field."""

    __slots__ = (
        "line", "kind", "module", "input", "output", "output_type", "params", "macs", "called_at", "arithmetic", "depth",
        "flops", "mult_adds", "receptive_field", "field", "saved_bytes",
    )  # fmt: skip
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
    flops: int  # 2 * macs (FlopCounterMode's)
    mult_adds: int  # torchinfo's convention
    receptive_field: dict | None  # {"size": [h, w], "jump": [h, w], "padding": [h, w], "form": [h, w]}
    field: str  # the receptive field as the table writes it: `26 j8 p8`
    saved_bytes: int | None  # what this layer saves for backward first (None: a symbolic input)

    def __init__(
        self, line: int, kind: str, module: str, input: tuple[int, ...], output: tuple[int, ...], output_type: str,
        params: int, macs: int, called_at: tuple[int, ...] = (), arithmetic: tuple[str, ...] = (), depth: int = 0,
        flops: int = 0, mult_adds: int = 0, receptive_field: dict | None = None, field: str = "",
        saved_bytes: int | None = None,
    ) -> None:  # fmt: skip
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
        _set(self, "flops", flops)
        _set(self, "mult_adds", mult_adds)
        _set(self, "receptive_field", receptive_field)
        _set(self, "field", field)
        _set(self, "saved_bytes", saved_bytes)

    def to_dict(self) -> dict:
        entry = {
            "line": self.line,
            "kind": self.kind,
            "output": _json_shape(self.output),
            "params": self.params,
            "macs": _json_count(self.macs),
            "flops": _json_count(self.flops),
            "mult_adds": _json_count(self.mult_adds),
            "receptive_field": self.receptive_field,
            "saved_bytes": self.saved_bytes,
        }
        if self.called_at:
            entry["called_at"] = list(self.called_at)
        return entry


class JoinSummary(Record):
    """One concat, split or gate: where the branches meet. No parameters, no MACs
    (PyTorch's FlopCounterMode counts none for cat and mul); its receptive field is the union of the
    branches' (a gate's: of its input's and its body's); a gate saves both factors for backward."""

    __slots__ = ("line", "kind", "output", "output_type", "channels", "called_at", "receptive_field", "saved_bytes")
    line: int
    kind: str  # "concat", "split" or "gate"
    output: tuple[int, ...]  # PyTorch order, without the batch
    output_type: str
    channels: tuple[int, ...]  # each branch's output channels (a gate: its body's)
    called_at: tuple[int, ...]
    receptive_field: dict | None
    saved_bytes: int | None

    def __init__(
        self, line: int, kind: str, output: tuple[int, ...], output_type: str, channels: tuple[int, ...],
        called_at: tuple[int, ...] = (), receptive_field: dict | None = None, saved_bytes: int | None = None,
    ) -> None:  # fmt: skip
        _set(self, "line", line)
        _set(self, "kind", kind)
        _set(self, "output", output)
        _set(self, "output_type", output_type)
        _set(self, "channels", channels)
        _set(self, "called_at", called_at)
        _set(self, "receptive_field", receptive_field)
        _set(self, "saved_bytes", saved_bytes)

    def to_dict(self) -> dict:
        entry = {
            "line": self.line, "kind": self.kind, "output": _json_shape(self.output), "params": 0, "macs": 0,
            "flops": 0, "mult_adds": 0, "receptive_field": self.receptive_field, "saved_bytes": self.saved_bytes,
        }  # fmt: skip
        entry["branch_channels" if self.kind != "gate" else "gate_channels"] = list(self.channels)
        if self.called_at:
            entry["called_at"] = list(self.called_at)
        return entry


class Summary(Record):
    __slots__ = (
        "network", "input", "output", "layers", "total_params", "total_macs", "filename", "memory", "symbols", "sizes",
        "joins", "saved_bytes", "training",
    )  # fmt: skip
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
    saved_bytes: int | None  # what one forward pass saves for backward, at the memory figures' batch and dtype
    training: TrainingStep | None  # `--train`: one training step's memory

    def __init__(
        self, network: str, input: tuple[int, ...], output: tuple[int, ...], layers: tuple[LayerSummary, ...],
        total_params: int, total_macs: int, filename: str = "<string>", memory: MemoryEstimate | None = None,
        symbols: dict | None = None, sizes: dict | None = None, joins: tuple[JoinSummary, ...] = (),
        saved_bytes: int | None = None, training: TrainingStep | None = None,
    ) -> None:  # fmt: skip
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
        _set(self, "saved_bytes", saved_bytes)
        _set(self, "training", training)

    def to_dict(self) -> dict:
        total_flops = sum((layer.flops for layer in self.layers), 0)
        total_mult_adds = sum((layer.mult_adds for layer in self.layers), 0)
        entry = {
            "network": self.network,
            "input": _json_shape(self.input),
            "output": _json_shape(self.output),
            "layers": [layer.to_dict() for layer in self.layers],
            "total_params": self.total_params,
            "total_macs": self.total_macs if isinstance(self.total_macs, int) else None,
            "total_flops": total_flops if isinstance(total_flops, int) else None,
            "total_mult_adds": total_mult_adds if isinstance(total_mult_adds, int) else None,
            "saved_bytes": self.saved_bytes,
        }
        if self.symbols:
            entry["symbols"] = self.symbols
        if self.sizes:
            entry["sizes"] = self.sizes
        if self.joins:
            entry["joins"] = [join.to_dict() for join in self.joins]
        if self.memory is not None:
            entry["memory"] = self.memory.to_dict()
        if self.training is not None:
            entry["training"] = self.training.to_dict()
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


def _json_count(number):
    """A count for JSON: a number, or a symbolic count's expression (`"1,728*H*W"`)."""
    return number if isinstance(number, int) else str(number)


def summarize(program: TypedProgram, batch: int = 1, dtype: str = DEFAULT_DTYPE, optimizer: str | None = None) -> Summary:
    """The summary; `batch` and `dtype` set the memory figures and the saved bytes (default 1, float32);
    `optimizer` (sgd, momentum, adam, adamw) adds one training step's memory.

    For a symbolic program, types are symbolic, MACs are expressions (JSON:
    strings, total null) and there are no memory figures: summarise an
    instance (`cnndsl.compiler.instantiate(program, 224, 224)`) for numbers.
    Receptive fields are numbers either way.
    """
    concrete = program.input is not None and not program.symbolic
    saved = saved_bytes(program, batch, dtype) if concrete else None
    layers = _Layers(program, saved)
    layers.visit_all(program.nodes)
    return Summary(
        network=program.name,
        input=program.input.torch_shape if program.input else (),
        output=program.output.torch_shape if program.output else (),
        layers=tuple(layers.found),
        total_params=program.total_params,
        total_macs=program.total_macs,
        filename=program.source.filename,
        memory=estimate(program, batch, dtype) if concrete else None,
        symbols={s.name: {"bound": s.bound, "given": s.given} for s in program.symbols.values()} if program.symbolic else None,
        sizes=dict(program.sizes) or None,
        joins=tuple(layers.joins),
        saved_bytes=saved.total if saved is not None else None,
        training=training_step(program, batch, optimizer, dtype, saved) if saved is not None and optimizer else None,
    )


class _Layers(Visitor):
    """A LayerSummary per leaf layer, with its residual nesting (`depth`)."""

    walks = NODES

    def __init__(self, program: TypedProgram, saved: SavedBytes | None = None) -> None:
        self.found: list[LayerSummary] = []
        self.joins: list[JoinSummary] = []
        self.depth = 0
        shape = program.input
        self.input_size = (shape.height, shape.width) if isinstance(shape, MapType) else (1, 1)
        self.saved = saved.by_node() if saved is not None else None

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        saved = self.saved.get(id(node), 0) if self.saved is not None else None
        self.found.append(layer_summary(node, self.depth, self.input_size, saved))

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        self.depth += 1
        self.visit_children(node)  # the body, then the shortcut
        self.depth -= 1

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        self.joins.append(self._join(node, node.keyword, node.channels))
        self.visit_TypedResidual(node)  # its branches, one level deeper

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        self.visit_children(node)

    def visit_TypedGate(self, node: TypedGate) -> None:
        self.joins.append(self._join(node, "gate", [node.gate.channels] if hasattr(node.gate, "channels") else [node.gate.features]))
        self.visit_TypedResidual(node)

    def _join(self, node, kind: str, channels) -> JoinSummary:
        field = node.receptive_field
        return JoinSummary(
            node.line, kind, node.output.torch_shape, str(node.output), tuple(channels), tuple(call.line for call in node.calls),
            field.to_dict(self.input_size, units(node.output, node.input)) if field is not None else None,
            self.saved.get(id(node), 0) if self.saved is not None else None,
        )  # fmt: skip

    visit_TypedSkip = visit_TypedResidual  # the body between the keep and the join


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


def layer_summary(layer: TypedLayer, depth: int = 0, input_size: tuple = (1, 1), saved: int | None = None) -> LayerSummary:
    field = layer.receptive_field
    spatial = units(layer.output, layer.input)
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
        flops=flops(layer),
        mult_adds=mult_adds(layer),
        receptive_field=field.to_dict(input_size, spatial) if field is not None else None,
        field=field.text(spatial) if field is not None else "",
        saved_bytes=saved,
    )


# The table's columns: header, right-aligned.
COLUMNS = (("line", True), ("layer", False), ("output", False), ("field", False), ("params", True), ("MACs", True))
SAVED_COLUMN = ("saved", True)
# What the numbers are, under the title: tools disagree about "FLOPs" (fvcore and thop count MACs).
CONVENTIONS = "MACs: multiply-accumulates per sample, 2 FLOPs each; field: receptive field in input pixels (size, jN jump, pN padding)"


class _Rows(Visitor):
    """The table's rows (line, layer, output, field, params, MACs, [saved]) and, by row, what `--explain` adds."""

    walks = NODES

    def __init__(self, explain: bool, source, saved: SavedBytes | None = None) -> None:
        self.explain = explain
        self.source = source  # the lines of `keep` statements
        self.saved = saved.by_node() if saved is not None else None
        self.rows: list[tuple[str, ...]] = []
        self.explanations: dict[int, tuple[str, ...]] = {}
        self.indent = ""  # two spaces per residual around the node

    def add(self, where: str, layer: str, output: str = "", node: Node | None = None, params: str = "", macs: str = "") -> None:
        field = ""
        if node is not None and node.receptive_field is not None:
            field = node.receptive_field.text(units(node.output, node.input))
        row = (where, layer, output, field, params, macs)
        if self.saved is not None:
            row += (f"{self.saved[id(node)]:,}" if id(node) in self.saved else "",)
        self.rows.append(row)

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        where = str(node.line)
        if node.calls:
            where += f" ({node.calls[0].line})"
        self.add(where, self.indent + node.module.removeprefix("nn."), str(node.output), node, f"{node.params:,}", f"{node.macs:,}")
        if self.explain and (node.arithmetic or node.receptive_field is not None):
            self.explanations[len(self.rows) - 1] = node.arithmetic + field_arithmetic(node)

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.add(where, f"{indent}residual", str(node.output), node)
        if self.explain:
            other = "shortcut" if node.shortcut is not None else "input (identity)"
            adds = f"adds: body {node.output} + {other} {node.output} = {node.output}"
            self.explanations[len(self.rows) - 1] = (adds, *field_arithmetic(node))
        self.indent = indent + "  "
        self.visit_all(node.body)
        if node.shortcut is not None:
            self.add("", f"{indent}shortcut")
            self.visit_all(node.shortcut)
        self.indent = indent

    def visit_TypedSkip(self, node: TypedSkip) -> None:
        """A `keep NAME` row, the body indented, then the join's row (`cat e1 crop`)."""
        indent = self.indent
        kept = node.receptive_input.text(units(node.input, node.input)) if node.receptive_input is not None else ""
        self.rows.append((str(self.source.line_of(node.keep_span.start)), f"{indent}keep {node.name}", str(node.input), kept, "", "")
                         + (("",) if self.saved is not None else ()))
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.add(where, f"{indent}{node.statement}", str(node.output), node, "0", "0")
        if self.explain:
            self.explanations[len(self.rows) - 1] = (*skip_arithmetic(node), *field_arithmetic(node))

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.add(where, f"{indent}{node.keyword}", str(node.output), node, "0", "0")
        if self.explain:
            formulas = []
            if node.split:
                parts = len(node.branches)
                formulas.append(f"splits: {node.input.channels} channels / {parts} branches = {node.input.channels // parts} each")
            formulas.append(f"channels: {' + '.join(map(str, node.channels))} = {node.output.channels}")
            self.explanations[len(self.rows) - 1] = (*formulas, *field_arithmetic(node))
        self.indent = indent + "  "
        self.visit_all(node.branches)
        self.indent = indent

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        indent = self.indent
        self.add(str(node.line), f"{indent}branch", str(node.output) if node.body else f"{node.output} (input)", node)
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent

    def visit_TypedGate(self, node: TypedGate) -> None:
        indent = self.indent
        where = str(node.line) + (f" ({node.calls[0].line})" if node.calls else "")
        self.add(where, f"{indent}gate", str(node.output), node, "0", "0")
        if self.explain:
            self.explanations[len(self.rows) - 1] = (
                f"multiplies: {node.input} * {node.gate} = {node.output} (each axis of the gate equals the input's or is 1, and is stretched)",
                *field_arithmetic(node),
            )
        self.indent = indent + "  "
        self.visit_all(node.body)
        self.indent = indent


def render_table(
    program: TypedProgram, explain: bool = False, memory: MemoryEstimate | None = None, training: TrainingStep | None = None
) -> str:
    """The summary as a text table, in the .cnn notation (HxWxC); `memory`'s figures under it, and with
    `training` (`--train`) each layer's saved bytes and the training step's memory."""
    saved = saved_bytes(program, training.batch, training.dtype) if training is not None else None
    columns = COLUMNS + ((SAVED_COLUMN,) if saved is not None else ())
    table = _Rows(explain, program.source, saved)
    if program.input is not None:
        table.add("", "input", str(program.input))
    table.visit_all(program.nodes)
    rows, explanations = table.rows, table.explanations
    total = ("total", "", "", "", f"{program.total_params:,}", f"{program.total_macs:,}")
    if saved is not None:
        total += (f"{saved.total:,}",)
    header = tuple(name for name, _ in columns)
    widths = [max(len(r[i]) for r in [header, total, *rows]) for i in range(len(columns))]

    def line(row) -> str:
        cells = [cell.rjust(width) if right else cell.ljust(width) for cell, width, (_, right) in zip(row, widths, columns)]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(tuple("x" * w for w in widths)))
    title = f"{program.name} ({program.source.filename})"
    if program.sizes:
        title += " at " + ", ".join(f"{name} = {value}" for name, value in program.sizes.items())
    out = [title]
    if program.symbolic:
        out.append(sizes_line(program))
    out += [CONVENTIONS + (f"; saved: bytes kept for backward (batch {training.batch})" if training else ""), line(header), rule]
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
    if training is not None:
        out.append(render_training(training).rstrip("\n"))
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
    groups[FIELD_FORMULAS] = ["field"]
    width = max(len(", ".join(names)) for names in groups.values())
    out = ["", "formulas (K filters, F kernel, S stride, P padding, D dilation, G groups, C channels):"]
    for formulas, names in groups.items():
        for index, formula in enumerate(formulas):
            out.append(f"  {(', '.join(names) if index == 0 else '').ljust(width)}  {formula}")
    return out


# The receptive field's recurrence (Araujo, Norris and Sim, Distill 2019), per axis.
FIELD_FORMULAS = (
    "r = r_prev + D*(F - 1)*j_prev, j = j_prev*S, p = p_prev + P*j_prev (r size, j jump, p padding, in input pixels)",
    "a residual: the union of its paths' fields; a linear layer or pooling to 1: the whole input",
)
