"""Element-wise activations: each one's module class, functions and tensor methods, and its settings."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from . import capabilities
from .ir import Arg, Layer
from .meanings import Context, Emit, Meaning, Unsupported, bind, function_name, is_vector


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

# The settings a function or method takes after its input, by position.
_PARAMETERS = {
    "leakyrelu": ("input", "negative_slope"),
    "elu": ("input", "alpha"),
    "gelu": ("input", "approximate"),
    "softmax": ("input", "dim"),
    "logsoftmax": ("input", "dim"),
}


def _settings(activation: Activation, values: dict) -> tuple[tuple[Arg, ...], str]:
    """The activation's own settings as arguments, or why the language cannot write them."""
    if activation.kind == "leakyrelu":
        return ((Arg("slope", float(values.get("negative_slope", 0.01)), 0.01),), "")
    if activation.kind == "elu" and float(values.get("alpha", 1.0)) != 1.0:
        return ((), f"ELU with alpha={values['alpha']:g} has no counterpart: `elu` has alpha 1")
    if activation.kind == "gelu" and values.get("approximate", "none") != "none":
        return ((), f"GELU with approximate='{values['approximate']}' has no counterpart: `gelu` is exact")
    if activation.vectors_only and values.get("dim") not in (1, -1):
        return ((), f"{activation.kind} over dim {values.get('dim')} has no counterpart: `{activation.kind}` normalises a vector's features (dim 1)")
    return ((), "")


def _map(activation: Activation, source: fx.Node, values: dict, context: Context, operation: str) -> Meaning:
    if activation.capability and not capabilities.supports(activation.capability):
        return Unsupported(operation, f"`{operation}` has no counterpart in the .cnn language yet", f"issue 13 adds `{activation.kind}`")
    shape = context.shape(source)
    if activation.vectors_only and not is_vector(shape):
        return Unsupported(operation, f"`{operation}` on a {len(shape or ())}-D tensor has no counterpart: `{activation.kind}` takes a vector")
    args, refusal = _settings(activation, values)
    if refusal:
        return Unsupported(operation, refusal)
    return Emit(source, (Layer(activation.kind, args),))


def module_mapper(activation: Activation):
    def mapper(module, node, context):
        values = {name: getattr(module, name) for name in ("negative_slope", "alpha", "approximate", "dim") if hasattr(module, name)}
        return _map(activation, node.args[0], values, context, "nn." + type(module).__name__)

    return mapper


def function_mapper(activation: Activation):
    def mapper(node, context):
        values = bind(node, _PARAMETERS.get(activation.kind, ("input",)), {})
        return _map(activation, values["input"], values, context, function_name(node.target))

    return mapper


def method_mapper(activation: Activation):
    def mapper(node, context):
        values = bind(node, _PARAMETERS.get(activation.kind, ("input",)), {})
        return _map(activation, values["input"], values, context, f"Tensor.{node.target}")

    return mapper
