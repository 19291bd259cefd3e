"""Upsampling: `upsample S [nearest | bilinear] [aligned]` or `upsample to HxW ...` (nn.Upsample)."""

from __future__ import annotations


from ..types.autograd import Saves
from ..types.fields import UNEVEN_AXIS
from ..types.layout import SUGGESTED
from ..types.shapes import MapType
from ..types.symbolic import Axis, Grow, factor_text
from .arguments import Args, Positional, called, minimum_ok, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, SpecialForm, check_size, pair, size_text, torch_pair
from .values import WINDOW, read_value
from .windows import AXES

ORDER = 14  # after the transposed convolution

MODES = {"nearest": "copy each value S times along each axis (the default)", "bilinear": "interpolate linearly between neighbours"}


class UpsampleConfig(Config):
    """What an `upsample` statement said."""

    scale: tuple[int, int] | None  # by a whole factor (`upsample 2`), or
    size: tuple[int, int] | None  # to a size (`upsample to 64x64`)
    mode: str = "nearest"
    aligned: bool = False  # bilinear's align_corners=True


class ToSize(SpecialForm):
    """`upsample to SIZE [MODE] [aligned]`."""

    def read(self, kind, command, site):
        name = called(kind, site)
        words = command.args[1:]
        if not words or not hasattr(words[0], "text"):
            site.report("E0012", command.span, f"'{name} to' needs an output size", label="size missing",
                        help=f"write it like: {name} to 64x64")
            return None
        value = read_value(words[0].text, words[0].span, WINDOW, site, "the output size")
        if value is None:
            return None
        args = Args()
        args.values["to"] = value
        for word in words[1:]:
            text = getattr(word, "text", "")
            if text not in kind.flags or text in args.flags:
                site.report("E0011", word.span, f"'{name} to SIZE' takes only a mode ({', '.join(kind.flags)})",
                            label="unexpected", help=f"write it like: {name} to 64x64 bilinear")
                return None
            args.flags[text] = word.span
        return args


class Upsample(LayerKind):
    name = "upsample"
    summary = "enlarge the map by a whole factor S, or to a size; nearest (default) or bilinear"
    syntax = "upsample S [nearest | bilinear] [aligned] | upsample to HxW [nearest | bilinear] [aligned]"
    example = "upsample 2"
    examples = ("upsample 2", "upsample 2 bilinear", "upsample 2x1", "upsample to 64x64", "upsample 2 bilinear aligned")
    torch = "nn.Upsample"
    formulas = (
        "each axis: out = S*in (scale), or the size given (`to`); the channels stay; no parameters, no MACs counted",
        "bilinear uses align_corners=False (PyTorch's default, written out); `aligned` sets align_corners=True",
    )
    positionals = (Positional("scale", WINDOW, "the scale factor"),)
    flags = {**MODES, "aligned": "bilinear with align_corners=True (corner pixels kept in place)"}
    forms = (ToSize("to", "to HxW", "upsample to a fixed size"),)
    diagram = DiagramStyle("upsample", "#80cbc4", "upsampling")

    def configure(self, args, site, span):
        values, flags = args.values, args.flags
        modes = [m for m in MODES if m in flags]
        if len(modes) > 1:
            site.report("E0015", flags[modes[1]], "upsample takes one mode: nearest or bilinear", label="second mode",
                        related=[(flags[modes[0]], "first mode here")], help=f"keep one of {' and '.join(modes)}")
            return None
        mode = modes[0] if modes else "nearest"
        if "aligned" in flags and mode != "bilinear":
            site.report("E0015", flags["aligned"], "'aligned' (align_corners) applies to bilinear upsampling only",
                        label="not for nearest", help="write bilinear before it, or remove it")
            return None
        if "to" in values:
            size = values["to"]
            if not minimum_ok(size.value, 1):
                site.report("E0035", size.span, f"the output size must be at least 1, but is {size.text}", label="out of range")
                return None
            return UpsampleConfig(None, pair(size.value), mode, "aligned" in flags)
        if not range_check(self, args, site):
            return None
        return UpsampleConfig(pair(values["scale"].value), None, mode, "aligned" in flags)

    def infer(self, config: UpsampleConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        if config.size is not None:
            out = MapType(config.size[0], config.size[1], shape.channels)
            lines = (f"to a size: any input to {size_text(config.size)}",)
        else:
            sizes = [
                size.then(Grow(scale)) if isinstance(size, Axis) else size * scale
                for size, scale in zip((shape.height, shape.width), config.scale)
            ]
            out = MapType(sizes[0], sizes[1], shape.channels)
            lines = tuple(f"{axis}: {factor_text(size)}*{scale} = {new}"
                          for axis, size, scale, new in zip(AXES, (shape.height, shape.width), config.scale, sizes))
        return Inference(out, 0, 0, lines) if check_size(out, site, span) else None

    def emit(self, config: UpsampleConfig, shape, inplace=False):
        if config.size is not None:
            parts = [f"size={torch_pair(config.size)}"]
        else:
            parts = [f"scale_factor={torch_pair(config.scale)}"]
        parts.append(f'mode="{config.mode}"')
        if config.mode == "bilinear":
            parts.append(f"align_corners={config.aligned}")
        return f"nn.Upsample({', '.join(parts)})"

    def window(self, config):
        return UNEVEN_AXIS, UNEVEN_AXIS  # one unit spread over several: a fractional jump

    def saves(self, config, input, output, flow):
        return Saves(layout=SUGGESTED)  # nearest and bilinear backward need only the sizes

    def label(self, config: UpsampleConfig) -> str:
        words = [self.name, f"to {size_text(config.size)}" if config.size is not None else size_text(config.scale)]
        if config.mode != "nearest":
            words.append(config.mode)
        if config.aligned:
            words.append("aligned")
        return " ".join(words)


KINDS = (Upsample(),)
