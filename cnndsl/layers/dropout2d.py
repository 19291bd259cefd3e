"""Spatial dropout: `dropout2d P` (nn.Dropout2d): whole channels zeroed while training."""

from __future__ import annotations

from .arguments import Positional
from .base import Inference, LayerKind, decimal
from .dropout import Dropout, DropoutConfig
from .values import DECIMAL_VALUE

ORDER = 42  # after dropout


class Dropout2d(LayerKind):
    name = "dropout2d"
    summary = "zero each whole channel of a map with probability P while training (spatial dropout)"
    syntax = "dropout2d P"
    example = "dropout2d 0.2"
    examples = ("dropout2d 0.2", "dropout2d 0.5")
    torch = "nn.Dropout2d"
    positionals = (Positional("p", DECIMAL_VALUE, "the dropout probability", minimum=0),)

    def configure(self, args, site, span):
        return Dropout.configure(self, args, site, span)  # the same range rule and W0002 as dropout

    def infer(self, config: DropoutConfig, shape, site, span):
        return Inference(shape) if self.needs_map(shape, site, span) else None

    def emit(self, config: DropoutConfig, shape, inplace=False):
        return f"nn.Dropout2d({decimal(config.p)})"

    def label(self, config: DropoutConfig) -> str:
        return f"{self.name} {config.p:g}"


KINDS = (Dropout2d(),)
