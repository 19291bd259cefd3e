"""The typed facts the analyses need, declared: a network as a tree of typed layers.

This stands in for the compiler's typed program until the analyses move into
`cnndsl/` (phase 2): each layer is a frozen configuration (what the `.cnn`
line says, with PyTorch's defaults filled in) plus its input and output
types per sample (`(C, H, W)` for a map, `(F,)` for a vector). The
structures are the language's: a sequence, a residual (body plus an optional
shortcut, added), a concatenation or split (branches joined by `torch.cat`
along the channels; a split first chunks the channels), and a gate
(`x * body(x)`).

Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Pair = tuple[int, int]


def pair(value: int | Pair) -> Pair:
    return (value, value) if isinstance(value, int) else tuple(value)


# -- layer configurations ------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """nn.Conv2d. `same`: padding="same" (PyTorch pads the input itself when the total is odd)."""

    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    same: bool = False


@dataclass(frozen=True)
class ConvTranspose:
    """nn.ConvTranspose2d (not in the language yet: measured for the table)."""

    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True


@dataclass(frozen=True)
class Pool:
    """nn.MaxPool2d (`max`) or nn.AvgPool2d; the stride defaults to the window, as in PyTorch."""

    max: bool
    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil: bool = False
    count_include_pad: bool = True


@dataclass(frozen=True)
class AdaptivePool:
    """nn.AdaptiveMaxPool2d / nn.AdaptiveAvgPool2d to a fixed output size."""

    max: bool
    output: Pair


@dataclass(frozen=True)
class Linear:
    """nn.Linear: on a vector, or `pixelwise` on the channels of a map (permute, linear, permute back)."""

    features: int
    bias: bool = True
    pixelwise: bool = False


@dataclass(frozen=True)
class BatchNorm:
    """nn.BatchNorm2d on a map, nn.BatchNorm1d on a vector; train mode."""


@dataclass(frozen=True)
class GroupNorm:
    groups: int


@dataclass(frozen=True)
class InstanceNorm:
    affine: bool = False


@dataclass(frozen=True)
class LayerNorm:
    """nn.LayerNorm over the features of a vector, or over the channels of a map (ConvNeXt's LayerNorm2d)."""


@dataclass(frozen=True)
class Activation:
    """An element-wise activation (relu, relu6, leakyrelu, elu, gelu, silu, sigmoid, tanh, hardswish,
    hardsigmoid, prelu) or softmax/logsoftmax over the features; `inplace` as generated."""

    name: str
    inplace: bool = False


@dataclass(frozen=True)
class Dropout:
    """nn.Dropout (element-wise) or nn.Dropout2d (`channels`: one draw per sample and channel)."""

    p: float
    channels: bool = False


@dataclass(frozen=True)
class StochasticDepth:
    """torchvision's StochasticDepth: `row` draws one value per sample, `batch` one for the batch."""

    p: float
    mode: str = "row"


@dataclass(frozen=True)
class LayerScale:
    """A learnable per-channel scale, `gamma * x` with gamma of shape (C, 1, 1)."""


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True)
class ChannelShuffle:
    groups: int


@dataclass(frozen=True)
class Upsample:
    scale: int
    mode: str = "nearest"


@dataclass(frozen=True)
class Identity:
    pass


LayerConfig = Union[
    Conv, ConvTranspose, Pool, AdaptivePool, Linear, BatchNorm, GroupNorm, InstanceNorm, LayerNorm, Activation,
    Dropout, StochasticDepth, LayerScale, Flatten, ChannelShuffle, Upsample, Identity,
]  # fmt: skip


# -- the tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One typed layer: its configuration and its input and output types per sample."""

    config: LayerConfig
    input: tuple[int, ...]
    output: tuple[int, ...]
    name: str = ""

    @property
    def kind(self) -> str:
        return type(self.config).__name__


@dataclass(frozen=True)
class Sequence:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Residual:
    """body(x) + shortcut(x); the shortcut is the identity when None. PyTorch: `out + x` (body first)."""

    body: Sequence
    shortcut: Sequence | None = None


@dataclass(frozen=True)
class Concat:
    """torch.cat([branch(x) ...], dim=1); with `split`, branch i gets x.chunk(n, dim=1)[i]."""

    branches: tuple[Sequence, ...]
    split: bool = False


@dataclass(frozen=True)
class Gate:
    """x * body(x), body(x) broadcast onto x."""

    body: Sequence


Node = Union[Layer, Sequence, Residual, Concat, Gate]


def layers(node: Node):
    """Every Layer in the tree, in the order the forward pass runs them."""
    if isinstance(node, Layer):
        yield node
    elif isinstance(node, Sequence):
        for item in node.items:
            yield from layers(item)
    elif isinstance(node, Residual):
        yield from layers(node.body)
        if node.shortcut is not None:
            yield from layers(node.shortcut)
    elif isinstance(node, Concat):
        for branch in node.branches:
            yield from layers(branch)
    elif isinstance(node, Gate):
        yield from layers(node.body)
