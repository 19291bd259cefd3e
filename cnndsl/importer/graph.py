"""The traced graph as a flow of values (`build`); decompose.py reads it as nested statements.

Each fx node becomes a *flow* (a value the network computes) through
`ops.meaning`: a step of layers on one flow, a join (`add`, `mul`, `cat`) of
several, a chunk and its parts, or the operand itself (an alias). Chains of
reshapes are decided by the shapes at their two ends (`flatten`, a channel
shuffle, or nothing); a permute to channels-last and back is a change of
layout, inside which only channel-wise layers may run (ConvNeXt's
`layernorm; linear N pixelwise; gelu; ...`). What the language cannot say is
collected as problems, each once (a value computed from an unsupported one
is not reported again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from torch import fx

from ..layers import lookup
from . import capabilities, meanings, ops
from .ir import Arg, Layer, Origin
from .problems import ImportProblem
from .trace import Traced

INPUT, STEP, ADD, MUL, CAT, CHUNK, PART, VIEW = "input", "step", "add", "mul", "cat", "chunk", "part", "view"


@dataclass(eq=False)
class Flow:
    """A value of the network: what computes it from which other values."""

    kind: str
    inputs: tuple[Flow, ...]
    node: fx.Node | None
    index: int
    layers: tuple[Layer, ...] = ()  # STEP
    detail: tuple = ()  # CAT: (dim,); CHUNK: (parts,); PART: (index,); VIEW: the reshape chain


@dataclass(frozen=True)
class _Broken:
    """A value computed from something already reported: no further reports."""


BROKEN = _Broken()
# What may run on a channels-last map besides activations: layers that act on the channels at every position.
CHANNEL_WISE = frozenset({"layernorm", "linear", "dropout"})
NO_DATA = meanings.NoData()


@dataclass
class Report:
    node: fx.Node
    operation: str
    message: str
    help: str = ""


@dataclass
class FlowGraph:
    output: Flow | None
    flows: list[Flow]
    reports: list[Report] = field(default_factory=list)


def problems(traced: Traced, reports: list[Report]) -> list[ImportProblem]:
    """The reports as problems, with each operation's file and line (found by tracing again, once)."""
    if not reports:
        return []
    traced.record_locations()
    return [ImportProblem(r.operation, r.message, traced.location(r.node), r.help) for r in reports]


class _Builder:
    def __init__(self, traced: Traced) -> None:
        self.traced = traced
        self.context = meanings.Context(traced.module, traced.shapes)
        self.context.layouts = traced.layouts  # shared: the verification reads which values are channels-last
        self.values: dict[fx.Node, object] = {}
        self.flows: list[Flow] = []
        self.reports: list[Report] = []
        self.resolved: dict[int, object] = {}
        self.called: set[str] = set()  # modules called so far (a second call of one with weights shares them)
        self.cats: dict[tuple[int, ...], Flow] = {}  # the flows each concatenated list of flows made

    def make(self, kind: str, inputs, node, **extra) -> Flow:
        flow = Flow(kind, tuple(inputs), node, len(self.flows), **extra)
        self.flows.append(flow)
        return flow

    def report(self, node: fx.Node, operation: str, message: str, help: str = "") -> _Broken:
        self.reports.append(Report(node, operation, message, help))
        return BROKEN

    def run(self, graph: fx.Graph) -> FlowGraph:
        output = None
        inputs = 0
        for node in graph.nodes:
            if node.op == "placeholder":
                # trace.trace refuses a second input that is used; one with a default and no use is left alone.
                if inputs == 0:
                    self.values[node] = self.make(INPUT, (), node)
                inputs += 1
            elif node.op == "get_attr":
                self.values[node] = ("attribute", node.target)
            elif node.op == "output":
                output = self.output(node)
            else:
                self.values[node] = self.value(node)
        return FlowGraph(output, self.flows, self.reports)

    def output(self, node: fx.Node) -> Flow | None:
        (result,) = node.args
        if self.context.channels_last(result):
            self._channels_last_refusal(node, "returning a map")
            return None
        value = self.values.get(result) if isinstance(result, fx.Node) else None
        if value is BROKEN:
            return None
        if not isinstance(value, Flow):
            what = f"{len(result)} values" if isinstance(result, (tuple, list, dict)) else "something that is not computed from the input image"
            self.report(node, "output", f"the forward pass returns {what}: a .cnn network returns one tensor")
            return None
        return self.resolve(value, node)

    def operand(self, value, user: fx.Node):
        """The flow an operation reads (views resolved), BROKEN, or None for a value that is not a path."""
        if not isinstance(value, fx.Node):
            return None
        found = self.values.get(value)
        if found is BROKEN:
            return BROKEN
        if isinstance(found, Flow):
            return self.resolve(found, user)
        return None

    def value(self, node: fx.Node):
        if self._reads_broken(node):
            return BROKEN  # reported where it broke
        if node.op == "call_module" and node.target in self.called and self._owns_parameters(node.target):
            return self.report(
                node,
                f"`{node.target}` called twice",
                f"the module `{node.target}` is called a second time with the same weights; in a .cnn program every "
                "layer has weights of its own",
                "give each use a module of its own (a .cnn file cannot share weights between layers)",
            )
        if node.op == "call_module":
            self.called.add(node.target)
        meaning = ops.meaning(node, self.context)
        if isinstance(meaning, meanings.Unsupported):
            return self.report(node, meaning.operation, meaning.reason, meaning.help)
        if isinstance(meaning, meanings.NoData):
            return NO_DATA
        if isinstance(meaning, meanings.Alias):
            self._same_layout(node, meaning.source)
            return self.values.get(meaning.source, BROKEN) if isinstance(meaning.source, fx.Node) else BROKEN
        if isinstance(meaning, meanings.Reshape):
            source = self.values.get(meaning.source)
            if not isinstance(source, Flow):
                return BROKEN
            swapped = self._layout_swap(node, meaning)
            if swapped is not None:
                return swapped
            if self.context.channels_last(meaning.source):
                return self._channels_last_refusal(node, f"reshaping ({meaning.operation})")
            shape = self.traced.shapes.get(node.name)
            step = (meaning.operation, meaning.dims, shape)
            if source.kind == VIEW and len(meaning.source.users) == 1:
                return self.make(VIEW, source.inputs, node, detail=(*source.detail, step))
            return self.make(VIEW, (source,), node, detail=(step,))
        if isinstance(meaning, meanings.Emit):
            source = self.operand(meaning.source, node)
            if source is BROKEN or source is None:
                return BROKEN if source is BROKEN else self.report(node, "operation", "an operation on something that is not the network's data")
            if self.context.channels_last(meaning.source):
                refused = [layer.kind for layer in meaning.layers if layer.kind not in CHANNEL_WISE and not _is_activation(layer.kind)]
                if refused:
                    return self._channels_last_refusal(node, f"`{refused[0]}`")
                self._same_layout(node, meaning.source)
            return self.make(STEP, (source,), node, layers=self._layers(node, meaning))
        if isinstance(meaning, meanings.Join):
            if any(self.context.channels_last(value) for value in meaning.operands):
                return self._channels_last_refusal(node, f"a {meaning.kind}")
            return self.join(node, meaning)
        if isinstance(meaning, meanings.Chunk):
            source = self.operand(meaning.source, node)
            if not isinstance(source, Flow):
                return BROKEN
            return self.make(CHUNK, (source,), node, detail=(meaning.parts,))
        if isinstance(meaning, meanings.Part):
            chunk = self.values.get(meaning.source)
            if not isinstance(chunk, Flow):
                return BROKEN
            return self.make(PART, (chunk,), node, detail=(meaning.index,))
        raise AssertionError(meaning)

    # -- layouts ------------------------------------------------------------------

    def _same_layout(self, node: fx.Node, source) -> None:
        if self.context.channels_last(source):
            self.context.layouts[node.name] = meanings.CHANNELS_LAST

    def _layout_swap(self, node: fx.Node, meaning: meanings.Reshape):
        """`x.permute(0, 2, 3, 1)` of a map is the same values in channels-last layout; `permute(0, 3, 1, 2)` goes back."""
        if meaning.operation != "permute" or not isinstance(meaning.source, fx.Node):
            return None
        shape = self.traced.shapes.get(meaning.source.name)
        dims = tuple(d % 4 for d in meaning.dims) if shape is not None and len(shape) == 4 else ()
        last = self.context.channels_last(meaning.source)
        if (dims == (0, 2, 3, 1) and not last) or (dims == (0, 3, 1, 2) and last):
            if not last:
                self.context.layouts[node.name] = meanings.CHANNELS_LAST
            return self.values[meaning.source]
        return None

    def _channels_last_refusal(self, node: fx.Node, what: str):
        return self.report(
            node,
            ops.source_name(node),
            f"{what} on a map in channels-last layout (after x.permute(0, 2, 3, 1)) has no counterpart: there, the "
            "language has only layers that act on the channels at every position (layernorm, linear N pixelwise, activations)",
        )

    def _owns_parameters(self, path: str) -> bool:
        return any(True for _ in self.traced.module.get_submodule(path).parameters())

    def _reads_broken(self, node: fx.Node) -> bool:
        found = []
        fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(self.values.get(n) is BROKEN))
        return any(found)

    def _layers(self, node: fx.Node, meaning: meanings.Emit) -> tuple[Layer, ...]:
        stack = self.traced.scopes(node)
        shape = self.traced.shapes.get(node.name)
        if shape is not None and len(shape) == 4 and self.context.channels_last(node):
            shape = (shape[0], shape[3], shape[1], shape[2])  # the map it is, in the (N, C, H, W) the comments use
        layers = []
        for position, layer in enumerate(meaning.layers):
            last = position == len(meaning.layers) - 1
            origin = Origin(
                end=node.name,
                stack=stack,
                modules=meaning.modules,
                shape=shape if last else meaning.shapes[position] if position < len(meaning.shapes) else None,
                note=meaning.note,
                source=ops.source_name(node),
            )
            layers.append(replace(layer, origin=origin))
        return tuple(layers)

    def join(self, node: fx.Node, meaning: meanings.Join):
        operands = [self.operand(value, node) for value in meaning.operands]
        if any(value is BROKEN for value in operands):
            return BROKEN
        sign = {"add": "+", "mul": "*"}.get(meaning.kind, "")
        if meaning.kind in ("add", "mul"):
            others = [value for value, flow in zip(meaning.operands, operands) if flow is None]
            paths = [flow for flow in operands if flow is not None]
            if meaning.kind == "mul" and len(others) == 1 and len(paths) == 1:
                scale = self._layer_scale(node, others[0], paths[0])
                if scale is not None:
                    return scale
            if others:
                other = others[0]
                attribute = self.values.get(other) if isinstance(other, fx.Node) else None
                what = (
                    f"the parameter or buffer `{attribute[1]}`"
                    if isinstance(attribute, tuple)
                    else "a value computed from sizes" if isinstance(other, fx.Node) else f"the constant {other!r}"
                )
                verb = "adding" if meaning.kind == "add" else "multiplying by"
                return self.report(
                    node,
                    f"x {sign} {other.name if isinstance(other, fx.Node) else other!r}",
                    f"{verb} {what} has no counterpart in the .cnn language: `{sign}` joins two paths of the network",
                    "issue 13 adds `layerscale` for a learnable per-channel scale" if meaning.kind == "mul" and isinstance(attribute, tuple) else "",
                )
            return self.make(ADD if meaning.kind == "add" else MUL, operands, node)
        # cat
        if any(flow is None for flow in operands) or not operands:
            return self.report(node, "torch.cat", "a concatenation of something other than the network's data")
        shape = self.traced.shapes.get(node.name)
        dim = meaning.dim % len(shape) if shape else meaning.dim
        if shape is None or len(shape) != 4 or dim != 1:
            return self.report(
                node,
                "torch.cat",
                f"a concatenation along dim {meaning.dim} of {len(shape or ())}-D tensors has no counterpart: only maps' channels (dim 1) join",
            )
        if len(operands) == 1:
            return operands[0]
        return self.concatenation(operands, node, dim)

    def _layer_scale(self, node: fx.Node, other, path: Flow):
        """`self.layer_scale * x` with a (C, 1, 1) parameter: `layerscale INIT` (ConvNeXt), when the language has it."""
        attribute = self.values.get(other) if isinstance(other, fx.Node) else None
        shape = self.traced.shapes.get(node.name)
        if not isinstance(attribute, tuple) or shape is None or len(shape) != 4:
            return None
        try:
            parameter = self.traced.module.get_parameter(attribute[1])
        except AttributeError:
            return None  # a buffer: a constant, not a learnable scale
        if tuple(parameter.shape) != (shape[1], 1, 1) or not capabilities.supports(capabilities.LAYERSCALE):
            return None
        values = parameter.detach().flatten()
        # The initial value the .cnn file states (the weights file carries the trained ones).
        init = float(values[0]) if bool((values == values[0]).all()) else float(values.mean())
        owner = attribute[1].rpartition(".")[0]
        layer = Layer("layerscale", (Arg("init", float(f"{init:.6g}")),))
        emit = meanings.Emit(node.args[0], (layer,), (owner,))
        return self.make(STEP, (path,), node, layers=self._layers(node, emit))

    def concatenation(self, operands: list[Flow], node: fx.Node, dim: int) -> Flow:
        """A cat, nested where it extends an earlier one: DenseNet's cat([x0, x1, x2]) after cat([x0, x1]) is cat(that, x2).

        Concatenation is associative, so the values are the same; nested,
        each cat has the previous one as its immediate dominator and reads as
        `concat { branch { } branch { layer } }`, DenseNet's dense layer.
        The same list concatenated twice is one value.
        """
        key = tuple(id(flow) for flow in operands)
        if key in self.cats:
            return self.cats[key]
        for length in range(len(operands) - 1, 1, -1):
            earlier = self.cats.get(key[:length])
            if earlier is not None:
                operands = [earlier, *operands[length:]]
                break
        flow = self.make(CAT, operands, node, detail=(dim,))
        self.cats[key] = flow
        return flow

    # -- views ------------------------------------------------------------------

    def resolve(self, flow: Flow, user: fx.Node):
        """A VIEW flow as what it means (a flatten step, a shuffle, the flow itself), once; others as they are."""
        if flow.kind != VIEW:
            return flow
        if id(flow) in self.resolved:
            return self.resolved[id(flow)]
        (base,) = flow.inputs
        result = self._view(flow, base)
        self.resolved[id(flow)] = result
        return result

    def _view_origin(self, flow: Flow, end) -> Origin:
        return Origin(end=flow.node.name, stack=self.traced.scopes(flow.node), shape=tuple(end), source=ops.source_name(flow.node))

    def _view(self, flow: Flow, base: Flow):
        start = self.traced.shapes.get(base.node.name) if base.node is not None else None
        if base.kind == INPUT:
            start = self.traced.input_shape
        steps = flow.detail
        end = steps[-1][2]
        if start is None or end is None:
            return self.report(flow.node, flow.detail[-1][0], "a reshape of something whose shape is unknown")
        moves = [step for step in steps if step[0] in ("transpose", "permute")]
        if not moves:
            if tuple(end) == tuple(start):
                return base
            if len(start) == 4 and tuple(end) == (start[0], math.prod(start[1:])):
                layer = Layer("flatten", origin=self._view_origin(flow, end))
                return self.make(STEP, (base,), flow.node, layers=(layer,))
        shuffle = _shuffle_groups(start, steps)
        if shuffle:
            if not capabilities.supports(capabilities.SHUFFLE):
                return self.report(
                    flow.node,
                    "channel shuffle",
                    f"a channel shuffle in {shuffle} groups (view, transpose, view) has no counterpart in the .cnn language yet",
                    "issue 13 adds `shuffle G`",
                )
            layer = Layer("shuffle", (Arg("groups", shuffle),), origin=self._view_origin(flow, end))
            return self.make(STEP, (base,), flow.node, layers=(layer,))
        operations = ", ".join(dict.fromkeys(step[0] for step in steps))
        return self.report(
            flow.node,
            operations,
            f"reshaping {tuple(start)} to {tuple(end)} ({operations}) has no counterpart: the language flattens a map "
            "(N, C, H, W) into a vector (N, C*H*W) and nothing else",
        )


def _shuffle_groups(start, steps) -> int:
    """g when the chain is torchvision's channel_shuffle: (N,C,H,W) -> (N,g,C/g,H,W), swap dims 1 and 2, -> (N,C,H,W)."""
    if len(start) != 4 or tuple(steps[-1][2]) != tuple(start):
        return 0
    shapes = [tuple(start)] + [tuple(step[2]) for step in steps]
    for position, (operation, dims, shape) in enumerate(steps):
        if operation not in ("transpose", "permute"):
            continue
        before = shapes[position]
        swapped = (operation == "transpose" and sorted(d % 5 for d in dims) == [1, 2]) or (
            operation == "permute" and tuple(d % 5 for d in dims) == (0, 2, 1, 3, 4)
        )
        if len(before) == 5 and swapped and before[1] * before[2] == start[1] and before[3:] == tuple(start[2:]):
            others = [s for i, s in enumerate(steps) if i != position and s[0] in ("transpose", "permute")]
            return before[1] if not others else 0
    return 0


def build(traced: Traced) -> FlowGraph:
    return _Builder(traced).run(traced.graph)


def _is_activation(kind: str) -> bool:
    found = lookup(kind)
    return found is not None and found.is_activation
