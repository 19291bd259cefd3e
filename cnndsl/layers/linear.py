"""Fully connected: `linear N [nobias] [ACT]` (also `fc`, `dense`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..types.autograd import SAVES_INPUT, Tensor
from ..types.fields import WHOLE
from ..types.shapes import VectorType
from .arguments import Positional, range_check
from .base import Config, DiagramStyle, Inference, LayerKind
from .values import COUNT

ORDER = 60  # after flatten


@dataclass(frozen=True, slots=True)
class LinearConfig(Config):
    features: int  # the output features
    bias: bool = True


class Linear(LayerKind):
    name = "linear"
    aliases = ("fc", "dense")
    summary = "fully connected layer with N outputs; needs a vector"
    syntax = "linear N [nobias] [ACT]"
    example = "linear 10"
    examples = ("flatten; linear 10", "flatten; fc 128 relu", "flatten; dense 10 nobias", "flatten; linear 10 logsoftmax")
    torch = "nn.Linear"
    formulas = ("params = N_in*N_out + N_out (a weight per input and output, plus one bias per output)", "MACs = N_in*N_out")
    positionals = (Positional("features", COUNT, "the number of output features"),)
    flags = {"nobias": "no bias term"}
    takes_activation = True
    diagram = DiagramStyle("linear", "#ba68c8", "linear")
    inplace_after = True

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        return LinearConfig(args.values["features"].value, "nobias" not in args.flags)

    def infer(self, config: LinearConfig, shape, site, span):
        if not self.needs_vector(shape, site, span):
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

    def emit(self, config: LinearConfig, shape, inplace=False):
        bias = "" if config.bias else ", bias=False"
        return f"nn.Linear({shape.features}, {config.features}{bias})"

    def label(self, config: LinearConfig) -> str:
        return f"linear {config.features}"

    def window(self, config):
        return WHOLE, WHOLE  # every output feature reads every input feature: the whole map before flatten

    def parameter_tensors(self, config: LinearConfig, shape):
        weight = Tensor("weight", shape.features * config.features)
        return (weight, Tensor("bias", config.features)) if config.bias else (weight,)

    def saves(self, config, input, output, flow):
        return SAVES_INPUT  # for the weight's gradient (the weight itself is a parameter)


KINDS = (Linear(),)
