"""Layer scale: `layerscale INIT`, a learnable scale per channel (ConvNeXt), initialised to INIT."""

from __future__ import annotations

import math

from ..types.autograd import Saves, Tensor
from ..types.layout import Operand
from .arguments import Positional
from .base import Config, HelperClass, Inference, LayerKind, decimal
from .values import DECIMAL_VALUE

ORDER = 34  # after the normalisations

# PyTorch has no module for it: a parameter of shape (C, 1, 1), broadcast over the positions.
LAYER_SCALE = HelperClass(
    "LayerScale",
    '''
class LayerScale(nn.Module):
    """Multiplies each channel of an (N, C, H, W) map by a learnable scale, initialised to `init`."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels, 1, 1), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
'''.strip(),
)
HELPERS = (LAYER_SCALE,)


class LayerScaleConfig(Config):
    """What `layerscale INIT` said."""

    init: float  # every channel's scale before training


class LayerScale(LayerKind):
    name = "layerscale"
    summary = "multiply each channel by a learnable scale, initialised to INIT (ConvNeXt: 1e-6)"
    syntax = "layerscale INIT"
    example = "layerscale 1e-6"
    examples = ("layerscale 1e-6", "layerscale 0.1")
    torch = "LayerScale"  # generated in the module: PyTorch has no such layer
    formulas = ("params = C (one scale per channel, shape (C, 1, 1))",)
    positionals = (Positional("init", DECIMAL_VALUE, "the initial scale", minimum=-math.inf),)

    def configure(self, args, site, span):
        return LayerScaleConfig(float(args.values["init"].value))

    def infer(self, config, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        return Inference(shape, shape.channels, 0, (f"params: {shape.channels} (one scale per channel)",))

    def emit(self, config: LayerScaleConfig, shape, inplace=False):
        return f"LayerScale({shape.channels}, {decimal(config.init)})"

    def helpers(self, config, shape):
        return HELPERS

    def label(self, config: LayerScaleConfig) -> str:
        return f"{self.name} {decimal(config.init)}"

    def parameter_tensors(self, config, shape):
        return (Tensor("scale", shape.channels),)  # not `weight`: torchinfo's mult-adds count it 0

    def saves(self, config, input, output, flow):
        # `x * scale`: x, for the scale's gradient; laid out as that product is.
        return Saves(input=True, operands=(Operand((input.channels, 1, 1)),))


KINDS = (LayerScale(),)
