"""Fully connected: `linear N [pixelwise] [nobias] [ACT]` (also `fc`, `dense`).

On a vector, `nn.Linear`. With `pixelwise`, on a map: the same `nn.Linear`
applied to the C channels at every position (ConvNeXt's pointwise layers),
its weight N x C as nn.Linear's, not a 1x1 convolution's N x C x 1 x 1.
"""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.fields import WHOLE
from ..types.layout import CHANNELS_LAST, MADE_CONTIGUOUS, rows_fold_to_view
from ..types.shapes import MapType, VectorType
from ..types.symbolic import count, factor_text
from .arguments import Positional, called, range_check
from .base import Config, DiagramStyle, HelperClass, Inference, LayerKind, check_size
from .values import COUNT

ORDER = 60  # after flatten

# nn.Linear works on the last dimension: the map goes channels-last and back,
# and stays a channels-last view, as torchvision's permutes leave it (a conv
# after it then computes as torchvision's does). Before an activation the
# output is copied into the default layout instead: GELU's CPU kernel rounds
# differently on a channels-last view than on contiguous memory, and
# torchvision applies it to contiguous channels-last tensors.
PIXELWISE_LINEAR = HelperClass(
    "PixelwiseLinear",
    '''
class PixelwiseLinear(nn.Linear):
    """nn.Linear applied to the channels at every position of an (N, C, H, W) map.

    The output is a view of channels-last memory; with `contiguous=True` (an
    activation follows) it is copied into PyTorch's default layout, where an
    activation computes exactly as on a channels-last (N, H, W, C) tensor.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, contiguous: bool = False) -> None:
        super().__init__(in_features, out_features, bias)
        self.contiguous = contiguous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return out.contiguous() if self.contiguous else out
'''.strip(),
)
HELPERS = (PIXELWISE_LINEAR,)


class LinearConfig(Config):
    """What a `linear` statement said."""

    features: int  # the output features
    bias: bool = True
    pixelwise: bool = False  # on a map: applied to the channels at every position
    # pixelwise, with an activation on the same line: the output in the default layout (see PIXELWISE_LINEAR)
    activated: bool = False


class Linear(LayerKind):
    name = "linear"
    aliases = ("fc", "dense")
    summary = "fully connected layer with N outputs; needs a vector, or with `pixelwise` a map (applied at every position)"
    syntax = "linear N [pixelwise] [nobias] [ACT]"
    example = "linear 10"
    examples = (
        "flatten; linear 10",
        "flatten; fc 128 relu",
        "flatten; dense 10 nobias",
        "flatten; linear 10 logsoftmax",
        "linear 12 pixelwise",
        "linear 12 pixelwise gelu",
    )
    torch = "nn.Linear"
    formulas = (
        "params = N_in*N_out + N_out (a weight per input and output, plus one bias per output)",
        "MACs = N_in*N_out",
        "pixelwise, on a HxWxC map: output HxWxN_out, params = C*N_out + N_out, MACs = H*W*C*N_out",
    )
    positionals = (Positional("features", COUNT, "the number of output features"),)
    flags = {
        "nobias": "no bias term",
        "pixelwise": "on a map: the same layer applied to the channels at every position (weight N x C)",
    }
    takes_activation = True
    diagram = DiagramStyle("linear", "#ba68c8", "linear")
    inplace_after = True

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        pixelwise = "pixelwise" in args.flags
        activated = pixelwise and args.activation is not None
        return LinearConfig(args.values["features"].value, "nobias" not in args.flags, pixelwise, activated)

    def infer(self, config: LinearConfig, shape, site, span):
        if config.pixelwise:
            return self._pixelwise(config, shape, site, span)
        name = called(self, site)
        if not self.needs_vector(shape, site, span, f"write `{name} {config.features} pixelwise` to apply it to the channels at every position"):
            return None
        n_in, n_out = shape.features, config.features
        params = n_in * n_out + (n_out if config.bias else 0)
        macs = n_in * n_out
        return Inference(
            VectorType(n_out),
            params,
            macs,
            (
                f"params: {n_in}*{n_out}" + (f" + {n_out}" if config.bias else "") + f" = {params:,}",
                f"MACs: {n_in}*{n_out} = {macs:,}",
            ),
        )

    def _pixelwise(self, config: LinearConfig, shape, site, span):
        name = called(self, site)
        if not self.needs_map(shape, site, span, f"remove `pixelwise`: on a vector, {name} already takes every feature"):
            return None
        n_in, n_out = shape.channels, config.features
        out = MapType(shape.height, shape.width, n_out)
        if not check_size(out, site, span):
            return None
        params = n_in * n_out + (n_out if config.bias else 0)
        macs = count(n_in * n_out, shape.height, shape.width)
        return Inference(
            out,
            params,
            macs,
            (
                f"params: {n_in}*{n_out}" + (f" + {n_out}" if config.bias else "") + f" = {params:,}",
                f"MACs: {factor_text(shape.height)}*{factor_text(shape.width)}*{n_in}*{n_out} = {macs:,}",
            ),
        )

    def emit(self, config: LinearConfig, shape, inplace=False):
        bias = "" if config.bias else ", bias=False"
        if config.pixelwise:
            layout = ", contiguous=True" if config.activated else ""
            return f"PixelwiseLinear({shape.channels}, {config.features}{bias}{layout})"
        return f"nn.Linear({shape.features}, {config.features}{bias})"

    def helpers(self, config: LinearConfig, shape):
        return HELPERS if config.pixelwise else ()

    def label(self, config: LinearConfig) -> str:
        return f"linear {config.features}" + (" pixelwise" if config.pixelwise else "")

    def window(self, config: LinearConfig):
        if config.pixelwise:
            return None  # each position on its own
        return WHOLE, WHOLE  # every output feature reads every input feature: the whole map before flatten

    def parameter_tensors(self, config: LinearConfig, shape):
        features = shape.channels if config.pixelwise else shape.features
        weight = Tensor("weight", features * config.features)
        return (weight, Tensor("bias", config.features)) if config.bias else (weight,)

    def saves(self, config: LinearConfig, input, output, flow):
        if not config.pixelwise:
            return Saves(input=True)  # for the weight's gradient (the weight itself is a parameter)
        # nn.Linear saves its input as the (N*H*W, C) matrix it multiplies:
        # `x.permute(0, 2, 3, 1).reshape(-1, C)` is a view when the strides
        # allow (channels-last memory, or N, C or H*W of 1), a copy otherwise.
        # Its output is channels-last, or made contiguous before an activation
        # (a copy, which saves nothing).
        layout = MADE_CONTIGUOUS if config.activated else CHANNELS_LAST
        if rows_fold_to_view(flow.sizes(input), flow.strides):
            return Saves(input=True, layout=layout)
        copy = Tensor("the input copied to (N*H*W, C)", flow.batch * input.elements)
        return Saves(tensors=(copy,), layout=layout)


KINDS = (Linear(),)
