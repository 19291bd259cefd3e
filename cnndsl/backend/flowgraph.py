"""A module's parameter-flow graph: which weights meet which, traced by torch.fx.

`weights.transfer_weights` pairs the weights of two modules that compute the
same function but register (or combine) their layers in different orders. It
compares the modules' *parameter-flow graphs*, built here from a
`torch.fx` trace (the record in docs/design.md, "Weights by structure"):

- a **unit** is a use of weights: a call of a module that holds state
  (parameters or persistent buffers: Conv2d, BatchNorm2d, Linear, a
  LayerNorm2d class of anyone's), or an operation that reads parameters
  directly (`self.layer_scale * x`: ConvNeXt's block). Its label is the
  multiset of (role, shape) of its tensors; names and class names are left
  out, so that `LayerNorm2d` of torchvision and of a generated module, or a
  `layer_scale` and a `scale`, look the same;
- a **join** combines paths: `add` and `mul` (commutative: their operands
  are an unordered multiset; a sum of sums written `a + b + c` is one n-ary
  add), `cat` and `stack` (ordered, with their dim; a cat of a cat along the
  same dim is one cat of all their operands, as concatenation is associative);
- every other operation is **transparent**: activations, pooling, views,
  permutes, flatten, channel shuffles, dropout, chunk, mean... pass their
  operand's node through. Only when one combines several paths (`sub`,
  `matmul`) does it become an ordered node named after the operation.
  Shape queries (`x.size(0)`) carry no data.

Every node gets a *digest*: a hash of its kind, label and its inputs'
digests (sorted for a commutative node). Equal digests mean equal structure
all the way down to the inputs, whatever the registration order; that is what
makes the matching independent of it.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from dataclasses import dataclass, field

import torch
from torch import fx, nn

# Node kinds.
INPUT = "input"
UNIT = "unit"
ADD = "add"
MUL = "mul"
CAT = "cat"
STACK = "stack"
OP = "op"
OUTPUT = "output"

COMMUTATIVE = frozenset({ADD, MUL})

_ADD_TARGETS = (operator.add, operator.iadd, torch.add)
_MUL_TARGETS = (operator.mul, operator.imul, torch.mul)
_CAT_TARGETS = (torch.cat, torch.concat, torch.concatenate)
# Tensor methods, in place or not, that are joins.
_JOIN_METHODS = {"add": ADD, "add_": ADD, "mul": MUL, "mul_": MUL}
# Results that describe a tensor without reading its values.
_METADATA_METHODS = frozenset({"size", "dim", "numel", "ndimension", "nelement", "type", "get_device"})
_METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout"})


@dataclass(frozen=True)
class StateEntry:
    """One parameter or persistent buffer that a unit uses."""

    key: str  # its state_dict key in the traced module
    local: str  # its name inside the unit (`weight`, `running_mean`, `layer_scale`)
    role: str  # "parameter" or "buffer"
    shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.local} {self.shape}"


@dataclass(eq=False)
class FlowNode:
    """A node of the parameter-flow graph (identity matters: compared with `is`)."""

    kind: str
    label: tuple
    inputs: tuple[FlowNode, ...]
    index: int  # creation order: a topological order
    path: str = ""  # for a unit: the module (or the parameters' owner) it belongs to
    class_name: str = ""  # for a unit: that module's class, for messages only
    state: tuple[StateEntry, ...] = ()
    digest: bytes = field(init=False, default=b"")
    depth: int = field(init=False, default=0)  # longest path from an input

    def __post_init__(self) -> None:
        children = [child.digest for child in self.inputs]
        if self.kind in COMMUTATIVE:
            children.sort()
        hasher = hashlib.blake2b(repr((self.kind, self.label, len(children))).encode(), digest_size=16)
        for child in children:
            hasher.update(child)
        self.digest = hasher.digest()
        self.depth = 1 + max((child.depth for child in self.inputs), default=0)

    @property
    def commutative(self) -> bool:
        return self.kind in COMMUTATIVE

    def describe(self) -> str:
        """`features.1.0.block.0` (Conv2d: weight (96, 1, 7, 7), bias (96,)), or what the join is."""
        if self.kind == UNIT:
            tensors = ", ".join(entry.describe() for entry in self.state)
            return f"`{self.path}` ({self.class_name}: {tensors})"
        if self.kind == INPUT:
            return f"input {self.label[0]}"
        if self.kind in (CAT, STACK):
            return f"a {self.kind} (dim {self.label[0]}) of {len(self.inputs)} paths"
        if self.kind == OP:
            return f"`{self.label[0]}` of {len(self.inputs)} paths"
        if self.kind == OUTPUT:
            return "the output"
        return f"{'an' if self.kind == ADD else 'a'} {self.kind} of {len(self.inputs)} paths"


@dataclass(frozen=True)
class FlowGraph:
    """A traced module's parameter-flow graph."""

    output: FlowNode
    nodes: tuple[FlowNode, ...]  # every node built, in topological order
    state_keys: tuple[str, ...]  # the module's state_dict keys, in order
    # key -> every key that names the same tensor (a module or parameter
    # registered twice: state_dict lists it under each name, fx under one).
    aliases: dict[str, tuple[str, ...]]

    def reachable(self) -> list[FlowNode]:
        """The nodes the output depends on, in topological order."""
        seen = {id(self.output)}
        stack = [self.output]
        while stack:
            for child in stack.pop().inputs:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        return [node for node in self.nodes if id(node) in seen]

    def canonical_units(self, key=None) -> list[FlowNode]:
        """The units in canonical order: post-order depth-first from the output.

        An ordered node's inputs are visited in operand order, a commutative
        one's by `key` (default: digest), so the order depends on structure
        only, never on registration order. A shared unit comes once, where
        it is first reached.
        """
        key = key or (lambda node: node.digest)
        order: list[FlowNode] = []
        seen: set[int] = set()
        stack: list[tuple[FlowNode, bool]] = [(self.output, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                if node.kind == UNIT:
                    order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            children = sorted(node.inputs, key=key) if node.commutative else list(node.inputs)
            stack.extend((child, False) for child in reversed(children))
        return order


class TraceFailed(Exception):
    """torch.fx could not trace the module."""


@dataclass(frozen=True)
class _Value:
    """What a traced value carries: the flow node it comes from, and the weights it was computed from alone."""

    node: FlowNode | None = None
    weights: tuple[str, ...] = ()


_NOTHING = _Value()


class _StateTracer(fx.Tracer):
    """fx's tracer, with every module that holds all of its state itself kept whole.

    fx keeps `torch.nn` modules whole (leaves) and traces through the rest. A
    module of another library or a generated one that owns parameters and has
    no stateful submodules (torchvision's LayerNorm2d, a layer scale class) is
    kept whole too, so it is one unit however its forward reads its weights.
    A module with weights of its own *and* stateful submodules (ConvNeXt's
    CNBlock) is traced through: its own weights become units where they are read.
    """

    def __init__(self, owners: dict[str, list[str]]) -> None:
        super().__init__()
        self.owners = owners

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if super().is_leaf_module(module, qualified_name):
            return True
        if not self.owners.get(qualified_name):
            return False
        prefix = f"{qualified_name}." if qualified_name else ""
        return not any(
            path.startswith(prefix) and path != qualified_name and keys for path, keys in self.owners.items()
        )


def build(module: nn.Module) -> FlowGraph:
    """Trace `module` (in eval mode, restored after) and abstract its graph."""
    state = module.state_dict(keep_vars=True)
    parameter_names = {name for name, _ in module.named_parameters(remove_duplicate=False)}
    owners: dict[str, list[str]] = {}
    for key in state:
        owners.setdefault(key.rpartition(".")[0], []).append(key)
    graph = _trace(module, _StateTracer(owners))
    return _Builder(module, state, parameter_names, owners).run(graph)


def _trace(module: nn.Module, tracer: fx.Tracer) -> fx.Graph:
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        return tracer.trace(module)
    except Exception as error:  # fx raises TraceError, TypeError, NotImplementedError...
        raise TraceFailed(f"{type(error).__name__}: {error}") from error
    finally:
        for submodule, training in modes:
            submodule.training = training


class _Builder:
    """Walks an fx graph in order, giving each fx node a `_Value`."""

    def __init__(self, module: nn.Module, state: dict, parameter_names: set[str], owners: dict[str, list[str]]) -> None:
        self.module = module
        self.state = state
        self.parameter_names = parameter_names
        self.owners = owners
        self.subtree: dict[str, list[str]] = {}  # module path -> the state keys of it and its submodules
        for key in state:
            parts = key.split(".")
            for length in range(1, len(parts)):
                self.subtree.setdefault(".".join(parts[:length]), []).append(key)
        self.nodes: list[FlowNode] = []
        self.values: dict[fx.Node, _Value] = {}
        self.created_at: dict[int, fx.Node] = {}  # id(join FlowNode) -> the fx node that made it
        self.inputs = 0

    def run(self, graph: fx.Graph) -> FlowGraph:
        output = None
        for node in graph.nodes:
            if node.op == "output":
                output = self.output(node)
            else:
                self.values[node] = self.value(node)
        assert output is not None, "an fx graph always ends in an output node"
        groups: dict[int, list[str]] = {}
        for key, tensor in self.state.items():
            groups.setdefault(id(tensor), []).append(key)
        aliases = {key: tuple(group) for group in groups.values() for key in group}
        return FlowGraph(output, tuple(self.nodes), tuple(self.state), aliases)

    # -- making nodes ---------------------------------------------------------

    def make(self, kind: str, label: tuple, inputs, **unit) -> FlowNode:
        node = FlowNode(kind, label, tuple(inputs), len(self.nodes), **unit)
        self.nodes.append(node)
        return node

    def unit(self, path: str, class_name: str, keys, inputs) -> FlowNode:
        keys = list(dict.fromkeys(keys))
        owner = path if path else _common_owner(keys)
        entries = tuple(
            StateEntry(
                key,
                key[len(owner) + 1 :] if owner else key,
                "parameter" if key in self.parameter_names else "buffer",
                tuple(self.state[key].shape),
            )
            for key in keys
        )
        label = tuple(sorted((entry.role, entry.shape) for entry in entries))
        return self.make(UNIT, label, _distinct(inputs), path=owner, class_name=class_name, state=entries)

    def parameter_unit(self, keys, inputs) -> FlowNode:
        owner = _common_owner(keys)
        class_name = type(self.module.get_submodule(owner)).__name__ if owner else type(self.module).__name__
        return self.unit(owner, f"parameters of {class_name}", keys, inputs)

    # -- values ---------------------------------------------------------------

    def operands(self, argument) -> list[_Value]:
        found: list[_Value] = []
        fx.node.map_arg(argument, lambda node: found.append(self.values.get(node, _NOTHING)) or node)
        return found

    def value(self, node: fx.Node) -> _Value:
        if node.op == "placeholder":
            self.inputs += 1
            return _Value(self.make(INPUT, (self.inputs - 1,), ()))
        if node.op == "get_attr":
            return _Value(weights=(node.target,)) if node.target in self.state else _NOTHING
        if _is_metadata(node):
            return _NOTHING
        operands = self.operands((node.args, node.kwargs))
        weights = tuple(key for value in operands for key in value.weights)
        paths = [value.node for value in operands if value.node is not None]
        if node.op == "call_module":
            keys = self.subtree.get(node.target, [])
            if keys:
                class_name = type(self.module.get_submodule(node.target)).__name__
                return _Value(self.unit(node.target, class_name, keys + list(weights), paths))
        if weights:
            if not paths:
                return _Value(weights=weights)  # computed from weights alone (`self.scale.view(-1, 1, 1)`)
            return _Value(self.parameter_unit(weights, paths))
        return _Value(self.combine(node, operands, paths))

    def combine(self, node: fx.Node, operands: list[_Value], paths: list[FlowNode]) -> FlowNode | None:
        """The node an operation without weights yields: a join, a pass-through, or an ordered op."""
        kind = _join_kind(node)
        if kind in COMMUTATIVE:
            paths = [value.node for value in self.operands(node.args) if value.node is not None]
            if len(paths) < 2:
                return paths[0] if paths else None  # `x * 0.5`, `x + 1`
            joined = self.make(kind, (), self.flatten(kind, node, paths))
            self.created_at[id(joined)] = node
            return joined
        if kind in (CAT, STACK):
            paths = [value.node for value in self.operands(node.args[0]) if value.node is not None]
            if len(paths) < 2:
                return paths[0] if paths else None
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
            if kind == CAT:
                # Concatenation is associative: cat(cat(a, b), c) is cat(a, b, c), value for value. DenseNet
                # concatenates all earlier features at once where a .cnn program nests one concat per layer.
                paths = [inner for path in paths for inner in (path.inputs if path.kind == CAT and path.label == (dim,) else (path,))]
            return self.make(kind, (dim,), paths)
        paths = _distinct(paths)
        if len(paths) < 2:
            return paths[0] if paths else None  # transparent
        if node.op == "call_module":
            name = type(self.module.get_submodule(node.target)).__name__  # its class: paths differ between modules
        elif isinstance(node.target, str):
            name = node.target  # a method
        else:
            name = getattr(node.target, "__name__", str(node.target))
        return self.make(OP, (name,), paths)

    def flatten(self, kind: str, node: fx.Node, paths: list[FlowNode]) -> list[FlowNode]:
        """`(a + b) + c` as add(a, b, c): an operand that is the same join, used only here, is opened."""
        flat: list[FlowNode] = []
        for path in paths:
            source = self.created_at.get(id(path))
            if path.kind == kind and source is not None and list(source.users) == [node] and source in node.args:
                flat.extend(path.inputs)
            else:
                flat.append(path)
        return flat

    def output(self, node: fx.Node) -> FlowNode:
        paths = []
        for value in self.operands(node.args):
            if value.node is not None:
                paths.append(value.node)
            elif value.weights:
                paths.append(self.parameter_unit(value.weights, ()))  # a weight returned as it is
        return self.make(OUTPUT, (), paths)


def _join_kind(node: fx.Node) -> str | None:
    if node.op == "call_method":
        return _JOIN_METHODS.get(node.target)
    if node.op != "call_function":
        return None
    if node.target in _ADD_TARGETS and "alpha" not in node.kwargs:
        return ADD
    if node.target in _MUL_TARGETS:
        return MUL
    if node.target in _CAT_TARGETS:
        return CAT
    if node.target is torch.stack:
        return STACK
    return None


def _is_metadata(node: fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in _METADATA_METHODS
    if node.op == "call_function" and node.target is getattr:
        return len(node.args) > 1 and node.args[1] in _METADATA_ATTRIBUTES
    return False


def _distinct(nodes) -> list[FlowNode]:
    return list({id(node): node for node in nodes}.values())


def _common_owner(keys) -> str:
    """The deepest module path that contains every key (`features.1.0` for `features.1.0.layer_scale`)."""
    owners = [key.split(".")[:-1] for key in keys]
    common = [parts[0] for parts in itertools.takewhile(lambda parts: len(set(parts)) == 1, zip(*owners))]
    return ".".join(common)
