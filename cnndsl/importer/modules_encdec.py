"""The torch.nn modules of encoder-decoders and generators (issue 18's layers), each with its .cnn statement.

`modules.py` registers these into `MODULES`. Each mapping writes only what
the language can say; a setting without a counterpart is `Unsupported`, with
the reason in the model's terms. Weights are transferred with the state
dict, so a learnt value the language does not write (PReLU's initial slope)
needs no word.
"""

from __future__ import annotations

from torch import fx, nn

from .ir import Arg, Layer
from .meanings import Alias, Emit, Meaning, Unsupported, is_map, is_vector, layer, pair

# PyTorch's default eps for the normalisations; the language's groupnorm and instancenorm use it.
DEFAULT_EPS = 1e-5


def class_name(module) -> str:
    return "nn." + type(module).__name__


def needs_map(name: str, source, context, statement: str) -> Unsupported | None:
    """Unsupported unless `source` (the operation's input) is an (N, C, H, W) map with its channels second."""
    shape = context.shape(source)
    if is_map(shape) and not context.channels_last(source):
        return None
    what = "a channels-last map" if context.channels_last(source) else f"a {len(shape or ())}-D tensor"
    return Unsupported(name, f"{name} on {what} has no counterpart: `{statement}` takes a feature map (N, C, H, W)")


def upconv(module: nn.ConvTranspose2d, node, context) -> Meaning:
    name = class_name(module)
    if len(node.args) > 1 or node.kwargs:
        return Unsupported(
            name,
            f"{name} called with an output_size has no counterpart: `upconv` fixes the output size by its output padding",
            "construct the layer with output_padding (`upconv ... oO`) and call it without output_size",
        )
    problem = needs_map(class_name(module), node.args[0], context, "upconv")
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
    if len(values) != 2 or any(not isinstance(v, (int, float)) or float(v) != int(v) or int(v) < 1 for v in values):
        return None
    return int(values[0]), int(values[1])


def upsample(module: nn.Upsample, node, context) -> Meaning:
    return upsample_meaning(class_name(module), node.args[0], context, module.mode, module.align_corners, module.size,
                            module.scale_factor)


def upsample_meaning(name: str, source, context, mode: str, align_corners, size, scale_factor, antialias: bool = False) -> Meaning:
    """`upsample S [bilinear] [aligned]` or `upsample to HxW`: nn.Upsample's and F.interpolate's settings."""
    problem = needs_map(name, source, context, "upsample")
    if problem is not None:
        return problem
    if mode not in ("nearest", "bilinear"):
        return Unsupported(
            name,
            f"{name} with mode='{mode}' has no counterpart: `upsample` is nearest or bilinear",
            "use mode='nearest' or 'bilinear', or an `upconv` to learn the upsampling",
        )
    if antialias:
        return Unsupported(name, f"{name} with antialias=True has no counterpart: `upsample` interpolates without antialiasing",
                           "leave antialias=False (it changes nothing when enlarging by a whole factor)")
    flags = [] if mode == "nearest" else ["bilinear"]
    if mode == "bilinear" and align_corners:
        flags.append("aligned")
    if size is not None:
        sizes = size if isinstance(size, (tuple, list)) else (size, size)
        if any(isinstance(s, fx.Node) for s in sizes):
            return Unsupported(
                name,
                f"{name} to a size read from a tensor has no counterpart: `upsample to HxW` fixes the size in the program",
                "give a scale_factor, or a fixed size",
            )
        if len(sizes) != 2 or any(s is None for s in sizes):
            return Unsupported(name, f"{name} with size={size} has no counterpart: `upsample to HxW` fixes both axes")
        return Emit(source, (Layer("upsample", (Arg("to", pair(sizes)),), tuple(flags)),))
    scale = whole_scale(scale_factor)
    if scale is None:
        return Unsupported(
            name,
            f"{name} with scale_factor={scale_factor} has no counterpart: `upsample S` scales by whole numbers",
            "use a whole scale factor, or a size (`upsample to HxW`)",
        )
    return Emit(source, (Layer("upsample", (Arg("scale", scale),), tuple(flags)),))


def groupnorm(module: nn.GroupNorm, node, context) -> Meaning:
    name = class_name(module)
    problem = needs_map(name, node.args[0], context, "groupnorm")
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
    problem = needs_map(name, node.args[0], context, "instancenorm")
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
    return dropout2d_meaning(class_name(module), node.args[0], context, module.p)


def dropout2d_meaning(name: str, source, context, p: float) -> Meaning:
    problem = needs_map(name, source, context, "dropout2d")
    if problem is not None:
        return problem
    if p == 0:
        return Alias(source)  # drops nothing
    return Emit(source, (Layer("dropout2d", (Arg("p", float(p)),)),))


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
# F.pad's modes, the same words.
FUNCTIONAL_PAD_MODES = {"constant": "zero", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def pad(module, node, context) -> Meaning:
    value = module.value if isinstance(module, nn.ConstantPad2d) and not isinstance(module, nn.ZeroPad2d) else 0
    return pad_meaning(class_name(module), node.args[0], context, tuple(module.padding), PAD_MODES[type(module)], value)


def pad_meaning(name: str, source, context, padding: tuple, mode: str, value=0) -> Meaning:
    """`pad HxW [MODE]` from (left, right, top, bottom), as the padding modules and F.pad take it."""
    problem = needs_map(name, source, context, "pad")
    if problem is not None:
        return problem
    if any(isinstance(amount, fx.Node) for amount in padding):
        return Unsupported(name, f"{name} by amounts read from a tensor's size has no counterpart: `pad` pads by fixed amounts",
                           "pad by fixed numbers (a U-Net whose sizes always match needs no padding)")
    if mode == "zero" and value not in (0, None):
        return Unsupported(name, f"{name} with value={value:g} has no counterpart: `pad` pads with zeros, or reflects, "
                           "replicates or wraps the map", "pad with 0 (nn.ZeroPad2d)")
    if len(padding) == 2:
        padding = (*padding, 0, 0)  # the width's sides only
    if len(padding) != 4 or min(padding) < 0:
        return Unsupported(name, f"{name} with padding {tuple(padding)} has no counterpart: `pad HxW` pads the height "
                           "and width of a map by whole amounts", "pad (left, right, top, bottom), none negative")
    left, right, top, bottom = padding
    if left != right or top != bottom:
        return Unsupported(
            name,
            f"{name} with padding (left, right, top, bottom) = {tuple(padding)} has no counterpart: `pad HxW` "
            "pads both sides of an axis equally",
            "pad the same on the left and right, and the same at the top and bottom",
        )
    return Emit(source, (Layer("pad", (Arg("padding", (top, left)),), () if mode == "zero" else (mode,)),))


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
