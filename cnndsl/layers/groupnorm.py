"""Group normalisation: `groupnorm G` (nn.GroupNorm): channels in G groups, statistics per sample."""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.layout import SUGGESTED, is_channels_last_contiguous, is_contiguous, suggests_channels_last
from .arguments import Positional, called, range_check
from .base import Config, Inference, LayerKind
from .values import COUNT

ORDER = 32  # after batchnorm


class GroupNormConfig(Config):
    """What `groupnorm G` said."""

    groups: int


class GroupNorm(LayerKind):
    name = "groupnorm"
    aliases = ("gn",)
    summary = "normalise each sample over groups of G channels; independent of the batch size"
    syntax = "groupnorm G"
    example = "groupnorm 4"
    examples = ("conv 16 k3; groupnorm 4", "gn 1", "groupnorm 3")
    torch = "nn.GroupNorm"
    formulas = ("G divides C; params = 2*C (a scale and a shift per channel, PyTorch's affine default)",)
    positionals = (Positional("groups", COUNT, "the group count"),)
    inplace_after = True

    def configure(self, args, site, span):
        return GroupNormConfig(args.values["groups"].value) if range_check(self, args, site) else None

    def infer(self, config: GroupNormConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        channels, groups = shape.channels, config.groups
        if channels % groups:
            divisors = [d for d in range(1, channels + 1) if channels % d == 0] if channels <= 1 << 16 else [1, channels]
            nearest = min(divisors, key=lambda d: (abs(d - groups), -d))
            site.report(
                "E0033",
                span,
                f"{groups} groups do not divide the {channels} channels",
                label=f"{called(self, site)} {groups}",
                notes=[f"each group normalises {channels}/{groups} channels: the count must be a whole number"],
                help=f"use {called(self, site)} {nearest}, the nearest group count that divides {channels}",
            )
            return None
        return Inference(shape, 2 * channels, 0, (f"groups: {channels}/{groups} = {channels // groups} channels each",
                                                  f"params: 2*{channels} = {2 * channels:,} (weight and bias)"))

    def emit(self, config: GroupNormConfig, shape, inplace=False):
        return f"nn.GroupNorm({config.groups}, {shape.channels})"

    def parameter_tensors(self, config, shape):
        return (Tensor("weight", shape.channels), Tensor("bias", shape.channels))

    def saves(self, config: GroupNormConfig, input, output, flow):
        # PyTorch's group_norm runs on input.contiguous(suggested format) and saves that (a copy when the
        # input is not already so, e.g. a split's part), and a mean and a reciprocal standard deviation per
        # sample and group.
        statistics = Tensor("mean and rstd", 2 * flow.batch * config.groups)
        sizes = flow.sizes(input)
        if suggests_channels_last(sizes, flow.strides):
            in_format = is_channels_last_contiguous(sizes, flow.strides)
        else:
            in_format = is_contiguous(sizes, flow.strides)
        if in_format:
            return Saves(input=True, tensors=(statistics,), layout=SUGGESTED)
        copy = Tensor("the input made contiguous", flow.batch * input.elements)
        return Saves(tensors=(copy, statistics), layout=SUGGESTED)

    def label(self, config: GroupNormConfig) -> str:
        return f"{self.name} {config.groups}"


KINDS = (GroupNorm(),)
