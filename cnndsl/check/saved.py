"""Saved bytes: what autograd keeps for backward during one train-mode forward pass.

`saved_bytes` means exactly: the bytes of the distinct storages that autograd
saves for backward during one forward pass in train mode, the parameters and
buffers excluded: the figure that `torch.autograd.graph.saved_tensors_hooks`
observes when saved tensors are deduplicated by storage (tests/oracles.py
measures it; tests/test_oracles.py holds this walk to it on every example and
on random programs). The rules are CPU's (docs/memory.md).

The walk follows the typed program in forward order with a value per tensor:
its storage, whether it requires grad, and its strides (cnndsl/types/layout.py:
whether a flatten or a pixel-wise linear layer copies depends on them).
Each layer kind says what its op saves (`LayerKind.saves`: the input's
storage, the output's, new ones of its own) and whether its output is a new
storage or the input's; the walk applies autograd's rule that an op records
a node (and saves anything) only if its input requires grad or it has
parameters, and counts each storage once, however many ops save it (an
in-place ReLU's output is its convolution's output and the next layer's
input: one storage). The joins are the walk's: a residual's addition and a
concatenation save nothing; a split's parts are views of its input (a branch
that saves its part keeps the whole input alive); a gate `x * g` saves x
when g requires grad and g when x does.

It also lists the autograd nodes in forward order with what their backward
handles (`Step`), for the peak model (cnndsl/check/training.py).
"""

from __future__ import annotations

from ..record import Record
from ..syntax.visitor import Visitor
from ..types.autograd import DTYPE_BYTES, INPUT, Flow
from ..types.layout import contiguous, concatenated, elementwise, output_strides
from ..types.shapes import MapType, Shape
from .typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip

_set = object.__setattr__


class Value(Record):
    """A tensor between layers, as autograd sees it: its storage, whether it requires grad, its strides
    (N, C, H, W) when it is a map (None: a vector)."""

    __slots__ = ("storage", "requires_grad", "strides")
    storage: int
    requires_grad: bool
    strides: tuple[int, ...] | None

    def __init__(self, storage: int, requires_grad: bool, strides: tuple[int, ...] | None = None) -> None:
        _set(self, "storage", storage)
        _set(self, "requires_grad", requires_grad)
        _set(self, "strides", strides)


class SavedStorage(Record):
    """A storage saved for backward: its bytes, the node that saved it first and why.

    `step` is the number of autograd nodes recorded before that node (its
    index in `SavedBytes.steps`): backward runs in reverse, so the storage is
    released once that node's backward has run.
    """

    __slots__ = ("storage", "nbytes", "node", "what", "step")
    storage: int
    nbytes: int
    node: Node
    what: str
    step: int

    def __init__(self, storage: int, nbytes: int, node: Node, what: str, step: int) -> None:
        _set(self, "storage", storage)
        _set(self, "nbytes", nbytes)
        _set(self, "node", node)
        _set(self, "what", what)
        _set(self, "step", step)


class Step(Record):
    """One autograd node, in forward order: what its backward handles.

    `grad_bytes`: the gradient arriving for its output plus the one it makes
    for its input; `parameters`: the element counts of its parameters (their
    gradients appear when it runs).
    """

    __slots__ = ("node", "grad_bytes", "parameters")
    node: Node
    grad_bytes: int
    parameters: tuple[int, ...]

    def __init__(self, node: Node, grad_bytes: int, parameters: tuple[int, ...] = ()) -> None:
        _set(self, "node", node)
        _set(self, "grad_bytes", grad_bytes)
        _set(self, "parameters", parameters)


class SavedBytes(Record):
    """The saved storages of one forward pass, and the autograd nodes it recorded."""

    __slots__ = ("batch", "dtype", "total", "saved", "steps", "input_storage")
    batch: int
    dtype: str
    total: int
    saved: tuple[SavedStorage, ...]
    steps: tuple[Step, ...]
    input_storage: int

    def __init__(self, batch: int, dtype: str, total: int, saved: tuple, steps: tuple, input_storage: int) -> None:
        _set(self, "batch", batch)
        _set(self, "dtype", dtype)
        _set(self, "total", total)
        _set(self, "saved", saved)
        _set(self, "steps", steps)
        _set(self, "input_storage", input_storage)

    def by_node(self) -> dict[int, int]:
        """id(node) -> the bytes of the storages that node saved first."""
        out: dict[int, int] = {}
        for saved in self.saved:
            key = id(saved.node)
            out[key] = out.get(key, 0) + saved.nbytes
        return out


def saved_bytes(program: TypedProgram, batch: int = 1, dtype: str = "float32") -> SavedBytes:
    """What one train-mode forward pass of a batch saves for backward (a program with a fixed input size)."""
    if program.input is None or program.symbolic:
        raise ValueError("saved bytes need a fixed input size: check an instance (`--size`)")
    if batch < 1:
        raise ValueError("the batch size must be at least 1")
    walk = _SavedWalk(batch, dtype)
    strides = contiguous(walk.sizes(program.input)) if isinstance(program.input, MapType) else None
    x = Value(walk.allocate(batch * program.input.elements), False, strides)
    walk.sequence(program.nodes, x)
    saved = tuple(walk.saved.values())
    return SavedBytes(batch, dtype, sum(s.nbytes for s in saved), saved, tuple(walk.steps), x.storage)


class _SavedWalk(Visitor):
    """Each node gets its input's value (the argument) and returns its output's."""

    walks = NODES

    def __init__(self, batch: int, dtype: str) -> None:
        if dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype '{dtype}' (use {', '.join(DTYPE_BYTES)})")
        self.batch = batch
        self.itemsize = DTYPE_BYTES[dtype]
        self.storages: list[int] = []  # storage -> bytes
        self.saved: dict[int, SavedStorage] = {}
        self.steps: list[Step] = []

    def allocate(self, elements: int, itemsize: int | None = None) -> int:
        self.storages.append(elements * (itemsize or self.itemsize))
        return len(self.storages) - 1

    def sizes(self, shape: Shape) -> tuple[int, ...]:
        return (self.batch, *shape.torch_shape)

    def new(self, shape: Shape, requires_grad: bool, strides: tuple[int, ...] | None) -> Value:
        """A new storage for a tensor of this type (its strides only for a map)."""
        return Value(self.allocate(self.batch * shape.elements), requires_grad, strides if isinstance(shape, MapType) else None)

    def save(self, storage: int, node: Node, what: str) -> None:
        if storage not in self.saved:
            self.saved[storage] = SavedStorage(storage, self.storages[storage], node, what, len(self.steps))

    def sequence(self, nodes: list[Node], x: Value) -> Value:
        for node in nodes:
            x = self.visit(node, x)
        return x

    def visit_TypedLayer(self, layer: TypedLayer, x: Value) -> Value:
        kind, config, shape, output = layer.kind, layer.config, layer.input, layer.output
        parameters = kind.parameter_tensors(config, shape)
        recorded = x.requires_grad or bool(parameters)
        saves = kind.saves(config, shape, output, Flow(self.batch, x.strides, layer.inplace))
        if saves.result == INPUT:  # in place, a view, the identity; a vector viewed as a map is contiguous
            strides = (x.strides or contiguous(self.sizes(output))) if isinstance(output, MapType) else None
            out = Value(x.storage, recorded, strides)
        else:
            strides = None
            if isinstance(output, MapType):
                strides = output_strides(saves.layout, self.sizes(shape), x.strides, self.sizes(output), saves.operands)
            out = self.new(output, recorded, strides)
        if not recorded:
            return out  # no autograd node: nothing is saved
        if saves.input:
            self.save(x.storage, layer, "input")
        if saves.output:
            self.save(out.storage, layer, "output")
        for tensor in saves.tensors:
            self.save(self.allocate(tensor.elements, tensor.itemsize), layer, tensor.name)
        grads = self.itemsize * self.batch * (shape.elements + output.elements)
        self.steps.append(Step(layer, grads, tuple(p.elements for p in parameters)))
        return out

    def visit_TypedResidual(self, node: TypedResidual, x: Value) -> Value:
        body = self.sequence(node.body, x)
        other = self.sequence(node.shortcut, x) if node.shortcut is not None else x
        # `body + shortcut` saves nothing; it is laid out as TensorIterator lays out a sum.
        strides = self._elementwise(node.output, [(node.output, body), (node.output, other)])
        out = self.new(node.output, body.requires_grad or other.requires_grad, strides)
        if out.requires_grad:
            self.steps.append(Step(node, self.storages[out.storage]))  # the sum's gradient, passed to both paths
        return out

    def visit_TypedSkip(self, node: TypedSkip, x: Value) -> Value:
        body = self.sequence(node.body, x)
        # The kept map (centre-cropped: a view with x's strides) joined to the body's output: `cat` or `+`,
        # neither saves anything.
        strides = None
        if isinstance(node.output, MapType):
            joined = node.body[-1].output if node.body else node.input
            kept = (self.batch, node.input.channels, joined.height, joined.width)  # cropped to the body's size
            operands = [(kept, x.strides), (self.sizes(joined), body.strides)]
            out = self.sizes(node.output)
            strides = concatenated(operands, out) if node.join == "cat" else elementwise(out, operands)
        requires_grad = x.requires_grad or body.requires_grad
        out = self.new(node.output, requires_grad, strides)
        if requires_grad:
            self.steps.append(Step(node, self.storages[out.storage]))
        return out

    def visit_TypedConcat(self, node: TypedConcat, x: Value) -> Value:
        # x.chunk(n, dim=1) for a split: views of x's storage, with x's strides.
        outs = [self.visit(branch, x) for branch in node.branches]
        # torch.cat saves nothing; its result is channels-last when every part suggests it.
        requires_grad = any(out.requires_grad for out in outs)
        parts = [(self.sizes(branch.output), out.strides) for branch, out in zip(node.branches, outs)]
        out = self.new(node.output, requires_grad, concatenated(parts, self.sizes(node.output)))
        if requires_grad:
            self.steps.append(Step(node, self.storages[out.storage]))  # the branches' gradients are views of it
        return out

    def visit_TypedBranch(self, node: TypedBranch, x: Value) -> Value:
        return self.sequence(node.body, x)

    def visit_TypedGate(self, node: TypedGate, x: Value) -> Value:
        gate = self.sequence(node.body, x)
        # x * g: the gradient for x needs g, the gradient for g needs x.
        if gate.requires_grad:
            self.save(x.storage, node, "the gated input, for the gate's gradient")
        if x.requires_grad:
            self.save(gate.storage, node, "the gate, for the input's gradient")
        requires_grad = x.requires_grad or gate.requires_grad
        out = self.new(node.output, requires_grad, self._elementwise(node.output, [(node.input, x), (node.gate, gate)]))
        if requires_grad:
            grads = 2 * self.storages[out.storage] + self.itemsize * self.batch * node.gate.elements
            self.steps.append(Step(node, grads))
        return out

    def _elementwise(self, output: Shape, operands: list[tuple[Shape, Value]]) -> tuple[int, ...] | None:
        """The strides of an element-wise op's result over typed operands (None for vectors)."""
        if not isinstance(output, MapType):
            return None
        sized = [(self.sizes(shape), value.strides or contiguous(self.sizes(shape))) for shape, value in operands]
        return elementwise(self.sizes(output), sized)
