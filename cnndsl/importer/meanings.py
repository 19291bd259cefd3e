"""What an fx node means in the .cnn language: the kinds of meaning, and what a mapping may ask.

The mappings themselves are in `modules.py` (torch.nn modules kept whole by
the tracer), `functions.py` (functions and tensor methods) and
`activations.py`; `ops.meaning` dispatches to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import fx, nn

from ..layers import LAYERS
from .ir import Arg, Layer

# A pooling stride's default is its window.
WINDOW = "window"
# A map whose channels are its last axis, (N, H, W, C): inside ConvNeXt's block, between two permutes.
CHANNELS_LAST = "channels_last"

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
        self.layouts: dict[str, str] = {}  # node name -> CHANNELS_LAST for channels-last maps (graph.py fills it)

    def shape(self, value) -> tuple[int, ...] | None:
        return self.shapes.get(value.name) if isinstance(value, fx.Node) else None

    def channels_last(self, value) -> bool:
        return isinstance(value, fx.Node) and self.layouts.get(value.name) == CHANNELS_LAST


def function_name(target) -> str:
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    module = {"torch._C._nn": "torch.nn.functional", "torch._C._VariableFunctions": "torch", "_operator": "operator"}.get(module, module)
    if module.startswith("torch.nn.functional"):
        module = "F"
    return f"{module}.{name}" if module else name


def tensor_operands(node: fx.Node, context: Context) -> list[fx.Node]:
    found = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n) if context.shape(n) is not None else None)
    return found


def bind(node: fx.Node, names: tuple[str, ...], defaults: dict) -> dict:
    """The call's arguments by name (positional ones in `names` order), defaults filled in."""
    values = dict(defaults)
    values.update(zip(names, node.args))
    values.update(node.kwargs)
    return values


def pair(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1])) if len(value) in (1, 2) else (int(value[0]), int(value[1]))
    return (int(value), int(value))


def layer(kind: str, *args: Arg, flags: tuple[str, ...] = ()) -> Layer:
    return Layer(kind, tuple(args), tuple(flags))


def is_map(shape) -> bool:
    return shape is not None and len(shape) == 4


def is_vector(shape) -> bool:
    return shape is not None and len(shape) == 2


def size_dependent(operation: str) -> Unsupported:
    return Unsupported(
        operation,
        f"`{operation}` with a window computed from the input's size has no counterpart",
        "use adaptive pooling (F.adaptive_avg_pool2d(x, 1) is `avgpool to 1`)",
    )


def adaptive(kind: str, size, node, operation: str) -> Meaning:
    sizes = size if isinstance(size, (tuple, list)) else (size, size)
    if any(s is None for s in sizes):
        return Unsupported(operation, f"{operation} that keeps one axis's size (None) has no counterpart: `{kind} to HxW` fixes both")
    return Emit(node.args[0], (Layer(kind, (Arg("to", pair(sizes)),)),))


def pool_layer(kind: str, kernel, stride, padding, ceil) -> Layer:
    window = pair(kernel)
    stride = window if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride)
    return layer(
        kind,
        Arg("window", window),
        Arg("stride", stride, WINDOW),
        Arg("padding", pair(padding), (0, 0)),
        flags=("ceil",) if ceil else (),
    )


def dropout_layer(p: float):
    return None if p == 0 else Layer("dropout", (Arg("p", float(p)),))


