"""Normalisation: `batchnorm` (`bn`), over channels (map) or features (vector)."""

from __future__ import annotations

from ..types.autograd import INDEX_BYTES, Saves, Tensor
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
        width = _width(shape)
        return Inference(shape, 2 * width, 0, (f"params: 2*{width} = {2 * width:,} (weight and bias)",))

    def emit(self, config, shape, inplace=False):
        if isinstance(shape, MapType):
            return f"nn.BatchNorm2d({shape.channels})"
        return f"nn.BatchNorm1d({shape.features})"

    def label(self, config) -> str:
        return "bn"

    def parameter_tensors(self, config, shape):
        width = _width(shape)
        return (Tensor("weight", width), Tensor("bias", width))

    def buffer_tensors(self, config, shape):
        width = _width(shape)
        return (Tensor("running_mean", width), Tensor("running_var", width), Tensor("num_batches_tracked", 1, INDEX_BYTES))

    def saves(self, config, input, output, flow):
        # Train mode: the input, and the batch's mean and inverse standard
        # deviation per channel (in the data type on CPU), not the output.
        return Saves(input=True, tensors=(Tensor("save_mean and save_invstd", 2 * _width(input)),))


def _width(shape) -> int:
    """The normalised channels of a map, or features of a vector."""
    return shape.channels if isinstance(shape, MapType) else shape.features


KINDS = (BatchNorm(),)
