"""The flow graph read back from the output as nested statements.

A join's operands meet at the join's *immediate dominator* (the last value
every path from the input to the join goes through): an `add` whose
operands are `f(d)` and `d` is `residual { f }`, with `shortcut { g }` when
the other is `g(d)`; a `mul` of `d` and `f(d)` is `gate { f }`; a `cat` of
`f_i(d)` is `concat { branch { f_i } ... }` and of the parts of
`d.chunk(n)` is `split`. A value used by two regions that do not nest this
way (a connection that skips into the middle of another branch) cannot be
said, and is reported where it is used the second time.
"""

from __future__ import annotations

from . import capabilities
from .graph import ADD, CAT, CHUNK, INPUT, MUL, PART, STEP, Flow, FlowGraph, Report
from .ir import Branches, Gate, Layer, Origin, Residual, Statement, children, common_stack
from .trace import Traced


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
