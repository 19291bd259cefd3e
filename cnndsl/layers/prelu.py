"""PReLU: `prelu [perchannel]` (nn.PReLU): a ReLU whose negative slope is learnt."""

from __future__ import annotations


from ..types.autograd import Saves, Tensor
from ..types.shapes import MapType
from .activations import ActivationKind
from .arguments import Args, read_args
from .base import Config, Inference

ORDER = 92  # with the activations, after them


class PReLUConfig(Config):
    """What `prelu [perchannel]` said."""

    per_channel: bool = False  # one slope per channel (or feature) instead of one in all


class PReLU(ActivationKind):
    name = "prelu"
    module = "PReLU"
    summary = "max(0, x) + a * min(0, x) with a learnt slope a (one in all, or one per channel: perchannel)"
    flags = {"perchannel": "one slope per channel (per feature on a vector)"}
    formulas = ("params = 1, or C with perchannel (PyTorch initialises the slopes at 0.25)",)

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return "prelu [perchannel]"

    @property
    def examples(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("prelu", "prelu perchannel", "flatten; prelu perchannel")

    def read(self, command, site):
        return read_args(self, command.args, command.span, site) if command.args else Args()

    def configure(self, args, site, span):
        return PReLUConfig("perchannel" in args.flags)

    def infer(self, config: PReLUConfig, shape, site, span):
        if not config.per_channel:
            return Inference(shape, 1, 0, ("params: 1 (one slope for every channel)",))
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return Inference(shape, width, 0, (f"params: {width:,} (a slope per {'channel' if isinstance(shape, MapType) else 'feature'})",))

    def emit_args(self, config: PReLUConfig):
        return []

    def emit(self, config: PReLUConfig, shape, inplace=False):
        if not config.per_channel:
            return "nn.PReLU()"
        return f"nn.PReLU({shape.channels if isinstance(shape, MapType) else shape.features})"

    def parameter_tensors(self, config: PReLUConfig, shape):
        width = shape.channels if isinstance(shape, MapType) else shape.features
        return (Tensor("weight", width if config.per_channel else 1),)

    def saves(self, config, input, output, flow):
        return Saves(input=True)  # and the slope, a parameter

    def label(self, config: PReLUConfig) -> str:
        return self.name + (" perchannel" if config.per_channel else "")


KINDS = (PReLU(),)
