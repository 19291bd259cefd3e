"""Normalisation: `batchnorm` (`bn`), over channels (map) or features (vector)."""

from __future__ import annotations

from ..types.shapes import MapType
from .base import Inference, LayerKind

ORDER = 30  # after pooling


class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn",)
    summary = "batch normalisation over channels (map) or features (vector)"
    syntax = "batchnorm"
    example = "batchnorm"
    examples = ("batchnorm", "bn", "flatten; bn")
    torch = "nn.BatchNorm2d"
    formulas = ("params = 2*C (a scale and a shift per channel; the running statistics are buffers)",)
    inplace_after = True

    def infer(self, config, shape, site, span):
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return Inference(shape, 2 * width, 0, (f"params: 2*{width} = {2 * width:,} (weight and bias)",))

    def emit(self, config, shape, inplace=False):
        if isinstance(shape, MapType):
            return f"nn.BatchNorm2d({shape.channels})"
        return f"nn.BatchNorm1d({shape.features})"

    def label(self, config) -> str:
        return "bn"


KINDS = (BatchNorm(),)
