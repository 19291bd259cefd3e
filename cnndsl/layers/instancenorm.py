"""Instance normalisation: `instancenorm [affine]` (nn.InstanceNorm2d): each channel of each sample alone."""

from __future__ import annotations

from ..types.autograd import Saves, Tensor
from ..types.layout import CONTIGUOUS, is_contiguous
from ..types.shapes import describe
from ..types.symbolic import Axis
from .arguments import called
from .base import Config, Inference, LayerKind
from .growth import raise_bound, smallest_admissible

ORDER = 34  # after groupnorm


class InstanceNormConfig(Config):
    """What `instancenorm [affine]` said."""

    affine: bool = False  # PyTorch's default: no learnable scale and shift


class InstanceNorm(LayerKind):
    name = "instancenorm"
    summary = "normalise each channel of each sample over its positions (style transfer, GAN generators)"
    syntax = "instancenorm [affine]"
    example = "instancenorm"
    examples = ("instancenorm", "instancenorm affine")
    torch = "nn.InstanceNorm2d"
    formulas = (
        "params = 0, or 2*C with `affine` (PyTorch's default is affine=False, no running statistics)",
        "the map needs two positions or more (PyTorch refuses 1x1: E0085); computed bounds of symbolic sizes are raised to give two",
    )
    flags = {"affine": "a learnable scale and shift per channel"}
    inplace_after = True

    def configure(self, args, site, span):
        return InstanceNormConfig("affine" in args.flags)

    def infer(self, config: InstanceNormConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        if not self.has_two_positions(shape, site, span):
            return None
        if not config.affine:
            return Inference(shape, 0, 0, ("params: 0 (not affine)",))
        return Inference(shape, 2 * shape.channels, 0, (f"params: 2*{shape.channels} = {2 * shape.channels:,} (weight and bias)",))

    def has_two_positions(self, shape, site, span) -> bool:
        """E0085 unless the map has two positions or more at every admissible size (decided at the bounds).

        For one symbol, the smallest size that gives two positions is what
        the bound must be: a computed bound is raised to it (silently: that
        is how the checker finds the smallest sizes), a written one is an
        error naming the largest size that fails. With two symbols (`HxW`
        shrunk to 1x1 at the bounds) either may grow: a computed bound is
        raised (both, when both are: the sizes every layer accepts are then
        no box, and the square one is chosen); two written bounds are an
        error that asks for either.
        """
        sizes = (shape.height, shape.width)
        if max(size.at(site.size_bound(size.symbol)) if isinstance(size, Axis) else size for size in sizes) >= 2:
            return True  # sizes only grow with the symbols
        found: dict[str, list[int]] = {}  # per symbol, the sizes at which one of its axes reaches 2
        for size in sizes:
            if isinstance(size, Axis):
                needed = smallest_admissible(size, site, at_least=2)
                candidates = found.setdefault(size.symbol, [])
                if needed is not None:
                    candidates.append(needed)
        needs = {symbol: min(candidates, default=None) for symbol, candidates in found.items()}
        name = called(self, site)
        note = ("PyTorch's InstanceNorm2d normalises each channel over its positions, in eval mode too: "
                "on a 1x1 map it raises 'Expected more than 1 spatial element'")
        fix = "normalise before the map shrinks to 1x1, or use layernorm (over the channels) or batchnorm"
        if not needs or None in needs.values():
            where = "" if not needs else f" for every {' and '.join(needs)} up to 2**31"
            site.report("E0085", span, f"{name} needs more than one position, but its input is the {describe(shape)}{where}",
                        label="one value per channel", notes=[note], help=fix)
            return False
        if len(needs) == 2:
            computed = [symbol for symbol in needs if site.written_bound(symbol) is None]
            for symbol in computed:  # both when both are computed: the box stays square, if not the largest
                site.raise_bound(symbol, needs[symbol])
            if computed:
                return True
            at = ", ".join(f"{symbol} = {site.size_bound(symbol)}" for symbol in needs)
            either = " or ".join(f"{symbol} >= {needed}" for symbol, needed in needs.items())
            site.report(
                "E0085",
                span,
                f"{name} needs more than one position, but for {at} its input is 1x1",
                label=f"one value per channel for {at}",
                notes=[note, f"its input is the {describe(shape)}"],
                help=f"require {either} on the input line, or {fix}",
            )
            return False
        ((symbol, needed),) = needs.items()
        raised = raise_bound(site, symbol, needed)
        if raised is not None:
            last = raised.last
            site.report(
                "E0085",
                span,
                f"{name} needs more than one position, but for {symbol} = {last} its input is 1x1",
                label=f"one value per channel for {symbol} = {last}",
                notes=[note, f"its input, the {describe(shape)}, is 1x1 for {symbol} "
                       + (f"= {last}" if raised.stated == last else f"from {raised.stated} to {last}")
                       + f", larger from {symbol} = {needed} on"],
                related=[raised.related],
                help=f"{raised.require}, or {fix}",
            )
        return True

    def emit(self, config: InstanceNormConfig, shape, inplace=False):
        return f"nn.InstanceNorm2d({shape.channels}" + (", affine=True)" if config.affine else ")")

    def parameter_tensors(self, config: InstanceNormConfig, shape):
        return (Tensor("weight", shape.channels), Tensor("bias", shape.channels)) if config.affine else ()

    def saves(self, config: InstanceNormConfig, input, output, flow):
        # PyTorch runs batch norm on input.contiguous().view(1, N*C, H, W): it saves that (a copy when the
        # input is not contiguous), a mean and an inverse standard deviation per sample and channel, and
        # with `affine` the weight repeated per sample. The result is viewed back: contiguous.
        rows = flow.batch * input.channels
        tensors = [Tensor("mean and invstd per sample and channel", 2 * rows)]
        if config.affine:
            tensors.append(Tensor("the weight repeated per sample", rows))
        if is_contiguous(flow.sizes(input), flow.strides):
            return Saves(input=True, tensors=tuple(tensors), layout=CONTIGUOUS)
        copy = Tensor("the input made contiguous", flow.batch * input.elements)
        return Saves(tensors=(copy, *tensors), layout=CONTIGUOUS)

    def label(self, config: InstanceNormConfig) -> str:
        return self.name + (" affine" if config.affine else "")


KINDS = (InstanceNorm(),)
