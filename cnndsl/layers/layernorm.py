"""Layer normalisation: `layernorm [eps=E]`, over the channels at every position (map) or over the features (vector)."""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.layout import CHANNELS_LAST
from ..types.shapes import MapType
from .arguments import Option
from .base import Config, HelperClass, Inference, LayerKind, decimal
from .normalization import positive_eps
from .values import DECIMAL_VALUE

ORDER = 32  # after batchnorm

DEFAULT_EPS = 1e-5  # PyTorch's

# ConvNeXt's LayerNorm2d: each position's C values normalised together, with a
# weight and a bias per channel. nn.LayerNorm normalises the last dimension, so
# the map goes channels-last and back; the forward is nn.LayerNorm's own.
LAYER_NORM_2D = HelperClass(
    "LayerNorm2d",
    '''
class LayerNorm2d(nn.LayerNorm):
    """nn.LayerNorm over the channels at every position of an (N, C, H, W) map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
'''.strip(),
)
HELPERS = (LAYER_NORM_2D,)


class LayerNormConfig(Config):
    """What `layernorm [eps=E]` said."""

    eps: float = DEFAULT_EPS  # added to the variance before its square root


class LayerNorm(LayerKind):
    name = "layernorm"
    summary = "layer normalisation over the channels at every position (map) or over the features (vector)"
    syntax = "layernorm [eps=E]"
    example = "layernorm"
    examples = ("layernorm", "layernorm eps=1e-6", "flatten; layernorm")
    torch = "nn.LayerNorm"
    formulas = ("params = 2*C (a scale and a shift per channel, shared by every position)",)
    options = (
        Option("eps", "", DECIMAL_VALUE, "the epsilon", minimum=0, sample_value="1e-6",
               doc="added to the variance before its square root; greater than 0 (default 1e-5)"),
    )

    def configure(self, args, site, span):
        eps = args.values.get("eps")
        if eps is None:
            return LayerNormConfig()
        return LayerNormConfig(float(eps.value)) if positive_eps(eps, site) else None

    def infer(self, config, shape, site, span):
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return Inference(shape, 2 * width, 0, (f"params: 2*{width} = {2 * width:,} (weight and bias)",))

    def emit(self, config: LayerNormConfig, shape, inplace=False):
        module, width = ("LayerNorm2d", shape.channels) if isinstance(shape, MapType) else ("nn.LayerNorm", shape.features)
        eps = "" if config.eps == DEFAULT_EPS else f", eps={decimal(config.eps)}"
        return f"{module}({width}{eps})"

    def helpers(self, config, shape):
        return HELPERS if isinstance(shape, MapType) else ()

    def label(self, config: LayerNormConfig) -> str:
        return self.name if config.eps == DEFAULT_EPS else f"{self.name} eps={decimal(config.eps)}"

    def parameter_tensors(self, config, shape):
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return (Tensor("weight", width), Tensor("bias", width))

    def saves(self, config, input, output, flow):
        # Its input (on a map, the channels-last view of it: the input's storage) and a mean and a
        # reciprocal standard deviation per normalised row: one per sample, or per position of a map.
        # A map comes back as a view of channels-last memory.
        if isinstance(input, MapType):
            rows = flow.batch * input.height * input.width
            return Saves(input=True, tensors=(Tensor("mean and rstd", 2 * rows),), layout=CHANNELS_LAST)
        return Saves(input=True, tensors=(Tensor("mean and rstd", 2 * flow.batch),))


KINDS = (LayerNorm(),)
