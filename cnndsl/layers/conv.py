"""Convolution: `conv K kF [sS] [pP | same] [dD] [gG] [nobias] [ACT]`."""

from __future__ import annotations

import math

from ..diagnostics.model import Fix
from ..types.autograd import Saves, Tensor
from ..types.fields import AxisWindow
from ..types.layout import SUGGESTED
from ..types.shapes import MapType, Window, same_padding
from ..types.symbolic import count, factor_text
from .arguments import Option, Positional, called, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, Lines, check_size, pair, size_text, torch_pair
from .values import COUNT, WINDOW
from .windows import AXES, report_unused, unused_lines, windows_fit

ORDER = 10  # first in the table


class ConvConfig(Config):
    """What a `conv` statement said: filters, kernel, stride, padding, dilation, groups, bias."""

    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)  # (0, 0) with `same`, which pads by itself
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    same: bool = False  # PyTorch's padding="same"


class Conv(LayerKind):
    name = "conv"
    summary = "2-D convolution with K filters"
    syntax = "conv K kF [sS] [pP | same] [dD] [gG] [nobias] [ACT]"
    example = "conv 16 k3"
    examples = ("conv 16 k3", "conv 16 k3 s2 p1", "conv 16 k3 same", "conv 16 k3x5 p1x2", "conv 16 kernel=3 stride=2",
                "conv 15 k3 p2 d2 g3 nobias", "conv 16 k3 relu")
    torch = "nn.Conv2d"
    formulas = (
        "each axis: out = floor((in + 2*P - D*(F - 1) - 1)/S) + 1, the lesson's (W_in - F + 2P)/S + 1 when D = 1",
        "params = K*F_h*F_w*D_in/G + K (K filters of F_h*F_w*D_in/G weights, plus one bias each)",
        "MACs = H_out*W_out*K*F_h*F_w*D_in/G (one multiply-accumulate per weight per output position)",
    )
    positionals = (Positional("filters", COUNT, "the number of filters"),)
    options = (
        Option("kernel", "k", WINDOW, "the kernel size", doc="kernel size, F or FhxFw", sample_value="3"),
        Option("stride", "s", WINDOW, "the stride", doc="step between windows (default 1)", sample_value="2"),
        Option("padding", "p", WINDOW, "the padding", minimum=0, doc="zeros added on each side (default 0)", sample_value="1"),
        Option("dilation", "d", WINDOW, "the dilation", doc="spacing between kernel taps (default 1)", sample_value="2"),
        Option("groups", "g", COUNT, "the group count", doc="split channels into G groups (default 1)", sample_value="4"),
    )
    flags = {"same": "pad so the output keeps the input's height and width", "nobias": "no bias term"}
    takes_activation = True
    diagram = DiagramStyle("conv", "#64b5f6", "convolution")
    inplace_after = True

    def configure(self, args, site, span):
        ok = range_check(self, args, site)
        values = args.values
        if "kernel" not in values:
            site.report(
                "E0012",
                span,
                "conv needs a kernel size",
                label="kernel size missing",
                help=f"add one, like k3: {called(self, site)} {values['filters'].text if 'filters' in values else 16} k3",
            )
            return None
        same = "same" in args.flags
        if same and "padding" in values:
            site.report(
                "E0015",
                values["padding"].span,
                "'same' computes the padding itself; an explicit padding contradicts it",
                label="remove this padding",
                related=[(args.flags["same"], "'same' given here")],
                help="keep either 'same' or the explicit padding",
            )
            ok = False
        stride = pair(values["stride"].value) if "stride" in values else (1, 1)
        if same and stride != (1, 1):
            site.report(
                "E0034",
                args.flags["same"],
                f"'same' padding needs stride 1, but the stride is {values['stride'].text}",
                label="not possible with this stride",
                notes=["PyTorch refuses padding='same' for strided convolutions"],
                help=self._same_stride_help(values),
            )
            ok = False
        if not ok:
            return None
        return ConvConfig(
            filters=values["filters"].value,
            kernel=pair(values["kernel"].value),
            stride=stride,
            padding=pair(values["padding"].value) if "padding" in values else (0, 0),
            dilation=pair(values["dilation"].value) if "dilation" in values else (1, 1),
            groups=values["groups"].value if "groups" in values else 1,
            bias="nobias" not in args.flags,
            same=same,
        )

    @staticmethod
    def _same_stride_help(values) -> str:
        kh, kw = pair(values["kernel"].value)
        if kh == kw and kh % 2 == 1:
            return f"write p{(kh - 1) // 2} instead of 'same' (the size then shrinks by the stride)"
        return "give the padding explicitly instead of 'same'"

    def windows(self, config: ConvConfig, shape: MapType) -> list[Window]:
        """Both axes' windows (for an explicit padding; 'same' needs none)."""
        return [
            Window(size, config.kernel[a], config.stride[a], config.padding[a], config.dilation[a])
            for a, size in enumerate((shape.height, shape.width))
        ]

    def infer(self, config: ConvConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        groups, filters = config.groups, config.filters
        if not groups_divide(shape.channels, filters, groups, site, span):
            return None
        if config.same:
            out = MapType(shape.height, shape.width, filters)
            size_lines = tuple(
                _same_line(axis, size, config.kernel[a], config.dilation[a])
                for a, (axis, size) in enumerate(zip(AXES, (shape.height, shape.width)))
            )
        else:
            windows = self.windows(config, shape)

            def padding_help(axis, window):
                keep = window.dilation * (window.kernel - 1)
                need = -(-(window.reach - window.size) // 2)
                parts = []
                if config.stride == (1, 1) and keep % 2 == 0:
                    parts.append(f"p{keep // 2} keeps {shape.height}x{shape.width}")
                if need > window.padding:
                    parts.append(f"at least p{need} makes it fit")
                return "add padding (" + "; ".join(parts) + ") or use a smaller kernel" if parts else "use a smaller kernel"

            fixes = lambda: _padding_fixes(config, windows, shape)  # noqa: E731 - only computed on an error
            if not windows_fit("convolution", windows, shape, site, span, padding_help, fixes):
                return None
            symbolic = report_unused("conv", windows, site, span, can_pad=True)
            out = MapType(windows[0].output, windows[1].output, filters)
            size_lines = lambda: (  # noqa: E731 - written when the arithmetic is asked for
                tuple(f"{axis}: {w.arithmetic()}" for axis, w in zip(AXES, windows)) + unused_lines(windows, symbolic)
            )
        if not check_size(out, site, span):
            return None
        kh, kw = config.kernel
        per_filter = kh * kw * shape.channels // groups
        params = filters * per_filter + (filters if config.bias else 0)
        macs = count(filters * per_filter, out.height, out.width)

        def arithmetic() -> tuple[str, ...]:
            return (size_lines if isinstance(size_lines, tuple) else size_lines()) + (
                f"params: {filters}*{kh}*{kw}*{shape.channels}" + (f"/{groups}" if groups > 1 else "")
                + (f" + {filters}" if config.bias else "") + f" = {params:,}",
                f"MACs: {factor_text(out.height)}*{factor_text(out.width)}*{filters}*{kh}*{kw}*{shape.channels}"
                + (f"/{groups}" if groups > 1 else "") + f" = {macs:,}",
            )

        return Inference(out, params, macs, Lines(arithmetic))

    def emit(self, config: ConvConfig, shape, inplace=False):
        parts = [str(shape.channels), str(config.filters), torch_pair(config.kernel)]
        if config.stride != (1, 1):
            parts.append(f"stride={torch_pair(config.stride)}")
        if config.same:
            parts.append('padding="same"')
        elif config.padding != (0, 0):
            parts.append(f"padding={torch_pair(config.padding)}")
        if config.dilation != (1, 1):
            parts.append(f"dilation={torch_pair(config.dilation)}")
        if config.groups != 1:
            parts.append(f"groups={config.groups}")
        if not config.bias:
            parts.append("bias=False")
        return f"nn.Conv2d({', '.join(parts)})"

    def label(self, config: ConvConfig) -> str:
        words = [self.name, str(config.filters), "k" + size_text(config.kernel)]
        if config.stride != (1, 1):
            words.append("s" + size_text(config.stride))
        if config.same:
            words.append("same")
        elif config.padding != (0, 0):
            words.append("p" + size_text(config.padding))
        if config.dilation != (1, 1):
            words.append("d" + size_text(config.dilation))
        if config.groups != 1:
            words.append(f"g{config.groups}")
        return " ".join(words)

    def window(self, config: ConvConfig):
        axes = []
        for axis in range(2):
            kernel, dilation = config.kernel[axis], config.dilation[axis]
            before = same_padding(kernel, dilation)[0] if config.same else config.padding[axis]
            axes.append(AxisWindow(kernel, config.stride[axis], before, dilation))
        return tuple(axes)

    def parameter_tensors(self, config: ConvConfig, shape):
        kh, kw = config.kernel
        weight = Tensor("weight", config.filters * shape.channels // config.groups * kh * kw)
        return (weight, Tensor("bias", config.filters)) if config.bias else (weight,)

    def saves(self, config: ConvConfig, input, output, flow):
        # The input, for the weight's gradient. With `same` and an odd total
        # padding on an axis, PyTorch pads one more at the end itself: it
        # makes a zero-padded copy, and that copy is what it saves.
        extra = [same_padding(k, d)[1] - same_padding(k, d)[0] for k, d in zip(config.kernel, config.dilation)]
        if config.same and any(extra):
            elements = flow.batch * input.channels * (input.height + extra[0]) * (input.width + extra[1])
            return Saves(tensors=(Tensor("the input, zero-padded by one more at the end", elements),), layout=SUGGESTED)
        return Saves(input=True, layout=SUGGESTED)  # the output follows the input's suggested memory format


def _padding_fixes(config: ConvConfig, windows: list[Window], shape: MapType) -> tuple[Fix, ...]:
    """E0030's quick fix: the padding that keeps the size (stride 1), else the least that fits."""
    keeps = [w.dilation * (w.kernel - 1) for w in windows]
    if config.stride == (1, 1) and all(keep % 2 == 0 for keep in keeps):
        pads = [keep // 2 for keep in keeps]
        what = f"keeps {shape.height}x{shape.width}"
    else:
        pads = [max(w.padding, -(-(w.reach - w.size) // 2)) for w in windows]
        what = "makes it fit"
    value = str(pads[0]) if pads[0] == pads[1] else f"{pads[0]}x{pads[1]}"
    return (Fix(f"use p{value} ({what})", "padding", value),)


def _same_line(axis: str, size: int, kernel: int, dilation: int) -> str:
    """`height: 'same' pads 1 above and 1 below: (32 + 1 + 1 - 3)/1 + 1 = 32`."""
    low, high = same_padding(kernel, dilation)
    sides = ("above", "below") if axis == "height" else ("left", "right")
    reach = dilation * (kernel - 1) + 1
    return (f"{axis}: 'same' pads {low} {sides[0]} and {high} {sides[1]}: "
            f"({size} + {low} + {high} - {reach})/1 + 1 = {size}")


def groups_divide(channels: int, filters: int, groups: int, site, span) -> bool:
    """Whether the group count divides both channel counts; E0033 with the nearest fixes if not."""
    if not (channels % groups or filters % groups):
        return True
    site.report(
        "E0033",
        span,
        f"{groups} groups do not divide "
        + (f"the {channels} input channels" if channels % groups else f"the {filters} filters"),
        label=f"groups={groups}",
        notes=[f"input channels {channels}, filters {filters}: both must be multiples of the group count"],
        help=groups_help(channels, filters, groups),
    )
    return False


def groups_help(channels: int, filters: int, groups: int) -> str:
    common = math.gcd(channels, filters)
    # Divisors in pairs up to the square root: counts can be near 2**31.
    small = [d for d in range(1, math.isqrt(common) + 1) if common % d == 0]
    divisors = small + [common // d for d in small]
    nearest = min(divisors, key=lambda d: (abs(d - groups), -d))
    return f"use g{nearest}, the nearest group count that divides both {channels} and {filters}"


KINDS = (Conv(),)
