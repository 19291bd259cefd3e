"""The traced graph as a flow of values, and that flow as nested statements.

Two steps:

1. `build`: each fx node becomes a *flow* (a value the network computes)
   through `ops.meaning`: a step of layers on one flow, a join (`add`, `mul`,
   `cat`) of several, a chunk and its parts, or the operand itself (an
   alias). Chains of reshapes are decided by the shapes at their two ends
   (`flatten`, a channel shuffle, or nothing). What the language cannot say
   is collected as problems, each once (a value computed from an unsupported
   one is not reported again).

2. `decompose`: the flow graph, read backwards from the output, as
   statements. A join's operands meet at the join's *immediate dominator*
   (the last value every path from the input to the join goes through): an
   `add` whose operands are `f(d)` and `d` is `residual { f }`, with
   `shortcut { g }` when the other is `g(d)`; a `mul` of `d` and `f(d)` is
   `gate { f }`; a `cat` of `f_i(d)` is `concat { branch { f_i } ... }` and of
   the parts of `d.chunk(n)` is `split`. A value used by two regions that do
   not nest this way (a connection that skips into the middle of another
   branch) cannot be said, and is reported where it is used the second time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from torch import fx

from . import capabilities, ops
from .ir import Arg, Branches, Gate, Layer, Origin, Residual, Statement, children, common_stack
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
NO_DATA = ops.NoData()


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


# -- 1. build ------------------------------------------------------------------------


class _Builder:
    def __init__(self, traced: Traced) -> None:
        self.traced = traced
        self.context = ops.Context(traced.module, traced.shapes)
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
        if isinstance(meaning, ops.Unsupported):
            return self.report(node, meaning.operation, meaning.reason, meaning.help)
        if isinstance(meaning, ops.NoData):
            return NO_DATA
        if isinstance(meaning, ops.Alias):
            return self.values.get(meaning.source, BROKEN) if isinstance(meaning.source, fx.Node) else BROKEN
        if isinstance(meaning, ops.Reshape):
            source = self.values.get(meaning.source)
            if not isinstance(source, Flow):
                return BROKEN
            shape = self.traced.shapes.get(node.name)
            step = (meaning.operation, meaning.dims, shape)
            if source.kind == VIEW and len(meaning.source.users) == 1:
                return self.make(VIEW, source.inputs, node, detail=(*source.detail, step))
            return self.make(VIEW, (source,), node, detail=(step,))
        if isinstance(meaning, ops.Emit):
            source = self.operand(meaning.source, node)
            if source is BROKEN or source is None:
                return BROKEN if source is BROKEN else self.report(node, "operation", "an operation on something that is not the network's data")
            return self.make(STEP, (source,), node, layers=self._layers(node, meaning))
        if isinstance(meaning, ops.Join):
            return self.join(node, meaning)
        if isinstance(meaning, ops.Chunk):
            source = self.operand(meaning.source, node)
            if not isinstance(source, Flow):
                return BROKEN
            return self.make(CHUNK, (source,), node, detail=(meaning.parts,))
        if isinstance(meaning, ops.Part):
            chunk = self.values.get(meaning.source)
            if not isinstance(chunk, Flow):
                return BROKEN
            return self.make(PART, (chunk,), node, detail=(meaning.index,))
        raise AssertionError(meaning)

    def _owns_parameters(self, path: str) -> bool:
        return any(True for _ in self.traced.module.get_submodule(path).parameters())

    def _reads_broken(self, node: fx.Node) -> bool:
        found = []
        fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(self.values.get(n) is BROKEN))
        return any(found)

    def _layers(self, node: fx.Node, meaning: ops.Emit) -> tuple[Layer, ...]:
        stack = self.traced.scopes(node)
        shape = self.traced.shapes.get(node.name)
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

    def join(self, node: fx.Node, meaning: ops.Join):
        operands = [self.operand(value, node) for value in meaning.operands]
        if any(value is BROKEN for value in operands):
            return BROKEN
        sign = {"add": "+", "mul": "*"}.get(meaning.kind, "")
        if meaning.kind in ("add", "mul"):
            others = [value for value, flow in zip(meaning.operands, operands) if flow is None]
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


# -- 2. decompose ---------------------------------------------------------------------


class _Decomposer:
    def __init__(self, graph: FlowGraph, traced: Traced) -> None:
        self.graph = graph
        self.traced = traced
        self.claimed: set[int] = set()
        self.reports: list[Report] = []
        self.idom = _dominators(graph.output)

    def report(self, node, operation, message, help="") -> None:
        self.reports.append(Report(node, operation, message, help))

    def sequence(self, start: Flow, end: Flow) -> list[Statement]:
        statements: list[Statement] = []
        flow = end
        while flow is not start:
            if id(flow) in self.claimed:
                self.report(
                    flow.node,
                    "a shared value",
                    "this value is used by two parts of the network that do not nest as blocks, residuals or "
                    "branches do; the .cnn language cannot say that connection",
                )
                break
            self.claimed.add(id(flow))
            if flow.kind == STEP:
                statements.extend(reversed(flow.layers))
                flow = flow.inputs[0]
            elif flow.kind in (ADD, MUL, CAT):
                statement, flow = self.join(flow)
                if statement is None:
                    break
                statements.append(statement)
            elif flow.kind == INPUT:
                raise AssertionError("walked past the start of a region")
            else:  # a part of a chunk used other than in a split
                self.report(flow.node, "Tensor.chunk", "a part of a chunk used other than as one branch of a concatenation in order has no counterpart")
                break
        statements.reverse()
        return statements

    def join(self, flow: Flow) -> tuple[Statement | None, Flow | None]:
        start = self.idom[id(flow)]
        if flow.kind == ADD:
            paths = [self.sequence(start, operand) for operand in flow.inputs]
            paths.sort(key=lambda path: -_leaves(path))  # the longer path is the body
            body, other = paths
            origin = self._origin(flow, body + other)
            return Residual(tuple(body), tuple(other) if other else None, origin), start
        if flow.kind == MUL:
            others = [operand for operand in flow.inputs if operand is not start]
            if len(others) != 1 or not capabilities.supports(capabilities.GATE):
                self.report(
                    flow.node,
                    "x * f(x)" if len(others) == 1 else "a product of two paths",
                    "multiplying the input by a function of itself (a gate, as in squeeze-and-excitation) has no counterpart in the .cnn language yet"
                    if len(others) == 1
                    else "multiplying two different paths has no counterpart in the .cnn language",
                    "issue 13 adds `gate { ... }`" if len(others) == 1 else "",
                )
                return None, None
            body = self.sequence(start, others[0])
            return Gate(tuple(body), self._origin(flow, body)), start
        return self.concatenation(flow, start)

    def concatenation(self, flow: Flow, start: Flow) -> tuple[Statement | None, Flow | None]:
        if start.kind == CHUNK and len(flow.inputs) == start.detail[0]:
            return self.split(flow, start)
        if not capabilities.supports(capabilities.CONCAT):
            self.report(flow.node, "torch.cat", "a concatenation of branches has no counterpart in the .cnn language yet", "issue 13 adds `concat { branch { } ... }`")
            return None, None
        branches = [self.sequence(start, operand) for operand in flow.inputs]
        return Branches(tuple(tuple(b) for b in branches), False, self._origin(flow, [s for b in branches for s in b])), start

    def split(self, flow: Flow, chunk: Flow) -> tuple[Statement | None, Flow | None]:
        parts = {}
        for flow_part in self.graph.flows:
            if flow_part.kind == PART and flow_part.inputs[0] is chunk:
                parts.setdefault(flow_part.detail[0], flow_part)
        if not capabilities.supports(capabilities.SPLIT):
            self.report(flow.node, "Tensor.chunk", "splitting the channels into branches (chunk, then cat) has no counterpart in the .cnn language yet", "issue 13 adds `split { branch { } ... }`")
            return None, None
        branches = []
        for index, operand in enumerate(flow.inputs):
            part = parts.get(index)
            if part is None or not _reaches(operand, part):
                self.report(flow.node, "Tensor.chunk", "the parts of a chunk are concatenated in another order than they were cut")
                return None, None
            self.claimed.add(id(part))
            branches.append(self.sequence(part, operand))
        self.claimed.add(id(chunk))
        statement = Branches(tuple(tuple(b) for b in branches), True, self._origin(flow, [s for b in branches for s in b]))
        return statement, chunk.inputs[0]

    def _origin(self, flow: Flow, inner: list[Statement]) -> Origin:
        stack = common_stack([self.traced.scopes(flow.node), *(s.origin.stack for s in inner)])
        return Origin(end=flow.node.name, stack=stack, shape=self.traced.shapes.get(flow.node.name))


def _leaves(statements: list[Statement]) -> int:
    return sum(1 if isinstance(s, Layer) else sum(_leaves(list(body)) for body in children(s)) for s in statements)


def _reaches(end: Flow, start: Flow) -> bool:
    seen = set()
    stack = [end]
    while stack:
        flow = stack.pop()
        if flow is start:
            return True
        if id(flow) in seen:
            continue
        seen.add(id(flow))
        stack.extend(flow.inputs)
    return False


def _dominators(output: Flow | None) -> dict[int, Flow]:
    """Each reachable flow's immediate dominator (the input dominates itself): Cooper, Harvey and Kennedy on a DAG."""
    if output is None:
        return {}
    reachable: dict[int, Flow] = {}
    stack = [output]
    while stack:
        flow = stack.pop()
        if id(flow) in reachable:
            continue
        reachable[id(flow)] = flow
        stack.extend(flow.inputs)
    order = sorted(reachable.values(), key=lambda f: f.index)
    idom: dict[int, Flow] = {}
    for flow in order:
        if not flow.inputs:
            idom[id(flow)] = flow
            continue
        candidates = list(flow.inputs)
        found = candidates[0]
        for other in candidates[1:]:
            found = _intersect(found, other, idom)
        idom[id(flow)] = found
    return idom


def _intersect(a: Flow, b: Flow, idom: dict[int, Flow]) -> Flow:
    while a is not b:
        while a.index > b.index:
            a = idom[id(a)]
        while b.index > a.index:
            b = idom[id(b)]
    return a


def decompose(graph: FlowGraph, traced: Traced) -> tuple[list[Statement], list[Report]]:
    """The network as statements from its input to its output, and what could not be said."""
    if graph.output is None:
        return [], []
    start = next(flow for flow in graph.flows if flow.kind == INPUT)
    decomposer = _Decomposer(graph, traced)
    statements = decomposer.sequence(start, graph.output)
    return statements, decomposer.reports
