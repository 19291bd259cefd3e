"""Dropout: `dropout P`."""

from __future__ import annotations


from ..types.autograd import INPUT, Saves, Tensor
from ..types.layout import LIKE_INPUT
from .arguments import Positional
from .base import Config, Inference, LayerKind, decimal
from .values import DECIMAL_VALUE

ORDER = 40  # after normalisation


class DropoutConfig(Config):
    """What `dropout P` said."""

    p: float  # the probability of zeroing an element while training


class Dropout(LayerKind):
    name = "dropout"
    summary = "zero each element with probability P while training"
    syntax = "dropout P"
    example = "dropout 0.5"
    examples = ("dropout 0.5", "dropout 0.2")
    torch = "nn.Dropout"
    positionals = (Positional("p", DECIMAL_VALUE, "the dropout probability", minimum=0),)

    def configure(self, args, site, span):
        value = args.values["p"]
        if not (0 <= value.value < 1):
            site.report(
                "E0035",
                value.span,
                f"the dropout probability must satisfy 0 <= P < 1, but is {value.text}",
                label="out of range",
                help="a probability like 0.5 keeps half of the activations on average",
            )
            return None
        if value.value == 0:
            site.report("W0002", span, f"{self.name} 0 does nothing", label="no-op", help="remove it, or use a probability like 0.5")
        return DropoutConfig(float(value.value))

    def infer(self, config, shape, site, span):
        return Inference(shape)

    def emit(self, config: DropoutConfig, shape, inplace=False):
        return f"nn.Dropout({decimal(config.p)})"

    def label(self, config: DropoutConfig) -> str:
        return f"dropout {config.p:g}"

    def saves(self, config: DropoutConfig, input, output, flow):
        if config.p == 0:
            return Saves(result=INPUT)  # F.dropout returns its input
        # The mask, scaled by 1/(1 - p), in the data type (not bool, on CPU).
        # `input * mask`, the mask made by empty_like(input).
        return Saves(tensors=(Tensor("mask", flow.batch * input.elements),), operands=(LIKE_INPUT,))


KINDS = (Dropout(),)
