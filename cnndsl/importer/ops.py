"""One fx node -> what it is in the .cnn language: layers, a join, a view, or something it cannot say.

Every PyTorch operation the importer understands is in the tables at the end
of this module: a `torch.nn` module class, a function (`F.relu`,
`torch.flatten`) or a tensor method (`x.relu()`, `x.view(...)`), each with a
small function that reads its settings and returns the statements. An
operation that is not in a table, or whose settings the language cannot
write (`nn.Conv2d(..., padding_mode="reflect")`), is `Unsupported`, with the
reason and a help line.

Reshapes (`view`, `reshape`, `flatten`, `squeeze`, `transpose`, ...) are
decided by the shapes they map between, over a whole chain of them
(`graph.py` resolves chains): `(N, C, H, W) -> (N, C*H*W)` is `flatten`
however it is written (`torch.flatten(x, 1)`, `x.view(x.size(0), -1)`,
`x.reshape(-1, 9216)`).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from . import capabilities
from ..layers import LAYERS
from .ir import Arg, Layer
from .problems import ImportProblem

# A pooling stride's default is its window.
WINDOW = "window"


@dataclass(frozen=True)
class Emit:
    """Layers applied to one operand; `modules` are the module paths whose parameters they use."""

    source: fx.Node
    layers: tuple[Layer, ...]
    modules: tuple[str, ...] = ()
    note: str = ""
    shapes: tuple = ()  # the output shapes of all but the last layer, when there are several


@dataclass(frozen=True)
class Alias:
    """The operand itself (nn.Identity, x.contiguous(), dropout 0)."""

    source: fx.Node


@dataclass(frozen=True)
class Join:
    """`a + b`, `a * b`, `torch.cat([...], 1)`: several paths into one."""

    kind: str  # "add", "mul", "cat"
    operands: tuple  # fx nodes, or other values (a number: `x + 1`)
    dim: int = 1


@dataclass(frozen=True)
class Reshape:
    """A view-like operation, decided with its neighbours by the shapes (graph.py)."""

    source: fx.Node
    operation: str  # "view", "flatten", "transpose", ...
    dims: tuple = ()  # transpose/permute: the dims


@dataclass(frozen=True)
class Chunk:
    """`x.chunk(n, dim=1)`: n equal parts of the channels."""

    source: fx.Node
    parts: int
    dim: int


@dataclass(frozen=True)
class Part:
    """`parts[i]` of a chunk."""

    source: fx.Node
    index: int


@dataclass(frozen=True)
class NoData:
    """A value that is not a tensor: `x.size(0)`, `x.shape`."""


@dataclass(frozen=True)
class Unsupported:
    """An operation the language cannot say."""

    operation: str
    reason: str
    help: str = ""


Meaning = Emit | Alias | Join | Reshape | Chunk | Part | NoData | Unsupported

def supported_help() -> str:
    """What the language has, from the layer table (so that it names the layers that land later too)."""
    layers = [kind.name for kind in LAYERS if not kind.is_activation]
    activations = [kind.name for kind in LAYERS if kind.is_activation]
    return (
        f"the language has the layers {', '.join(layers)} and the activations {', '.join(activations)} "
        "(docs/language.md); additions of a path to its input become `residual { }`"
    )


class Context:
    """What a mapping may ask about the traced model."""

    def __init__(self, module: nn.Module, shapes: dict[str, tuple[int, ...]]) -> None:
        self.module = module
        self.shapes = shapes

    def shape(self, value) -> tuple[int, ...] | None:
        return self.shapes.get(value.name) if isinstance(value, fx.Node) else None


def meaning(node: fx.Node, context: Context) -> Meaning:
    """What `node` (a call_module, call_function or call_method) is in the language."""
    if node.op == "call_module":
        module = context.module.get_submodule(node.target)
        mapper = _MODULES.get(type(module))
        if mapper is None:
            return _unsupported_module(module)
        return mapper(module, node, context)
    if node.op == "call_function":
        if node.target is operator.getitem:
            return _getitem(node, context)
        mapper = _FUNCTIONS.get(node.target)
        if mapper is None:
            if context.shape(node) is None and not _tensor_operands(node, context):
                return NoData()  # arithmetic on sizes: `x.size(0) * 2`
            return Unsupported(_function_name(node.target), f"`{_function_name(node.target)}` has no counterpart in the .cnn language", supported_help())
        return mapper(node, context)
    if node.op == "call_method":
        if node.target in _METADATA_METHODS:
            return NoData()
        mapper = _METHODS.get(node.target)
        if mapper is None:
            return Unsupported(f"Tensor.{node.target}", f"`Tensor.{node.target}` has no counterpart in the .cnn language", supported_help())
        return mapper(node, context)
    raise ValueError(f"not an operation: {node.op}")


def source_name(node: fx.Node) -> str:
    """What made a node, for comments: a module path, `torch.flatten`, `Tensor.view`."""
    if node.op == "call_module":
        return str(node.target)
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return _function_name(node.target)


# -- helpers ------------------------------------------------------------------


def _function_name(target) -> str:
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    module = {"torch._C._nn": "torch.nn.functional", "torch._C._VariableFunctions": "torch", "_operator": "operator"}.get(module, module)
    if module.startswith("torch.nn.functional"):
        module = "F"
    return f"{module}.{name}" if module else name


def _tensor_operands(node: fx.Node, context: Context) -> list[fx.Node]:
    found = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n) if context.shape(n) is not None else None)
    return found


def _bind(node: fx.Node, names: tuple[str, ...], defaults: dict) -> dict:
    """The call's arguments by name (positional ones in `names` order), defaults filled in."""
    values = dict(defaults)
    values.update(zip(names, node.args))
    values.update(node.kwargs)
    return values


def pair(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1])) if len(value) in (1, 2) else (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _layer(kind: str, *args: Arg, flags: tuple[str, ...] = ()) -> Layer:
    return Layer(kind, tuple(args), tuple(flags))


def _is_map(shape) -> bool:
    return shape is not None and len(shape) == 4


def _is_vector(shape) -> bool:
    return shape is not None and len(shape) == 2


def known_module(module: nn.Module) -> bool:
    """Whether a module kept whole by the tracer is one the language has a layer (or a meaning) for."""
    return type(module) in _MODULES


def unknown_module(module: nn.Module, location) -> ImportProblem:
    unsupported = _unsupported_module(module)
    return ImportProblem(unsupported.operation, unsupported.reason, location, unsupported.help)


def _unsupported_module(module: nn.Module) -> Unsupported:
    name = type(module).__name__
    where = "nn." + name if type(module).__module__.startswith("torch.nn") else f"{type(module).__module__}.{name}"
    return Unsupported(where, f"`{where}` has no counterpart in the .cnn language", supported_help())


def _decimal_ok(value: float) -> bool:
    return math.isfinite(value)


# -- convolution, pooling, normalisation, linear, dropout ---------------------------


def _conv(module: nn.Conv2d, node, context) -> Meaning:
    if module.padding_mode != "zeros":
        return Unsupported(
            "nn.Conv2d",
            f"nn.Conv2d with padding_mode='{module.padding_mode}' has no counterpart: `conv` pads with zeros",
            "pad with zeros (the default padding_mode), or pad explicitly before the convolution",
        )
    flags = []
    padding = (0, 0)
    if isinstance(module.padding, str):
        if module.padding == "same":
            flags.append("same")
    else:
        padding = pair(module.padding)
    if module.bias is None:
        flags.append("nobias")
    layer = _layer(
        "conv",
        Arg("filters", module.out_channels),
        Arg("kernel", pair(module.kernel_size)),
        Arg("stride", pair(module.stride), (1, 1)),
        Arg("padding", padding, (0, 0)),
        Arg("dilation", pair(module.dilation), (1, 1)),
        Arg("groups", module.groups, 1),
        flags=tuple(flags),
    )
    return Emit(node.args[0], (layer,), (node.target,))


def _pool_layer(kind: str, kernel, stride, padding, ceil) -> Layer:
    window = pair(kernel)
    stride = window if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride)
    return _layer(
        kind,
        Arg("window", window),
        Arg("stride", stride, WINDOW),
        Arg("padding", pair(padding), (0, 0)),
        flags=("ceil",) if ceil else (),
    )


def _max_pool(module: nn.MaxPool2d, node, context) -> Meaning:
    if pair(module.dilation) != (1, 1) or module.return_indices:
        return Unsupported("nn.MaxPool2d", "nn.MaxPool2d with dilation or return_indices has no counterpart: `pool` has neither")
    return Emit(node.args[0], (_pool_layer("pool", module.kernel_size, module.stride, module.padding, module.ceil_mode),))


def _avg_pool(module: nn.AvgPool2d, node, context) -> Meaning:
    if not module.count_include_pad or module.divisor_override is not None:
        return Unsupported(
            "nn.AvgPool2d",
            "nn.AvgPool2d with count_include_pad=False or a divisor_override has no counterpart: `avgpool` averages "
            "as PyTorch's default does (the padding counts)",
        )
    return Emit(node.args[0], (_pool_layer("avgpool", module.kernel_size, module.stride, module.padding, module.ceil_mode),))


def _adaptive(kind: str, size, node, operation: str) -> Meaning:
    sizes = size if isinstance(size, (tuple, list)) else (size, size)
    if any(s is None for s in sizes):
        return Unsupported(operation, f"{operation} that keeps one axis's size (None) has no counterpart: `{kind} to HxW` fixes both")
    return Emit(node.args[0], (Layer(kind, (Arg("to", pair(sizes)),)),))


def _adaptive_module(kind):
    def mapper(module, node, context):
        if getattr(module, "return_indices", False):
            return Unsupported(type(module).__name__, "return_indices has no counterpart")
        return _adaptive(kind, module.output_size, node, "nn." + type(module).__name__)

    return mapper


def _batchnorm(module, node, context) -> Meaning:
    shape = context.shape(node.args[0])
    wanted = 4 if isinstance(module, nn.BatchNorm2d) else 2
    name = "nn." + type(module).__name__
    if shape is None or len(shape) != wanted:
        return Unsupported(name, f"{name} on a {len(shape or ())}-D tensor has no counterpart: `bn` normalises a map's channels or a vector's features")
    if not module.affine or not module.track_running_stats:
        return Unsupported(
            name,
            f"{name} without {'affine parameters' if not module.affine else 'running statistics'} has no counterpart: `bn` has both",
        )
    args = []
    if module.eps != 1e-5:
        if not capabilities.supports(capabilities.BN_EPS):
            return Unsupported(name, f"{name} with eps={module.eps:g} has no counterpart: `bn` uses PyTorch's default 1e-05", "the eps changes the output; issue 13 adds `bn eps=`")
        args.append(Arg("eps", float(module.eps), 1e-5))
    note = ""
    if module.momentum != 0.1:
        if module.momentum is not None and capabilities.supports(capabilities.BN_MOMENTUM):
            args.append(Arg("momentum", float(module.momentum), 0.1))
        else:
            shown = "None (a cumulative average)" if module.momentum is None else f"{module.momentum:g}"
            note = f"BatchNorm momentum {shown} in the source, where `bn` has PyTorch's 0.1 (this changes only how training updates the running statistics)"
    return Emit(node.args[0], (Layer("bn", tuple(args)),), (node.target,), note)


def _linear(module: nn.Linear, node, context) -> Meaning:
    shape = context.shape(node.args[0])
    if not _is_vector(shape):
        return Unsupported(
            "nn.Linear",
            f"nn.Linear on a {len(shape or ())}-D tensor {tuple(shape or ())} has no counterpart: `linear` takes a vector (flatten first)",
            "the language applies linear to a vector (N, features); issue 13 adds `linear N pixelwise` for channels-last maps",
        )
    flags = () if module.bias is not None else ("nobias",)
    return Emit(node.args[0], (_layer("linear", Arg("features", module.out_features), flags=flags),), (node.target,))


def _dropout_layer(p: float):
    return None if p == 0 else Layer("dropout", (Arg("p", float(p)),))


def _dropout_module(module: nn.Dropout, node, context) -> Meaning:
    layer = _dropout_layer(module.p)
    return Alias(node.args[0]) if layer is None else Emit(node.args[0], (layer,))


def _identity(module, node, context) -> Meaning:
    return Alias(node.args[0])


def _flatten_module(module: nn.Flatten, node, context) -> Meaning:
    return Reshape(node.args[0], "flatten")


def _shuffle_module(module, node, context) -> Meaning:
    if not capabilities.supports(capabilities.SHUFFLE):
        return Unsupported("nn.ChannelShuffle", "nn.ChannelShuffle has no counterpart in the .cnn language yet", "issue 13 adds `shuffle G`")
    return Emit(node.args[0], (Layer("shuffle", (Arg("groups", int(module.groups)),)),))


# -- activations ------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """An element-wise activation: its statement, module class, functions and methods."""

    kind: str
    modules: tuple[type, ...]
    functions: tuple = ()
    methods: tuple[str, ...] = ()
    capability: str = ""  # a construct the language must have (capabilities.py)
    vectors_only: bool = False


ACTIVATIONS = (
    Activation("relu", (nn.ReLU,), (F.relu, torch.relu, F.relu_, torch.relu_), ("relu", "relu_")),
    Activation("relu6", (nn.ReLU6,), (F.relu6,)),
    Activation("leakyrelu", (nn.LeakyReLU,), (F.leaky_relu, F.leaky_relu_)),
    Activation("elu", (nn.ELU,), (F.elu, F.elu_)),
    Activation("gelu", (nn.GELU,), (F.gelu,)),
    Activation("silu", (nn.SiLU,), (F.silu,)),
    Activation("sigmoid", (nn.Sigmoid,), (torch.sigmoid, F.sigmoid), ("sigmoid", "sigmoid_")),
    Activation("tanh", (nn.Tanh,), (torch.tanh, F.tanh), ("tanh", "tanh_")),
    Activation("softmax", (nn.Softmax,), (F.softmax, torch.softmax), ("softmax",), vectors_only=True),
    Activation("logsoftmax", (nn.LogSoftmax,), (F.log_softmax, torch.log_softmax), ("log_softmax",), vectors_only=True),
    Activation("hardswish", (nn.Hardswish,), (F.hardswish,), capability=capabilities.HARDSWISH),
    Activation("hardsigmoid", (nn.Hardsigmoid,), (F.hardsigmoid,), capability=capabilities.HARDSIGMOID),
)


def _settings(activation: Activation, source, values: dict) -> tuple[tuple[Arg, ...], str]:
    """The activation's own settings as arguments, or why the language cannot write them."""
    if activation.kind == "leakyrelu":
        slope = float(values.get("negative_slope", 0.01))
        return ((Arg("slope", slope, 0.01),), "")
    if activation.kind == "elu" and float(values.get("alpha", 1.0)) != 1.0:
        return ((), f"ELU with alpha={values['alpha']:g} has no counterpart: `elu` has alpha 1")
    if activation.kind == "gelu" and values.get("approximate", "none") != "none":
        return ((), f"GELU with approximate='{values['approximate']}' has no counterpart: `gelu` is exact")
    if activation.vectors_only:
        dim = values.get("dim")
        if dim not in (1, -1):
            return ((), f"{activation.kind} over dim {dim} has no counterpart: `{activation.kind}` normalises a vector's features (dim 1)")
    return ((), "")


def _activation(activation: Activation, source: fx.Node, values: dict, context: Context, operation: str) -> Meaning:
    if activation.capability and not capabilities.supports(activation.capability):
        return Unsupported(operation, f"`{operation}` has no counterpart in the .cnn language yet", f"issue 13 adds `{activation.kind}`")
    shape = context.shape(source)
    if activation.vectors_only and not _is_vector(shape):
        return Unsupported(operation, f"`{operation}` on a {len(shape or ())}-D tensor has no counterpart: `{activation.kind}` takes a vector")
    args, refusal = _settings(activation, source, values)
    if refusal:
        return Unsupported(operation, refusal)
    return Emit(source, (Layer(activation.kind, args),))


def _activation_module(activation: Activation):
    def mapper(module, node, context):
        values = {name: getattr(module, name) for name in ("negative_slope", "alpha", "approximate", "dim") if hasattr(module, name)}
        return _activation(activation, node.args[0], values, context, "nn." + type(module).__name__)

    return mapper


_ACTIVATION_PARAMETERS = {
    "leakyrelu": ("input", "negative_slope"),
    "elu": ("input", "alpha"),
    "gelu": ("input", "approximate"),
    "softmax": ("input", "dim"),
    "logsoftmax": ("input", "dim"),
}


def _activation_function(activation: Activation):
    def mapper(node, context):
        values = _bind(node, _ACTIVATION_PARAMETERS.get(activation.kind, ("input",)), {})
        return _activation(activation, values["input"], values, context, _function_name(node.target))

    return mapper


def _activation_method(activation: Activation):
    def mapper(node, context):
        names = _ACTIVATION_PARAMETERS.get(activation.kind, ("input",))
        values = _bind(node, names, {})
        return _activation(activation, values["input"], values, context, f"Tensor.{node.target}")

    return mapper


# -- functions ----------------------------------------------------------------------


def _f_max_pool(node, context) -> Meaning:
    v = _bind(node, ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
              {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    if pair(v["dilation"]) != (1, 1) or v["return_indices"]:
        return Unsupported("F.max_pool2d", "max pooling with dilation or return_indices has no counterpart")
    if any(isinstance(x, fx.Node) for x in (v["kernel_size"], v["stride"], v["padding"])):
        return _size_dependent("F.max_pool2d")
    return Emit(v["input"], (_pool_layer("pool", v["kernel_size"], v["stride"], v["padding"], v["ceil_mode"]),))


def _f_avg_pool(node, context) -> Meaning:
    v = _bind(node, ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
              {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None})
    if not v["count_include_pad"] or v["divisor_override"] is not None:
        return Unsupported("F.avg_pool2d", "average pooling with count_include_pad=False or a divisor_override has no counterpart")
    if any(isinstance(x, fx.Node) for x in (v["kernel_size"], v["stride"], v["padding"])):
        return _size_dependent("F.avg_pool2d")
    return Emit(v["input"], (_pool_layer("avgpool", v["kernel_size"], v["stride"], v["padding"], v["ceil_mode"]),))


def _size_dependent(operation: str) -> Unsupported:
    return Unsupported(
        operation,
        f"`{operation}` with a window computed from the input's size has no counterpart",
        "use adaptive pooling (F.adaptive_avg_pool2d(x, 1) is `avgpool to 1`)",
    )


def _f_adaptive(kind: str, operation: str):
    def mapper(node, context):
        v = _bind(node, ("input", "output_size", "return_indices"), {"return_indices": False})
        if v["return_indices"]:
            return Unsupported(operation, "return_indices has no counterpart")
        if isinstance(v["output_size"], fx.Node):
            return _size_dependent(operation)
        return _adaptive(kind, v["output_size"], node, operation)

    return mapper


def _f_dropout(node, context) -> Meaning:
    # Traced in eval mode, `training=self.training` is False here; `dropout P`
    # is the module that drops while training, as the source's call does.
    v = _bind(node, ("input", "p", "training", "inplace"), {"p": 0.5})
    layer = _dropout_layer(float(v["p"]))
    return Alias(v["input"]) if layer is None else Emit(v["input"], (layer,))


def _join(kind: str):
    def mapper(node, context):
        if kind == "add" and node.kwargs.get("alpha", 1) != 1:
            return Unsupported(_function_name(node.target), "an addition with alpha has no counterpart")
        operands = tuple(node.args[:2])
        return Join(kind, operands)

    return mapper


def _cat(node, context) -> Meaning:
    v = _bind(node, ("tensors", "dim"), {"dim": 0})
    return Join("cat", tuple(v["tensors"]), v["dim"])


def _mean(node, context) -> Meaning:
    v = _bind(node, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    shape = context.shape(v["input"])
    dims = v["dim"]
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    if _is_map(shape) and sorted(d % 4 for d in dims) == [2, 3]:
        pooled = Layer("avgpool", (Arg("to", (1, 1)),))
        if v["keepdim"]:
            return Emit(v["input"], (pooled,))
        return Emit(v["input"], (pooled, Layer("flatten")), shapes=((*shape[:2], 1, 1),))
    return Unsupported(
        "Tensor.mean",
        f"a mean over dims {list(dims)} of a {len(shape or ())}-D tensor has no counterpart: only the mean over height and width (`avgpool to 1`) does",
    )


def _reshape(operation: str):
    def mapper(node, context):
        source = node.args[0] if node.args else node.kwargs.get("input")
        dims: tuple = ()
        if operation in ("transpose", "permute"):
            rest = node.args[1:] or tuple(node.kwargs.get("dims", ()))
            if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
                rest = tuple(rest[0])
            dims = tuple(rest)
        return Reshape(source, operation, dims)

    return mapper


def _getattr(node, context) -> Meaning:
    if len(node.args) > 1 and node.args[1] in _METADATA_ATTRIBUTES:
        return NoData()
    return Unsupported(f"Tensor.{node.args[1]}", f"reading `.{node.args[1]}` of a tensor has no counterpart in the .cnn language")


def _alias(node, context) -> Meaning:
    return Alias(node.args[0])


def _chunk(node, context) -> Meaning:
    v = _bind(node, ("input", "chunks", "dim"), {"dim": 0})
    shape = context.shape(v["input"])
    if not _is_map(shape) or v["dim"] % 4 != 1 or shape[1] % v["chunks"]:
        return Unsupported("Tensor.chunk", "a chunk other than equal parts of a map's channels has no counterpart")
    return Chunk(v["input"], int(v["chunks"]), 1)


def _split(node, context) -> Meaning:
    v = _bind(node, ("input", "split_size_or_sections", "dim"), {"dim": 0})
    shape = context.shape(v["input"])
    size = v["split_size_or_sections"]
    if _is_map(shape) and v["dim"] % 4 == 1:
        sizes = [size] * (shape[1] // size) if isinstance(size, int) and shape[1] % size == 0 else list(size) if isinstance(size, (list, tuple)) else []
        if sizes and len(set(sizes)) == 1 and sum(sizes) == shape[1]:
            return Chunk(v["input"], len(sizes), 1)
    return Unsupported("Tensor.split", "a split other than equal parts of a map's channels has no counterpart")


def _getitem(node, context) -> Meaning:
    source, index = node.args
    if isinstance(source, fx.Node) and source.op in ("call_method", "call_function") and (
        source.target in ("chunk", "split", torch.chunk, torch.split)
    ):
        return Part(source, int(index))
    if context.shape(source) is not None:
        return Unsupported("indexing", "indexing a tensor (x[...]) has no counterpart in the .cnn language")
    return NoData()


# -- the tables ----------------------------------------------------------------------

_MODULES: dict[type, object] = {
    nn.Conv2d: _conv,
    nn.MaxPool2d: _max_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_module("avgpool"),
    nn.AdaptiveMaxPool2d: _adaptive_module("pool"),
    nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm1d: _batchnorm,
    nn.Linear: _linear,
    nn.Dropout: _dropout_module,
    nn.Identity: _identity,
    nn.Flatten: _flatten_module,
    nn.ChannelShuffle: _shuffle_module,
}

_FUNCTIONS: dict[object, object] = {
    F.max_pool2d: _f_max_pool,
    torch.max_pool2d: _f_max_pool,
    F.avg_pool2d: _f_avg_pool,
    F.adaptive_avg_pool2d: _f_adaptive("avgpool", "F.adaptive_avg_pool2d"),
    F.adaptive_max_pool2d: _f_adaptive("pool", "F.adaptive_max_pool2d"),
    F.dropout: _f_dropout,
    operator.add: _join("add"),
    operator.iadd: _join("add"),
    torch.add: _join("add"),
    operator.mul: _join("mul"),
    operator.imul: _join("mul"),
    torch.mul: _join("mul"),
    torch.cat: _cat,
    torch.concat: _cat,
    torch.mean: _mean,
    torch.flatten: _reshape("flatten"),
    torch.reshape: _reshape("reshape"),
    torch.squeeze: _reshape("squeeze"),
    torch.transpose: _reshape("transpose"),
    torch.permute: _reshape("permute"),
    torch.chunk: _chunk,
    torch.split: _split,
    getattr: _getattr,
}

_METHODS: dict[str, object] = {
    "add": _join("add"),
    "add_": _join("add"),
    "mul": _join("mul"),
    "mul_": _join("mul"),
    "mean": _mean,
    "view": _reshape("view"),
    "reshape": _reshape("reshape"),
    "flatten": _reshape("flatten"),
    "squeeze": _reshape("squeeze"),
    "unsqueeze": _reshape("unsqueeze"),
    "transpose": _reshape("transpose"),
    "permute": _reshape("permute"),
    "contiguous": _alias,
    "clone": _alias,
    "chunk": _chunk,
    "split": _split,
}

_METADATA_METHODS = frozenset({"size", "dim", "numel", "ndimension", "nelement", "type", "get_device"})
_METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout"})

for _activation_entry in ACTIVATIONS:
    for _class in _activation_entry.modules:
        _MODULES[_class] = _activation_module(_activation_entry)
    for _function in _activation_entry.functions:
        _FUNCTIONS[_function] = _activation_function(_activation_entry)
    for _method in _activation_entry.methods:
        _METHODS[_method] = _activation_method(_activation_entry)
