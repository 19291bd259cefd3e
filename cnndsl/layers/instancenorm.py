"""Instance normalisation: `instancenorm [affine]` (nn.InstanceNorm2d): each channel of each sample alone."""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.layout import CONTIGUOUS, is_contiguous
from ..types.shapes import describe
from .arguments import called
from .base import Config, Inference, LayerKind

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
    formulas = ("params = 0, or 2*C with `affine` (PyTorch's default is affine=False, no running statistics)",)
    flags = {"affine": "a learnable scale and shift per channel"}
    inplace_after = True

    def configure(self, args, site, span):
        return InstanceNormConfig("affine" in args.flags)

    def infer(self, config: InstanceNormConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        if shape.height == 1 and shape.width == 1:  # both fixed at 1 (a symbolic size is not compared)
            site.report(
                "E0085",
                span,
                f"{called(self, site)} needs more than one position, but its input is the {describe(shape)}",
                label="one value per channel",
                notes=["PyTorch's InstanceNorm2d normalises each channel over its positions, in eval mode too: "
                       "on a 1x1 map it raises 'Expected more than 1 spatial element'"],
                help="normalise before the map shrinks to 1x1, or use layernorm (over the channels) or batchnorm",
            )
            return None
        if not config.affine:
            return Inference(shape, 0, 0, ("params: 0 (not affine)",))
        return Inference(shape, 2 * shape.channels, 0, (f"params: 2*{shape.channels} = {2 * shape.channels:,} (weight and bias)",))

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
