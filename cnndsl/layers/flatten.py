"""Flatten: `flatten`, a feature map to a vector."""

from __future__ import annotations

from ..types.autograd import INPUT, Saves
from ..types.layout import flattens_to_view
from ..types.shapes import VectorType, describe
from ..types.symbolic import Axis
from .base import DiagramStyle, Inference, LayerKind

ORDER = 50  # after dropout


class Flatten(LayerKind):
    name = "flatten"
    summary = "turn an HxWxC feature map into a vector of H*W*C features"
    syntax = "flatten"
    example = "flatten"
    torch = "nn.Flatten"
    formulas = ("features = H*W*C",)
    diagram = DiagramStyle("flatten", "#81c784", "flatten")

    def infer(self, config, shape, site, span):
        if isinstance(shape, VectorType):
            site.report("W0002", span, f"flatten of the {describe(shape)} does nothing", label="already flat", help="remove this flatten")
            return Inference(shape)
        if shape.symbolic:
            symbols = sorted({s.symbol for s in (shape.height, shape.width) if isinstance(s, Axis)})
            site.report(
                "E0072",
                span,
                f"flatten of the {describe(shape)} gives {shape.area_text} features, which depends on the input size",
                label="size not fixed",
                notes=[f"a linear layer after it would need a different weight matrix for every {' and '.join(symbols)}"],
                help="add avgpool to 1x1 before flatten, or fix the input size",
            )
            return None
        out = VectorType(shape.elements)
        return Inference(out, 0, 0, (f"features: {shape.area_text} = {out.features:,}",))

    def emit(self, config, shape, inplace=False):
        return "nn.Flatten()"

    def saves(self, config, input, output, flow):
        # A view of the input, unless its strides do not allow one (channels-last
        # memory with several channels and positions): then reshape copies, and
        # the copy saves nothing.
        if isinstance(input, VectorType) or flattens_to_view(flow.sizes(input), flow.strides):
            return Saves(result=INPUT)
        return Saves()


KINDS = (Flatten(),)
