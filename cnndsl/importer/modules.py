"""The torch.nn modules the tracer keeps whole, each with what it is in the .cnn language.

A module class not in `MODULES` has no counterpart (`nn.LSTM`), and the
import stops before anything runs (trace.py). The mappings of issue 13's
layers (`bn eps=`, `layernorm`, `linear N pixelwise`, `shuffle G`) ask
`capabilities` whether the language has them yet; issue 18's (`upconv`,
`upsample`, `groupnorm`, `pad`...) are in `modules_encdec.py`.
"""

from __future__ import annotations

from torch import nn

from . import capabilities
from .activations import ACTIVATIONS, module_mapper
from .ir import Arg, Layer
from .meanings import Alias, Emit, Meaning, Reshape, Unsupported, adaptive, dropout_layer, is_vector, layer, pair, pool_layer
from .modules_encdec import MODULES as ENCODER_DECODER_MODULES


def conv(module: nn.Conv2d, node, context) -> Meaning:
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
    statement = layer(
        "conv",
        Arg("filters", module.out_channels),
        Arg("kernel", pair(module.kernel_size)),
        Arg("stride", pair(module.stride), (1, 1)),
        Arg("padding", padding, (0, 0)),
        Arg("dilation", pair(module.dilation), (1, 1)),
        Arg("groups", module.groups, 1),
        flags=tuple(flags),
    )
    return Emit(node.args[0], (statement,), (node.target,))


def max_pool(module: nn.MaxPool2d, node, context) -> Meaning:
    if pair(module.dilation) != (1, 1) or module.return_indices:
        return Unsupported("nn.MaxPool2d", "nn.MaxPool2d with dilation or return_indices has no counterpart: `pool` has neither")
    return Emit(node.args[0], (pool_layer("pool", module.kernel_size, module.stride, module.padding, module.ceil_mode),))


def avg_pool(module: nn.AvgPool2d, node, context) -> Meaning:
    if not module.count_include_pad or module.divisor_override is not None:
        return Unsupported(
            "nn.AvgPool2d",
            "nn.AvgPool2d with count_include_pad=False or a divisor_override has no counterpart: `avgpool` averages "
            "as PyTorch's default does (the padding counts)",
        )
    return Emit(node.args[0], (pool_layer("avgpool", module.kernel_size, module.stride, module.padding, module.ceil_mode),))


def adaptive_module(kind: str):
    def mapper(module, node, context):
        if getattr(module, "return_indices", False):
            return Unsupported("nn." + type(module).__name__, "return_indices has no counterpart")
        return adaptive(kind, module.output_size, node, "nn." + type(module).__name__)

    return mapper


def batchnorm(module, node, context) -> Meaning:
    shape = context.shape(node.args[0])
    wanted = 4 if isinstance(module, nn.BatchNorm2d) else 2
    name = "nn." + type(module).__name__
    if shape is None or len(shape) != wanted or context.channels_last(node.args[0]):
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


def layernorm_layer(operation: str, shape, normalized, has_weight: bool, has_bias: bool, eps: float, channels_last: bool):
    """`layernorm [eps=E]` over a vector's features or a channels-last map's channels, or why not."""
    if not capabilities.supports(capabilities.LAYERNORM):
        return Unsupported(operation, f"`{operation}` has no counterpart in the .cnn language yet", "issue 13 adds `layernorm`")
    over_features = is_vector(shape) or (channels_last and shape is not None and len(shape) == 4)
    if not over_features or tuple(normalized) != (shape[-1],):
        return Unsupported(
            operation,
            f"{operation} over {tuple(normalized)} of a {len(shape or ())}-D tensor has no counterpart: `layernorm` normalises a "
            "vector's features or, on a map, the channels at every position",
        )
    if not (has_weight and has_bias):
        return Unsupported(operation, f"{operation} without a learnable weight and bias has no counterpart: `layernorm` has both")
    return Layer("layernorm", (Arg("eps", float(eps), 1e-5),))


def layernorm(module: nn.LayerNorm, node, context) -> Meaning:
    found = layernorm_layer(
        "nn.LayerNorm",
        context.shape(node.args[0]),
        module.normalized_shape,
        module.weight is not None,
        getattr(module, "bias", None) is not None,
        module.eps,
        context.channels_last(node.args[0]),
    )
    return found if isinstance(found, Unsupported) else Emit(node.args[0], (found,), (node.target,))


def linear(module: nn.Linear, node, context) -> Meaning:
    shape = context.shape(node.args[0])
    flags = () if module.bias is not None else ("nobias",)
    if context.channels_last(node.args[0]) and capabilities.supports(capabilities.PIXELWISE):
        flags = ("pixelwise", *flags)  # the channels at every position: ConvNeXt's pointwise layers
    elif not is_vector(shape):
        return Unsupported(
            "nn.Linear",
            f"nn.Linear on a {len(shape or ())}-D tensor {tuple(shape or ())} has no counterpart: `linear` takes a vector (flatten first)",
            "the language applies linear to a vector (N, features); issue 13 adds `linear N pixelwise` for channels-last maps",
        )
    return Emit(node.args[0], (layer("linear", Arg("features", module.out_features), flags=flags),), (node.target,))


def dropout(module: nn.Dropout, node, context) -> Meaning:
    found = dropout_layer(module.p)
    return Alias(node.args[0]) if found is None else Emit(node.args[0], (found,))


def identity(module, node, context) -> Meaning:
    return Alias(node.args[0])


def flatten(module: nn.Flatten, node, context) -> Meaning:
    return Reshape(node.args[0], "flatten")


def shuffle(module, node, context) -> Meaning:
    if not capabilities.supports(capabilities.SHUFFLE):
        return Unsupported("nn.ChannelShuffle", "nn.ChannelShuffle has no counterpart in the .cnn language yet", "issue 13 adds `shuffle G`")
    return Emit(node.args[0], (Layer("shuffle", (Arg("groups", int(module.groups)),)),))


MODULES: dict[type, object] = {
    nn.Conv2d: conv,
    nn.MaxPool2d: max_pool,
    nn.AvgPool2d: avg_pool,
    nn.AdaptiveAvgPool2d: adaptive_module("avgpool"),
    nn.AdaptiveMaxPool2d: adaptive_module("pool"),
    nn.BatchNorm2d: batchnorm,
    nn.BatchNorm1d: batchnorm,
    nn.LayerNorm: layernorm,
    nn.Linear: linear,
    nn.Dropout: dropout,
    nn.Identity: identity,
    nn.Flatten: flatten,
    nn.ChannelShuffle: shuffle,
    **ENCODER_DECODER_MODULES,
}
for _entry in ACTIVATIONS:
    for _class in _entry.modules:
        MODULES[_class] = module_mapper(_entry)
