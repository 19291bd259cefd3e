"""Element-wise activations: alone on a line (`relu`) or after a conv or linear (`conv 16 k3 relu`)."""

from __future__ import annotations

import math

from ..types.autograd import INPUT, SAVES_OUTPUT, Saves, Tensor
from .arguments import Args, Positional, read_args
from .base import Config, Inference, LayerKind, decimal
from .values import DECIMAL_VALUE

ORDER = 90  # after every other layer


class ActivationKind(LayerKind):
    """An element-wise activation: keeps the type, has no parameters."""

    is_activation = True
    module: str  # the PyTorch class: `ReLU`
    inplace_capable: bool = False
    vectors_only: bool = False
    # What backward needs (measured: tests/test_oracles.py): "output" (ReLU,
    # sigmoid, tanh, softmax compute their gradient from the result) or
    # "input". In place, the input is overwritten: "output" (ReLU, LeakyReLU,
    # ELU switch to their result, the input's storage) or "clone" (ReLU6,
    # SiLU: autograd saves a copy of the input before overwriting it).
    keeps: str = "input"
    keeps_inplace: str = "output"

    @property
    def example(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def torch(self) -> str:  # type: ignore[override]
        return f"nn.{self.module}"

    @property
    def examples(self) -> tuple[str, ...]:  # type: ignore[override]
        return (f"flatten; {self.name}",) if self.vectors_only else (self.name,)

    @property
    def inplace_doc(self) -> str:
        """When it may run in place, for the docs."""
        return "yes" if self.inplace_capable else "no"

    def infer(self, config, shape, site, span):
        if self.vectors_only and not self.needs_vector(shape, site, span):
            return None
        return Inference(shape)

    def can_run_inplace(self, config):
        return self.inplace_capable

    def emit(self, config, shape, inplace=False):
        args = self.emit_args(config)
        if inplace:
            args.append("inplace=True")
        return f"nn.{self.module}({', '.join(args)})"

    def emit_args(self, config) -> list[str]:
        """The constructor's arguments besides `inplace`."""
        return ["dim=1"] if self.vectors_only else []  # softmax over the features

    def saves(self, config, input, output, flow):
        if not flow.inplace:
            return SAVES_OUTPUT if self.keeps == "output" else Saves(input=True)
        if self.keeps_inplace == "clone":
            clone = Tensor("a clone of the input, made before it is overwritten", flow.batch * input.elements)
            return Saves(tensors=(clone,), result=INPUT)
        return Saves(output=True, result=INPUT)  # the output is the input's storage


class Elementwise(ActivationKind):
    """An activation without arguments."""

    def __init__(
        self, name: str, module: str, summary: str, *, inplace: bool = False, vectors_only: bool = False,
        keeps: str = "input", keeps_inplace: str = "output",
    ) -> None:  # fmt: skip
        self.name = name
        self.module = module
        self.summary = summary
        self.inplace_capable = inplace
        self.vectors_only = vectors_only
        self.keeps = keeps
        self.keeps_inplace = keeps_inplace
        super().__init__()


class LeakyReLUConfig(Config):
    """What `leakyrelu [SLOPE]` said."""

    slope: float = 0.01  # PyTorch's default negative slope


class LeakyReLU(ActivationKind):
    name = "leakyrelu"
    module = "LeakyReLU"
    summary = "max(0, x) + SLOPE * min(0, x); SLOPE defaults to 0.01"
    positionals = (Positional("slope", DECIMAL_VALUE, "the negative slope", minimum=-math.inf),)

    @property
    def syntax(self) -> str:  # type: ignore[override]
        return "leakyrelu [SLOPE]"

    @property
    def inplace_doc(self) -> str:
        return "when SLOPE > 0"

    def read(self, command, site):
        return read_args(self, command.args, command.span, site) if command.args else Args()

    def configure(self, args, site, span):
        return LeakyReLUConfig(float(args.values["slope"].value)) if "slope" in args.values else LeakyReLUConfig()

    def can_run_inplace(self, config: LeakyReLUConfig):
        return config.slope > 0  # autograd rejects in-place with slope <= 0

    def emit_args(self, config: LeakyReLUConfig):
        return [] if config.slope == 0.01 else [decimal(config.slope)]

    def label(self, config: LeakyReLUConfig) -> str:
        return self.name if config.slope == 0.01 else f"{self.name} {config.slope:g}"


KINDS = (
    Elementwise("relu", "ReLU", "max(0, x)", inplace=True, keeps="output"),
    Elementwise("relu6", "ReLU6", "min(max(0, x), 6)", inplace=True, keeps_inplace="clone"),
    LeakyReLU(),
    Elementwise("elu", "ELU", "x if x > 0 else exp(x) - 1", inplace=True),
    Elementwise("gelu", "GELU", "x * Phi(x), the Gaussian error linear unit"),
    Elementwise("silu", "SiLU", "x * sigmoid(x), also called swish", inplace=True, keeps_inplace="clone"),
    Elementwise("sigmoid", "Sigmoid", "1 / (1 + exp(-x))", keeps="output"),
    # MobileNet v3's cheap approximations of silu and sigmoid (torchvision runs them in place).
    Elementwise(
        "hardswish", "Hardswish", "x * relu6(x + 3) / 6, a piecewise approximation of silu", inplace=True,
        keeps_inplace="clone",
    ),
    Elementwise(
        "hardsigmoid", "Hardsigmoid", "relu6(x + 3) / 6, a piecewise approximation of sigmoid", inplace=True,
        keeps_inplace="clone",
    ),
    Elementwise("tanh", "Tanh", "hyperbolic tangent", keeps="output"),
    Elementwise("softmax", "Softmax", "softmax over the features (vectors only)", vectors_only=True, keeps="output"),
    Elementwise(
        "logsoftmax", "LogSoftmax", "log of softmax over the features (vectors only)", vectors_only=True, keeps="output"
    ),
)
