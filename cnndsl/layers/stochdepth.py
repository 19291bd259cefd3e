"""Stochastic depth: `stochdepth P [row | batch]` (also `droppath`), at the end of a residual body.

torchvision.ops.StochasticDepth's semantics, in a class of the generated
module (the product never imports torchvision): while training, the input of
each sample (`row`, the default) or of the whole batch (`batch`) is zeroed
with probability P and otherwise scaled by 1/(1-P); in eval mode, and when
P is 0, it is the identity. The random draws are torchvision's, one
`bernoulli_` on a tensor of the same shape, so a seeded run gives its result.
"""

from __future__ import annotations


from ..types.autograd import INPUT, Saves, Tensor
from ..types.layout import Operand
from .arguments import Positional, called
from .base import Config, HelperClass, Inference, LayerKind, decimal
from .values import DECIMAL_VALUE

ORDER = 45  # after dropout

MODES = {
    "row": "zero each sample's input on its own (the default; torchvision's models use it)",
    "batch": "zero the whole batch's input at once",
}
DEFAULT_MODE = "row"

STOCHASTIC_DEPTH = HelperClass(
    "StochasticDepth",
    '''
class StochasticDepth(nn.Module):
    """While training, zeroes the input of each sample ("row") or of the whole
    batch ("batch") with probability p and scales the rest by 1 / (1 - p);
    the identity in eval mode (torchvision.ops.StochasticDepth)."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        if self.mode == "row":
            size = [x.shape[0]] + [1] * (x.ndim - 1)
        else:
            size = [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(keep)
        if keep > 0.0:
            noise.div_(keep)
        return x * noise
'''.strip(),
)
HELPERS = (STOCHASTIC_DEPTH,)


class StochasticDepthConfig(Config):
    """What `stochdepth P [row|batch]` said."""

    p: float  # the probability of dropping the input while training
    mode: str = DEFAULT_MODE


class StochasticDepth(LayerKind):
    name = "stochdepth"
    aliases = ("droppath",)
    summary = "while training, drop the whole input of a sample (row) or batch with probability P; ends a residual body"
    syntax = "stochdepth P [row | batch]"
    example = "stochdepth 0.1"
    examples = ("residual { stochdepth 0.1 }", "residual { droppath 0.2 batch }")  # a residual body of one statement
    torch = "StochasticDepth"  # generated in the module, as torchvision.ops.StochasticDepth
    positionals = (Positional("p", DECIMAL_VALUE, "the drop probability", minimum=0),)
    flags = MODES
    checks_placement = True

    def configure(self, args, site, span):
        value = args.values["p"]
        modes = [flag for flag in args.flags if flag in MODES]
        if len(modes) > 1:
            site.report(
                "E0014",
                args.flags[modes[1]],
                f"the mode is given twice: '{modes[0]}' and '{modes[1]}'",
                label="second mode",
                related=[(args.flags[modes[0]], "first given here")],
                help="keep one: row drops each sample's input on its own, batch the whole batch's",
            )
            return None
        if not 0 <= value.value < 1:
            site.report(
                "E0035",
                value.span,
                f"the drop probability must satisfy 0 <= P < 1, but is {value.text}",
                label="out of range",
                notes=[value.origin] if value.origin else [],
                help="a probability like 0.1 drops the body for one sample in ten while training",
            )
            return None
        if value.value == 0:
            site.report("W0002", span, f"{called(self, site)} 0 does nothing", label="no-op", help="remove it, or use a probability like 0.1")
        return StochasticDepthConfig(float(value.value), modes[0] if modes else DEFAULT_MODE)

    def infer(self, config, shape, site, span):
        return Inference(shape)

    def check_placement(self, config, at_residual_end, site, span):
        if at_residual_end:
            return
        site.report(
            "W0006",
            span,
            f"{called(self, site)} drops the whole map, not only a residual body",
            label="not at the end of a residual body",
            notes=[
                "while training it zeroes a sample's entire input with probability "
                f"{config.p:g}; everything after it then sees zeros",
                "at the end of a residual body it drops only the body: the shortcut still carries the input on",
            ],
            help="make it the last statement of a residual { } body",
        )

    def emit(self, config: StochasticDepthConfig, shape, inplace=False):
        return f'StochasticDepth({decimal(config.p)}, "{config.mode}")'

    def helpers(self, config, shape):
        return HELPERS

    def saves(self, config: StochasticDepthConfig, input, output, flow):
        if config.p == 0:
            return Saves(result=INPUT)  # the identity
        # `x * noise`: the noise, one value per sample (row) or one for the batch.
        elements = flow.batch if config.mode == "row" else 1
        noise = Operand((elements,) + (1,) * len(input.torch_shape))
        return Saves(tensors=(Tensor("noise", elements),), operands=(noise,))

    def label(self, config: StochasticDepthConfig) -> str:
        return f"{self.name} {config.p:g}" + ("" if config.mode == DEFAULT_MODE else f" {config.mode}")


KINDS = (StochasticDepth(),)
