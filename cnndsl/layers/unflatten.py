"""Unflatten: `unflatten HxWxC`, a vector of H*W*C features to a feature map (nn.Unflatten)."""

from __future__ import annotations


from ..types.autograd import INPUT, Saves
from ..types.fields import UNEVEN_AXIS
from ..types.shapes import MapType, describe
from .arguments import Positional, called, range_check
from .base import Config, DiagramStyle, Inference, LayerKind, check_size
from .values import Expect

ORDER = 52  # after flatten, its inverse

MAP_SIZE = Expect("a size HxWxC", "4x4x512", size=True, dims=3, single=False)


class UnflattenConfig(Config):
    """What `unflatten HxWxC` said."""

    height: int
    width: int
    channels: int


class Unflatten(LayerKind):
    name = "unflatten"
    summary = "turn a vector of H*W*C features into an HxWxC feature map (a latent into a generator's first map)"
    syntax = "unflatten HxWxC"
    example = "unflatten 1x1x100"
    examples = ("flatten; unflatten 32x32x3", "flatten; linear 1024; unflatten 4x4x64")
    torch = "nn.Unflatten"
    formulas = ("features = H*W*C: the vector's features, read channel by channel as PyTorch's (C, H, W) order",)
    positionals = (Positional("size", MAP_SIZE, "the map size"),)
    diagram = DiagramStyle("flatten", "#81c784", "flatten")

    def configure(self, args, site, span):
        if not range_check(self, args, site):
            return None
        height, width, channels = args.values["size"].value
        return UnflattenConfig(height, width, channels)

    def infer(self, config: UnflattenConfig, shape, site, span):
        if not self.needs_vector(shape, site, span):
            return None
        out = MapType(config.height, config.width, config.channels)
        if not check_size(out, site, span):
            return None
        if out.elements != shape.features:
            per_position = config.height * config.width
            fits = shape.features % per_position == 0
            site.report(
                "E0080",
                span,
                f"{called(self, site)} {out} needs {out.area_text} = {out.elements:,} features, but its input is the {describe(shape)}",
                label=f"{out.elements:,} != {shape.features:,}",
                notes=[f"the vector's {shape.features:,} features fill the map exactly only when H*W*C = {shape.features:,}"],
                help=f"use {called(self, site)} {config.height}x{config.width}x{shape.features // per_position}"
                if fits
                else f"use {called(self, site)} 1x1x{shape.features}, or a linear layer with {out.elements:,} outputs before it",
            )
            return None
        return Inference(out, 0, 0, (f"map: {shape.features:,} features = {out.area_text}",))

    def emit(self, config: UnflattenConfig, shape, inplace=False):
        return f"nn.Unflatten(1, ({config.channels}, {config.height}, {config.width}))"

    def window(self, config):
        return UNEVEN_AXIS, UNEVEN_AXIS  # features become positions: no field maps onto the new axes (whole stays whole)

    def saves(self, config, input, output, flow):
        return Saves(result=INPUT)  # a view

    def label(self, config: UnflattenConfig) -> str:
        return f"{self.name} {config.height}x{config.width}x{config.channels}"


KINDS = (Unflatten(),)
