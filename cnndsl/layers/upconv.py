"""Transposed convolution: `upconv K kF [sS] [pP] [oO] [dD] [gG] [nobias] [ACT]` (nn.ConvTranspose2d)."""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.fields import UNEVEN_AXIS, AxisWindow
from ..types.layout import SUGGESTED
from ..types.shapes import MapType
from ..types.symbolic import Axis, Grow, count, factor_text
from .arguments import Option, Positional, called, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, check_size, pair, size_text, torch_pair
from .conv import groups_divide
from .growth import grown_fits
from .values import COUNT, WINDOW
from .windows import AXES

ORDER = 12  # right after conv


class UpConvConfig(Config):
    """What an `upconv` statement said."""

    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True

    def growth(self, axis: int) -> Grow:
        """out = (in - 1)*S - 2P + D*(F - 1) + O + 1, as `S*in + add`."""
        s, p, o = self.stride[axis], self.padding[axis], self.output_padding[axis]
        reach = self.dilation[axis] * (self.kernel[axis] - 1)
        return Grow(s, -s - 2 * p + reach + o + 1)


class UpConv(LayerKind):
    name = "upconv"
    aliases = ("deconv",)
    summary = "transposed convolution with K filters (the up-convolution of U-Net and DCGAN)"
    syntax = "upconv K kF [sS] [pP] [oO] [dD] [gG] [nobias] [ACT]"
    example = "upconv 16 k2 s2"
    examples = ("upconv 16 k2 s2", "upconv 16 k4 s2 p1", "upconv 16 k3 s2 p1 o1", "deconv 16 k4 s2 p1 nobias relu",
                "upconv 15 k3 d2 g3")
    torch = "nn.ConvTranspose2d"
    formulas = (
        "each axis: out = (in - 1)*S - 2*P + D*(F - 1) + O + 1 (O: output padding, below max(S, D))",
        "params = D_in*K*F_h*F_w/G + K",
        "MACs = H_in*W_in*D_in*K*F_h*F_w/G (each input position scatters into a window; as FlopCounterMode counts)",
    )
    positionals = (Positional("filters", COUNT, "the number of filters"),)
    options = (
        Option("kernel", "k", WINDOW, "the kernel size", doc="kernel size, F or FhxFw", sample_value="2"),
        Option("stride", "s", WINDOW, "the stride", doc="how far apart the input positions land (default 1)", sample_value="2"),
        Option("padding", "p", WINDOW, "the padding", minimum=0, doc="rows removed on each side (default 0)", sample_value="1"),
        Option("outpad", "o", WINDOW, "the output padding", minimum=0, doc="rows added at the end (default 0)", sample_value="1"),
        Option("dilation", "d", WINDOW, "the dilation", doc="spacing between kernel taps (default 1)", sample_value="2"),
        Option("groups", "g", COUNT, "the group count", doc="split channels into G groups (default 1)", sample_value="4"),
    )
    flags = {"nobias": "no bias term"}
    takes_activation = True
    diagram = DiagramStyle("upconv", "#4db6ac", "transposed convolution")
    inplace_after = True

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        values = args.values
        if "kernel" not in values:
            site.report(
                "E0012",
                span,
                f"{called(self, site)} needs a kernel size",
                label="kernel size missing",
                help=f"add one, like k2 s2: {called(self, site)} {values['filters'].text} k2 s2",
            )
            return None
        config = UpConvConfig(
            filters=values["filters"].value,
            kernel=pair(values["kernel"].value),
            stride=pair(values["stride"].value) if "stride" in values else (1, 1),
            padding=pair(values["padding"].value) if "padding" in values else (0, 0),
            output_padding=pair(values["outpad"].value) if "outpad" in values else (0, 0),
            dilation=pair(values["dilation"].value) if "dilation" in values else (1, 1),
            groups=values["groups"].value if "groups" in values else 1,
            bias="nobias" not in args.flags,
        )
        for axis in range(2):
            limit = max(config.stride[axis], config.dilation[axis])
            if config.output_padding[axis] >= limit:
                site.report(
                    "E0035",
                    values["outpad"].span,
                    f"the output padding {config.output_padding[axis]} must be smaller than the stride or the dilation ({limit})",
                    label="out of range",
                    notes=["PyTorch refuses an output padding that is not below max(stride, dilation)"],
                    help=f"use at most o{limit - 1}" if limit > 1 else "remove it, or give a stride of 2 or more",
                )
                return None
        return config

    def infer(self, config: UpConvConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        groups, filters = config.groups, config.filters
        if not groups_divide(shape.channels, filters, groups, site, span):
            return None
        sizes, lines = [], []
        for a, (axis, size) in enumerate(zip(AXES, (shape.height, shape.width))):
            grow = config.growth(a)
            out = size.then(grow) if isinstance(size, Axis) else grow.apply(size)
            rule = (f"({factor_text(size)} - 1)*{config.stride[a]} - 2*{config.padding[a]} + "
                    + (f"{config.dilation[a]}*" if config.dilation[a] != 1 else "")
                    + f"({config.kernel[a]} - 1)" + (f" + {config.output_padding[a]}" if config.output_padding[a] else "")
                    + f" + 1 = {out}")
            if not grown_fits("transposed convolution", axis, size, out, rule, site, span, "use less padding"):
                return None
            sizes.append(out)
            lines.append(f"{axis}: {rule}")
        out = MapType(sizes[0], sizes[1], filters)
        if not check_size(out, site, span):
            return None
        kh, kw = config.kernel
        per_input = filters * kh * kw // groups
        params = shape.channels * per_input + (filters if config.bias else 0)
        macs = count(shape.channels * per_input, shape.height, shape.width)
        g = f"/{groups}" if groups > 1 else ""
        arithmetic = (
            *lines,
            f"params: {shape.channels}*{filters}*{kh}*{kw}{g}" + (f" + {filters}" if config.bias else "") + f" = {params:,}",
            f"MACs: {factor_text(shape.height)}*{factor_text(shape.width)}*{shape.channels}*{filters}*{kh}*{kw}{g} = {macs:,}",
        )
        return Inference(out, params, macs, arithmetic)

    def emit(self, config: UpConvConfig, shape, inplace=False):
        parts = [str(shape.channels), str(config.filters), torch_pair(config.kernel)]
        if config.stride != (1, 1):
            parts.append(f"stride={torch_pair(config.stride)}")
        if config.padding != (0, 0):
            parts.append(f"padding={torch_pair(config.padding)}")
        if config.output_padding != (0, 0):
            parts.append(f"output_padding={torch_pair(config.output_padding)}")
        if config.groups != 1:
            parts.append(f"groups={config.groups}")
        if not config.bias:
            parts.append("bias=False")
        if config.dilation != (1, 1):
            parts.append(f"dilation={torch_pair(config.dilation)}")
        return f"nn.ConvTranspose2d({', '.join(parts)})"

    def window(self, config: UpConvConfig):
        rules = []
        for axis in range(2):
            if config.stride[axis] != 1:
                rules.append(UNEVEN_AXIS)  # each input unit lands on every S-th output unit: a fractional jump
                continue
            # Stride 1: a convolution with the kernel flipped and padding D*(F - 1) - P.
            kernel, dilation = config.kernel[axis], config.dilation[axis]
            rules.append(AxisWindow(kernel, 1, dilation * (kernel - 1) - config.padding[axis], dilation))
        return tuple(rules)

    def parameter_tensors(self, config: UpConvConfig, shape):
        kh, kw = config.kernel
        weight = Tensor("weight", shape.channels * config.filters // config.groups * kh * kw)
        return (weight, Tensor("bias", config.filters)) if config.bias else (weight,)

    def saves(self, config, input, output, flow):
        return Saves(input=True, layout=SUGGESTED)  # for the weight's gradient

    def label(self, config: UpConvConfig) -> str:
        words = [self.name, str(config.filters), "k" + size_text(config.kernel)]
        for letter, value, default in (("s", config.stride, (1, 1)), ("p", config.padding, (0, 0)),
                                       ("o", config.output_padding, (0, 0)), ("d", config.dilation, (1, 1))):
            if value != default:
                words.append(letter + size_text(value))
        if config.groups != 1:
            words.append(f"g{config.groups}")
        return " ".join(words)


KINDS = (UpConv(),)
