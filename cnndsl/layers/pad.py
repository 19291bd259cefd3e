"""Padding: `pad P [zero | reflect | replicate | circular]` (nn.ZeroPad2d, nn.ReflectionPad2d, ...)."""

from __future__ import annotations


from ..types.autograd import Saves
from ..types.fields import AxisWindow
from ..types.layout import CONTIGUOUS, SUGGESTED
from ..types.shapes import MapType
from ..types.symbolic import Axis, Grow
from .arguments import Positional, called, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, check_size, pair, size_text
from .growth import grown_fits
from .values import WINDOW
from .windows import AXES

ORDER = 16  # after upsampling

MODES = {
    "zero": ("ZeroPad2d", "zeros (the default)"),
    "reflect": ("ReflectionPad2d", "the map mirrored at its edge, without repeating the edge (P below the size)"),
    "replicate": ("ReplicationPad2d", "the edge value repeated"),
    "circular": ("CircularPad2d", "the map wrapped around (P at most the size)"),
}


class PadConfig(Config):
    """What `pad P [zero | reflect | replicate | circular]` said."""

    padding: tuple[int, int]  # rows above and below, columns left and right
    mode: str = "zero"


class Pad(LayerKind):
    name = "pad"
    summary = "add P rows above and below and P columns left and right: zeros, reflected, replicated or circular"
    syntax = "pad P [zero | reflect | replicate | circular]"
    example = "pad 1"
    examples = ("pad 1", "pad 3 reflect", "pad 1x2 replicate", "pad 2 circular")
    torch = "nn.ZeroPad2d"
    formulas = ("each axis: out = in + 2*P; reflect needs P < in, circular P <= in; no parameters",)
    positionals = (Positional("padding", WINDOW, "the padding", minimum=0),)
    flags = {mode: doc for mode, (_, doc) in MODES.items()}
    diagram = DiagramStyle("pad", "#b0bec5", "padding")

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        modes = [m for m in MODES if m in args.flags]
        if len(modes) > 1:
            site.report("E0015", args.flags[modes[1]], f"{called(self, site)} takes one mode", label="second mode",
                        related=[(args.flags[modes[0]], "first mode here")], help=f"keep one of {' and '.join(modes)}")
            return None
        return PadConfig(pair(args.values["padding"].value), modes[0] if modes else "zero")

    def infer(self, config: PadConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        sizes, lines = [], []
        for a, (axis, size) in enumerate(zip(AXES, (shape.height, shape.width))):
            p = config.padding[a]
            slack = {"reflect": -p, "circular": 1 - p}.get(config.mode)
            if slack is not None and p:
                room = size.then(Grow(1, slack)) if isinstance(size, Axis) else size + slack
                rule = f"{config.mode} padding {p} needs an input {axis} of at least {p + 1 if config.mode == 'reflect' else p}"
                if not grown_fits(f"{config.mode} padding", axis, size, room, rule, site, span, f"pad less than the {axis}",
                                  noun=f"{axis} left beyond the padding"):
                    return None
            out = size.then(Grow(1, 2 * p)) if isinstance(size, Axis) else size + 2 * p
            sizes.append(out)
            lines.append(f"{axis}: {size} + 2*{p} = {out}")
        out = MapType(sizes[0], sizes[1], shape.channels)
        return Inference(out, 0, 0, tuple(lines)) if check_size(out, site, span) else None

    def emit(self, config: PadConfig, shape, inplace=False):
        h, w = config.padding
        amount = str(h) if h == w else f"({w}, {w}, {h}, {h})"  # PyTorch: left, right, top, bottom
        return f"nn.{MODES[config.mode][0]}({amount})"

    def window(self, config: PadConfig):
        # P more units before the first: the fields shift by P units. With reflect, replicate or circular
        # padding the units at the border see mirrored, repeated or wrapped pixels instead of padding; the
        # others see what these numbers say.
        return AxisWindow(1, 1, config.padding[0]), AxisWindow(1, 1, config.padding[1])

    def saves(self, config: PadConfig, input, output, flow):
        if config.mode in ("reflect", "replicate"):
            return Saves(input=True, layout=SUGGESTED)  # their backward reads the input
        # Zero padding's backward is a slice; circular padding is assembled from slices (a new contiguous map).
        return Saves(layout=CONTIGUOUS if config.mode == "circular" else SUGGESTED)

    def label(self, config: PadConfig) -> str:
        return f"{self.name} {size_text(config.padding)}" + ("" if config.mode == "zero" else f" {config.mode}")


KINDS = (Pad(),)
