"""Channel shuffle: `shuffle G` (ShuffleNet), nn.ChannelShuffle(G)."""

from __future__ import annotations

import math

from ..types.autograd import Saves
from ..types.layout import SUGGESTED
from .arguments import Positional, range_check
from .base import Config, Inference, LayerKind
from .values import COUNT

ORDER = 25  # after pooling


class ShuffleConfig(Config):
    """What `shuffle G` said."""

    groups: int


def nearest_divisor(channels: int, groups: int) -> int:
    """The divisor of `channels` closest to `groups` (the larger on a tie)."""
    # Divisors in pairs up to the square root: counts can be near 2**31.
    small = [d for d in range(1, math.isqrt(channels) + 1) if channels % d == 0]
    return min(small + [channels // d for d in small], key=lambda d: (abs(d - groups), -d))


class Shuffle(LayerKind):
    name = "shuffle"
    summary = "channel shuffle: split the channels into G groups and interleave them (ShuffleNet)"
    syntax = "shuffle G"
    example = "shuffle 3"
    examples = ("shuffle 3", "conv 8 k1; shuffle 2")
    torch = "nn.ChannelShuffle"
    formulas = ("input channel g*(C/G) + i becomes output channel i*G + g (G groups of C/G channels); no parameters",)
    positionals = (Positional("groups", COUNT, "the number of groups"),)

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        groups = args.values["groups"].value
        if groups == 1:
            site.report("W0002", span, "shuffle 1 does nothing", label="no-op", help="remove it, or shuffle 2 or more groups")
        return ShuffleConfig(groups)

    def infer(self, config: ShuffleConfig, shape, site, span):
        if not self.needs_map(shape, site, span):
            return None
        channels, groups = shape.channels, config.groups
        if channels % groups:
            site.report(
                "E0033",
                span,
                f"{groups} groups do not divide the {channels} channels",
                label=f"{groups} groups",
                notes=["a shuffle splits the channels into equal groups"],
                help=f"use shuffle {nearest_divisor(channels, groups)}, the nearest group count that divides {channels}",
            )
            return None
        return Inference(shape, 0, 0, (f"channels: {groups} groups of {channels // groups}, interleaved",))

    def emit(self, config: ShuffleConfig, shape, inplace=False):
        return f"nn.ChannelShuffle({config.groups})"

    def saves(self, config, input, output, flow):
        # A permutation of the channels (its backward is the inverse one), in the input's suggested format.
        return Saves(layout=SUGGESTED)

    def label(self, config: ShuffleConfig) -> str:
        return f"{self.name} {config.groups}"


KINDS = (Shuffle(),)
