"""Batch normalisation: `batchnorm` (`bn`), over channels (map) or features (vector), with `eps=` and `momentum=`."""

from __future__ import annotations


from ..types.autograd import INDEX_BYTES, Saves, Tensor
from ..types.layout import SUGGESTED
from ..types.shapes import MapType
from .arguments import Option
from .base import Config, Inference, LayerKind, decimal
from .values import DECIMAL_VALUE

ORDER = 30  # after pooling

# PyTorch's defaults: written out only when a statement changes them.
DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.1


class BatchNormConfig(Config):
    """What `batchnorm [eps=E] [momentum=M]` (or `bn`) said."""

    eps: float = DEFAULT_EPS  # added to the variance before its square root
    momentum: float = DEFAULT_MOMENTUM  # the weight of each batch in the running statistics


def positive_eps(value, site) -> bool:
    """E0035 unless an `eps=` value is greater than 0 (a 0 divides by the square root of a zero variance)."""
    if value.value > 0:
        return True
    site.report(
        "E0035",
        value.span,
        f"eps must be greater than 0, but is {value.text}",
        label="out of range",
        notes=[value.origin] if value.origin else [],
        help="eps keeps the division finite when a variance is 0: PyTorch's default is 1e-5, many models use 1e-3",
    )
    return False


class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn",)
    summary = "batch normalisation over channels (map) or features (vector)"
    syntax = "batchnorm [eps=E] [momentum=M]"
    example = "batchnorm"
    examples = ("batchnorm", "bn", "bn eps=0.001 momentum=0.01", "flatten; bn")
    torch = "nn.BatchNorm2d"
    formulas = ("params = 2*C (a scale and a shift per channel; the running statistics are buffers)",)
    options = (
        Option("eps", "", DECIMAL_VALUE, "the epsilon", minimum=0, sample_value="0.001",
               doc="added to the variance before its square root; greater than 0 (default 1e-5)"),
        Option("momentum", "", DECIMAL_VALUE, "the momentum", minimum=0, sample_value="0.01",
               doc="the weight of each batch in the running mean and variance, from 0 to 1 (default 0.1)"),
    )
    inplace_after = True

    def configure(self, args, site, span):
        eps = args.values.get("eps")
        momentum = args.values.get("momentum")
        ok = eps is None or positive_eps(eps, site)
        if momentum is not None and not 0 <= momentum.value <= 1:
            ok = False
            site.report(
                "E0035",
                momentum.span,
                f"momentum must satisfy 0 <= M <= 1, but is {momentum.text}",
                label="out of range",
                notes=[momentum.origin] if momentum.origin else [],
                help="each batch moves the running statistics by this fraction: PyTorch's default is 0.1, "
                "MobileNet v3 uses 0.01",
            )
        if not ok:
            return None
        return BatchNormConfig(
            DEFAULT_EPS if eps is None else float(eps.value),
            DEFAULT_MOMENTUM if momentum is None else float(momentum.value),
        )

    def infer(self, config, shape, site, span):
        width = _width(shape)
        return Inference(shape, 2 * width, 0, (f"params: 2*{width} = {2 * width:,} (weight and bias)",))

    def emit(self, config: BatchNormConfig, shape, inplace=False):
        module, width = ("BatchNorm2d", shape.channels) if isinstance(shape, MapType) else ("BatchNorm1d", shape.features)
        return f"nn.{module}({', '.join([str(width), *self.keywords(config)])})"

    @staticmethod
    def keywords(config: BatchNormConfig) -> list[str]:
        """The options that differ from PyTorch's defaults, as keyword arguments."""
        out = [] if config.eps == DEFAULT_EPS else [f"eps={decimal(config.eps)}"]
        return out + ([] if config.momentum == DEFAULT_MOMENTUM else [f"momentum={decimal(config.momentum)}"])

    def label(self, config: BatchNormConfig) -> str:
        return " ".join(["bn", *self.keywords(config)])

    def parameter_tensors(self, config, shape):
        width = _width(shape)
        return (Tensor("weight", width), Tensor("bias", width))

    def buffer_tensors(self, config, shape):
        width = _width(shape)
        return (Tensor("running_mean", width), Tensor("running_var", width), Tensor("num_batches_tracked", 1, INDEX_BYTES))

    def saves(self, config, input, output, flow):
        # Train mode: the input, and the batch's mean and inverse standard
        # deviation per channel (in the data type on CPU), not the output.
        return Saves(input=True, tensors=(Tensor("save_mean and save_invstd", 2 * _width(input)),), layout=SUGGESTED)


def _width(shape) -> int:
    """The normalised channels of a map, or features of a vector."""
    return shape.channels if isinstance(shape, MapType) else shape.features


KINDS = (BatchNorm(),)
