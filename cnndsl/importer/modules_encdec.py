"""The torch.nn modules of encoder-decoders and generators (issue 18's layers), each with its .cnn statement.

`modules.py` registers these into `MODULES`. Each mapping writes only what
the language can say; a setting without a counterpart is `Unsupported`, with
the reason in the model's terms. Weights are transferred with the state
dict, so a learnt value the language does not write (PReLU's initial slope)
needs no word.
"""

from __future__ import annotations

from torch import nn

from .ir import Arg, Layer
from .meanings import Alias, Emit, Meaning, Unsupported, is_map, is_vector, layer, pair

# PyTorch's default eps for the normalisations; the language's groupnorm and instancenorm use it.
DEFAULT_EPS = 1e-5


def class_name(module) -> str:
    return "nn." + type(module).__name__


def needs_map(module, node, context, statement: str) -> Unsupported | None:
    """Unsupported unless the module's input is an (N, C, H, W) map with its channels second."""
    shape = context.shape(node.args[0])
    if is_map(shape) and not context.channels_last(node.args[0]):
        return None
    name = class_name(module)
    what = "a channels-last map" if context.channels_last(node.args[0]) else f"a {len(shape or ())}-D tensor"
    return Unsupported(name, f"{name} on {what} has no counterpart: `{statement}` takes a feature map (N, C, H, W)")


def upconv(module: nn.ConvTranspose2d, node, context) -> Meaning:
    name = class_name(module)
    if len(node.args) > 1 or node.kwargs:
        return Unsupported(
            name,
            f"{name} called with an output_size has no counterpart: `upconv` fixes the output size by its output padding",
            "construct the layer with output_padding (`upconv ... oO`) and call it without output_size",
        )
    problem = needs_map(module, node, context, "upconv")
    if problem is not None:
        return problem
    statement = layer(
        "upconv",
        Arg("filters", module.out_channels),
        Arg("kernel", pair(module.kernel_size)),
        Arg("stride", pair(module.stride), (1, 1)),
        Arg("padding", pair(module.padding), (0, 0)),
        Arg("outpad", pair(module.output_padding), (0, 0)),
        Arg("dilation", pair(module.dilation), (1, 1)),
        Arg("groups", module.groups, 1),
        flags=() if module.bias is not None else ("nobias",),
    )
    return Emit(node.args[0], (statement,), (node.target,))


def whole_scale(scale) -> tuple[int, int] | None:
    """A scale factor as two whole numbers, or None (fractional, or not one per axis)."""
    values = list(scale) if isinstance(scale, (tuple, list)) else [scale, scale]
    if len(values) != 2 or any(float(v) != int(v) or int(v) < 1 for v in values):
        return None
    return int(values[0]), int(values[1])


def upsample(module: nn.Upsample, node, context) -> Meaning:
    name = class_name(module)
    problem = needs_map(module, node, context, "upsample")
    if problem is not None:
        return problem
    if module.mode not in ("nearest", "bilinear"):
        return Unsupported(
            name,
            f"{name} with mode='{module.mode}' has no counterpart: `upsample` is nearest or bilinear",
            "use mode='nearest' or 'bilinear', or an `upconv` to learn the upsampling",
        )
    flags = [] if module.mode == "nearest" else ["bilinear"]
    if module.mode == "bilinear" and module.align_corners:
        flags.append("aligned")
    if module.size is not None:
        size = module.size if isinstance(module.size, (tuple, list)) else (module.size, module.size)
        if len(size) != 2 or any(s is None for s in size):
            return Unsupported(name, f"{name} with size={module.size} has no counterpart: `upsample to HxW` fixes both axes")
        return Emit(node.args[0], (Layer("upsample", (Arg("to", pair(size)),), tuple(flags)),))
    scale = whole_scale(module.scale_factor)
    if scale is None:
        return Unsupported(
            name,
            f"{name} with scale_factor={module.scale_factor} has no counterpart: `upsample S` scales by whole numbers",
            "use a whole scale factor, or a size (`upsample to HxW`)",
        )
    return Emit(node.args[0], (Layer("upsample", (Arg("scale", scale),), tuple(flags)),))


def groupnorm(module: nn.GroupNorm, node, context) -> Meaning:
    name = class_name(module)
    problem = needs_map(module, node, context, "groupnorm")
    if problem is not None:
        return problem
    if not module.affine:
        return Unsupported(name, f"{name} with affine=False has no counterpart: `groupnorm` has a learnable scale and shift per channel",
                           "keep affine=True (the default); a scale of 1 and a shift of 0 do the same")
    if module.eps != DEFAULT_EPS:
        return Unsupported(name, f"{name} with eps={module.eps:g} has no counterpart: `groupnorm` uses PyTorch's default 1e-05",
                           "the eps changes the output; use the default eps")
    return Emit(node.args[0], (Layer("groupnorm", (Arg("groups", int(module.num_groups)),)),), (node.target,))


def instancenorm(module: nn.InstanceNorm2d, node, context) -> Meaning:
    name = class_name(module)
    problem = needs_map(module, node, context, "instancenorm")
    if problem is not None:
        return problem
    if module.track_running_stats:
        return Unsupported(
            name,
            f"{name} with track_running_stats=True has no counterpart: `instancenorm` normalises with each sample's "
            "own statistics, in eval mode too",
            "use track_running_stats=False (PyTorch's default), or `bn` for statistics kept over the data",
        )
    if module.eps != DEFAULT_EPS:
        return Unsupported(name, f"{name} with eps={module.eps:g} has no counterpart: `instancenorm` uses PyTorch's default 1e-05",
                           "the eps changes the output; use the default eps")
    flags = ("affine",) if module.affine else ()
    return Emit(node.args[0], (Layer("instancenorm", (), flags),), (node.target,) if module.affine else ())


def dropout2d(module: nn.Dropout2d, node, context) -> Meaning:
    problem = needs_map(module, node, context, "dropout2d")
    if problem is not None:
        return problem
    if module.p == 0:
        return Alias(node.args[0])  # drops nothing
    return Emit(node.args[0], (Layer("dropout2d", (Arg("p", float(module.p)),)),))


def prelu(module: nn.PReLU, node, context) -> Meaning:
    """`prelu` or `prelu perchannel`; the slopes (whatever their initial value) come with the weights."""
    name = class_name(module)
    shape = context.shape(node.args[0])
    count = module.num_parameters
    if count == 1:
        return Emit(node.args[0], (Layer("prelu"),), (node.target,))
    if context.channels_last(node.args[0]) or not (is_map(shape) or is_vector(shape)) or shape[1] != count:
        return Unsupported(
            name,
            f"{name} with {count} slopes on a tensor of shape {tuple(shape or ())} has no counterpart: `prelu perchannel` "
            "has one slope per channel of a map (N, C, H, W) or per feature of a vector",
            "use num_parameters=1 or the channel count",
        )
    return Emit(node.args[0], (Layer("prelu", (), ("perchannel",)),), (node.target,))


# Each padding module's mode in `pad P MODE` (`zero` is the default and is not written).
PAD_MODES = {
    nn.ZeroPad2d: "zero",
    nn.ConstantPad2d: "zero",
    nn.ReflectionPad2d: "reflect",
    nn.ReplicationPad2d: "replicate",
    nn.CircularPad2d: "circular",
}


def pad(module, node, context) -> Meaning:
    name = class_name(module)
    problem = needs_map(module, node, context, "pad")
    if problem is not None:
        return problem
    if isinstance(module, nn.ConstantPad2d) and not isinstance(module, nn.ZeroPad2d) and module.value != 0:
        return Unsupported(name, f"{name} with value={module.value:g} has no counterpart: `pad` pads with zeros, or reflects, "
                           "replicates or wraps the map", "pad with 0 (nn.ZeroPad2d)")
    left, right, top, bottom = module.padding
    if left != right or top != bottom:
        return Unsupported(
            name,
            f"{name} with padding (left, right, top, bottom) = {tuple(module.padding)} has no counterpart: `pad HxW` "
            "pads both sides of an axis equally",
            "pad the same on the left and right, and the same at the top and bottom",
        )
    mode = PAD_MODES[type(module)]
    return Emit(node.args[0], (Layer("pad", (Arg("padding", (top, left)),), () if mode == "zero" else (mode,)),))


def unflatten(module: nn.Unflatten, node, context) -> Meaning:
    name = class_name(module)
    shape, out = context.shape(node.args[0]), context.shape(node)
    if not is_vector(shape) or module.dim not in (1, -1) or not is_map(out):
        return Unsupported(
            name,
            f"{name} of dim {module.dim} into {tuple(module.unflattened_size)} has no counterpart: `unflatten HxWxC` "
            "turns a vector (N, features) into a map (N, C, H, W)",
            "unflatten dim 1 of a vector into (C, H, W)",
        )
    _, channels, height, width = out
    return Emit(node.args[0], (Layer("unflatten", (Arg("size", (height, width, channels)),)),))


MODULES: dict[type, object] = {
    nn.ConvTranspose2d: upconv,
    nn.Upsample: upsample,  # nn.UpsamplingNearest2d and nn.UpsamplingBilinear2d are subclasses
    nn.UpsamplingNearest2d: upsample,
    nn.UpsamplingBilinear2d: upsample,
    nn.GroupNorm: groupnorm,
    nn.InstanceNorm2d: instancenorm,
    nn.Dropout2d: dropout2d,
    nn.PReLU: prelu,
    **{pad_class: pad for pad_class in PAD_MODES},
    nn.Unflatten: unflatten,
}
