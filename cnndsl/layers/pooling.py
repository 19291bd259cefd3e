"""Pooling, max and average: a fixed window (`pool 2`) or adaptive (`pool to 7x7`)."""

from __future__ import annotations

from typing import ClassVar

from ..types.autograd import INDEX_BYTES, Saves, Tensor
from ..types.fields import AdaptiveWindow, AxisWindow
from ..types.layout import MEAN, SUGGESTED
from ..types.shapes import MapType, Window
from .arguments import Args, Option, Positional, called, minimum_ok, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, Lines, SpecialForm, check_size, pair, size_text, torch_pair
from .values import WINDOW, read_value
from .windows import AXES, report_unused, unused_lines, windows_fit

ORDER = 20  # after conv


class PoolConfig(Config):
    """What a windowed `pool`/`avgpool` statement said."""

    window: tuple[int, int]
    stride: tuple[int, int]  # defaults to the window
    padding: tuple[int, int] = (0, 0)
    ceil: bool = False


class AdaptivePoolConfig(Config):
    """`pool to HxW`: any input to this output size."""

    size: tuple[int, int]


class AdaptiveForm(SpecialForm):
    """`pool to SIZE`: the output size, nothing else."""

    def read(self, kind, command, site):
        name = called(kind, site)
        words = command.args[1:]
        if not words:
            site.report(
                "E0012",
                command.span,
                f"'{name} to' needs an output size",
                label="size missing",
                help=f"write it like: {name} to 7x7",
            )
            return None
        target, *extra = words
        if extra or not hasattr(target, "text"):
            bad = extra[0] if extra else target
            site.report(
                "E0011",
                bad.span,
                f"'{name} to SIZE' takes no options",
                label="unexpected",
                help=f"write it like: {name} to 7x7",
            )
            return None
        value = read_value(target.text, target.span, WINDOW, site, "the output size")
        if value is None:
            return None
        args = Args()
        args.values["to"] = value
        return args


ADAPTIVE = AdaptiveForm("to", "to HxW", "adaptive pooling to a fixed size")


class _Pool(LayerKind):
    """Max and average pooling, fixed window (`pool 2`) or adaptive (`pool to 7x7`)."""

    mode: ClassVar[str]
    keeps_indices: ClassVar[bool]  # max pooling: backward routes each gradient to the input it picked
    formulas = (
        "each axis: out = floor((in + 2*P - F)/S) + 1 (ceil: rounded up); the channels stay; no parameters",
    )
    positionals = (Positional("window", WINDOW, "the pooling window"),)
    options = (
        Option("stride", "s", WINDOW, "the stride", doc="step between windows (default: the window)", sample_value="2"),
        Option("padding", "p", WINDOW, "the padding", minimum=0, doc="padding on each side (default 0)", sample_value="1"),
    )
    flags = {"ceil": "round the output size up (PyTorch's ceil_mode)"}
    forms = (ADAPTIVE,)

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return f"{self.name} F [sS] [pP] [ceil] | " + " | ".join(f"{self.name} {form.syntax}" for form in self.forms)

    def configure(self, args, site, span):
        values = args.values
        if "to" in values:
            size = values["to"]
            if not minimum_ok(size.value, 1):
                site.report("E0035", size.span, f"the output size must be at least 1, but is {size.text}", label="out of range")
                return None
            return AdaptivePoolConfig(pair(size.value))
        if not range_check(self, args, site):
            return None
        window = pair(values["window"].value)
        stride = pair(values["stride"].value) if "stride" in values else window
        padding = pair(values["padding"].value) if "padding" in values else (0, 0)
        for axis in range(2):
            if padding[axis] * 2 > window[axis]:
                site.report(
                    "E0035",
                    values["padding"].span,
                    f"the padding {padding[axis]} is more than half the pooling window {window[axis]}",
                    label="too much padding",
                    notes=["PyTorch requires pooling padding to be at most half the window"],
                    help=f"use at most p{window[axis] // 2}",
                )
                return None
        return PoolConfig(window, stride, padding, "ceil" in args.flags)

    def infer(self, config, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        if isinstance(config, AdaptivePoolConfig):
            h, w = config.size
            out = MapType(h, w, shape.channels)
            return Inference(out, 0, 0, (f"adaptive: any input to {h}x{w}",)) if check_size(out, site, span) else None
        windows = [
            Window(size, config.window[a], config.stride[a], config.padding[a], 1, config.ceil)
            for a, size in enumerate((shape.height, shape.width))
        ]

        def padding_help(axis, window):
            return f"pool less: the {axis} is only {window.size} here"

        if not windows_fit("pooling", windows, shape, site, span, padding_help):
            return None
        symbolic = report_unused(called(self, site), windows, site, span, can_pad=False)
        out = MapType(windows[0].output, windows[1].output, shape.channels)
        return Inference(out, 0, 0, Lines(
            lambda: tuple(f"{axis}: {w.arithmetic()}" for axis, w in zip(AXES, windows)) + unused_lines(windows, symbolic)
        ))

    def emit(self, config, shape, inplace=False):
        if isinstance(config, AdaptivePoolConfig):
            return f"nn.Adaptive{self.mode}Pool2d({torch_pair(config.size)})"
        parts = [torch_pair(config.window), torch_pair(config.stride)]
        if config.padding != (0, 0):
            parts.append(f"padding={torch_pair(config.padding)}")
        if config.ceil:
            parts.append("ceil_mode=True")
        return f"nn.{self.mode}Pool2d({', '.join(parts)})"

    def label(self, config) -> str:
        if isinstance(config, AdaptivePoolConfig):
            return f"{self.name} to {size_text(config.size)}"
        words = [self.name, size_text(config.window)]
        if config.stride != config.window:
            words.append("s" + size_text(config.stride))
        if config.padding != (0, 0):
            words.append("p" + size_text(config.padding))
        if config.ceil:
            words.append("ceil")
        return " ".join(words)

    def window(self, config):
        if isinstance(config, AdaptivePoolConfig):
            return AdaptiveWindow(config.size[0]), AdaptiveWindow(config.size[1])
        return tuple(AxisWindow(config.window[a], config.stride[a], config.padding[a]) for a in range(2))

    def saves(self, config, input, output, flow):
        if self.keeps_indices:  # the input, and int64 indices of the output's shape
            indices = Tensor("indices (int64)", flow.batch * output.elements, INDEX_BYTES)
            return Saves(input=True, tensors=(indices,), layout=SUGGESTED)
        if isinstance(config, AdaptivePoolConfig) and config.size == (1, 1):
            return Saves(layout=MEAN)  # PyTorch takes the mean, whose backward needs only the input's size
        return Saves(input=True, layout=SUGGESTED)


class MaxPool(_Pool):
    name = "pool"
    aliases = ("maxpool",)
    mode = "Max"
    keeps_indices = True
    summary = "max pooling; the stride defaults to the window; `pool to HxW` is adaptive"
    example = "pool 2"
    examples = ("pool 2", "pool 3 s2 p1", "pool 3 s2 ceil", "maxpool 2x1", "pool to 7x7", "maxpool to 1")
    torch = "nn.MaxPool2d"
    diagram = DiagramStyle("pool", "#ffb74d", "max pooling")


class AvgPool(_Pool):
    name = "avgpool"
    mode = "Avg"
    keeps_indices = False
    summary = "average pooling (padding counts, as in PyTorch); `avgpool to HxW` is adaptive"
    example = "avgpool 2"
    examples = ("avgpool 2", "avgpool 3 s1 p1", "avgpool to 1")
    torch = "nn.AvgPool2d"
    diagram = DiagramStyle("avgpool", "#ffd54f", "average pooling")


KINDS = (MaxPool(), AvgPool())
