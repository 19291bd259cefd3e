"""Random PyTorch networks with residuals, branches, splits and gates, for the oracle tests.

`networks()` is a hypothesis strategy that draws a module built from
torch.nn layers and tests/model_parts.py's structures, with its input shape
(C, H, W). Every piece is tried on the meta device as it is drawn, so a
draw is always a network PyTorch runs; pieces that do not fit are replaced
by an identity. In-place activations come only right after a convolution,
a normalisation or a linear layer in the same sequence, as cnnc generates
them, so that no in-place write hits a tensor another path still reads.
"""

from __future__ import annotations

import copy

import torch
from hypothesis import strategies as st
from torch import nn

import model_parts as parts

ACTIVATIONS = ["relu", "relu6", "leakyrelu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "prelu"]
IN_PLACE = {"relu", "relu6", "leakyrelu", "elu", "silu", "hardswish", "hardsigmoid"}


def activation(name: str, inplace: bool = False) -> nn.Module:
    classes = {
        "relu": nn.ReLU, "relu6": nn.ReLU6, "elu": nn.ELU, "silu": nn.SiLU, "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid,
    }  # fmt: skip
    if name == "leakyrelu":
        return nn.LeakyReLU(0.1, inplace=inplace)
    if name in classes:
        return classes[name](inplace=inplace)
    return {"gelu": nn.GELU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "prelu": nn.PReLU}[name]()


def output_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The per-sample output shape of `module` on the meta device, or None if PyTorch refuses the input."""
    try:
        with torch.no_grad():
            out = copy.deepcopy(module).to("meta")(torch.empty((2, *shape), device="meta"))
    except (RuntimeError, ValueError):
        return None
    if out.dim() == 4 and min(out.shape[2:]) < 1:
        return None
    return tuple(out.shape[1:])


class Builder:
    """A sequence being drawn: its layers and the current per-sample shape."""

    def __init__(self, draw, shape, options):
        self.draw = draw
        self.shape = shape
        self.options = options
        self.layers: list[nn.Module] = []

    def add(self, module: nn.Module) -> bool:
        shape = output_shape(module, self.shape)
        if shape is None or len(shape) != 3:
            return False
        self.layers.append(module)
        self.shape = shape
        return True

    def module(self) -> nn.Sequential:
        return nn.Sequential(*self.layers)


def _conv(b: Builder, keep_size: bool) -> None:
    draw = b.draw
    channels = b.shape[0]
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
    filters = channels if keep_size and draw(st.booleans()) else groups * draw(st.integers(1, 3))
    dilation = draw(st.sampled_from([1, 1, 2]))
    if keep_size:
        kernel = draw(st.sampled_from([1, 3, 5]))
        padding = "same" if b.options["same"] and draw(st.integers(0, 3)) == 0 else dilation * (kernel // 2)
        layer = nn.Conv2d(channels, filters, kernel, padding=padding, dilation=dilation, groups=groups, bias=draw(st.booleans()))
    else:
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        if b.options["same"] and draw(st.integers(0, 4)) == 0:
            layer = nn.Conv2d(channels, filters, kernel, padding="same", dilation=dilation, groups=groups)
        else:
            stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            layer = nn.Conv2d(channels, filters, kernel, stride, padding, dilation, groups, bias=draw(st.booleans()))
    if not b.add(layer):
        return
    if draw(st.booleans()):
        _normalisation(b)
    if draw(st.booleans()):
        name = draw(st.sampled_from(ACTIVATIONS))
        b.add(activation(name, inplace=name in IN_PLACE and draw(st.booleans())))


def _normalisation(b: Builder) -> None:
    draw = b.draw
    channels = b.shape[0]
    choices = ["bn"] + (["gn", "in", "ln"] if b.options["extras"] else [])
    kind = draw(st.sampled_from(choices))
    if kind == "bn":
        b.add(nn.BatchNorm2d(channels))
    elif kind == "gn":
        b.add(nn.GroupNorm(draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0])), channels))
    elif kind == "in":
        b.add(nn.InstanceNorm2d(channels, affine=draw(st.booleans())))
    else:
        b.add(parts.LayerNorm2d(channels))


def _pool(b: Builder, keep_size: bool) -> None:
    draw = b.draw
    is_max = draw(st.booleans())
    if keep_size:
        b.add(nn.MaxPool2d(3, 1, 1) if is_max else nn.AvgPool2d(3, 1, 1))
        return
    if b.options["adaptive"] and draw(st.integers(0, 4)) == 0:
        height, width = b.shape[1:]
        size = draw(st.sampled_from([1] + [d for d in (2, 3) if height % d == 0 and width % d == 0]))
        b.add(nn.AdaptiveMaxPool2d(size) if is_max else nn.AdaptiveAvgPool2d(size))
        return
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    ceil = draw(st.booleans())
    if is_max:
        b.add(nn.MaxPool2d(kernel, stride, padding, dilation=draw(st.sampled_from([1, 1, 2])), ceil_mode=ceil))
    else:
        b.add(nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil, count_include_pad=draw(st.booleans())))


def _elementwise(b: Builder) -> None:
    draw = b.draw
    channels = b.shape[0]
    choices = ["act", "dropout", "bn"]
    if b.options["extras"]:
        choices += ["dropout2d", "layerscale", "stochdepth", "shuffle", "pixelwise", "norm"]
    kind = draw(st.sampled_from(choices))
    if kind == "act":
        b.add(activation(draw(st.sampled_from(ACTIVATIONS))))
    elif kind == "dropout":
        b.add(nn.Dropout(draw(st.sampled_from([0.0, 0.3, 0.5]))))
    elif kind == "bn":
        b.add(nn.BatchNorm2d(channels))
    elif kind == "dropout2d":
        b.add(nn.Dropout2d(0.3))
    elif kind == "layerscale":
        b.add(parts.LayerScale(channels))
    elif kind == "stochdepth":
        b.add(parts.StochasticDepth(draw(st.sampled_from([0.0, 0.2])), draw(st.sampled_from(["row", "batch"]))))
    elif kind == "shuffle":
        groups = [g for g in (2, 3) if channels % g == 0]
        if groups:
            b.add(nn.ChannelShuffle(draw(st.sampled_from(groups))))
    elif kind == "pixelwise":
        b.add(parts.PixelwiseLinear(channels, draw(st.integers(1, 6))))
        if draw(st.booleans()):
            b.add(nn.GELU())
    else:
        _normalisation(b)


def _sequence(b: Builder, depth: int, keep_size: bool, count: int) -> None:
    for _ in range(count):
        choice = b.draw(st.integers(0, 9 if depth < 2 else 5))
        if choice <= 2:
            _conv(b, keep_size)
        elif choice == 3:
            _pool(b, keep_size)
        elif choice <= 5:
            _elementwise(b)
        elif choice == 6:
            _residual(b, depth)
        elif choice == 7:
            _concat(b, depth, split=False)
        elif choice == 8:
            _concat(b, depth, split=True)
        else:
            _gate(b, depth)


def _sub(b: Builder, shape, depth: int, keep_size: bool, count: int) -> Builder:
    inner = Builder(b.draw, shape, b.options)
    _sequence(inner, depth + 1, keep_size, count)
    return inner


def _residual(b: Builder, depth: int) -> None:
    draw = b.draw
    body = _sub(b, b.shape, depth, True, draw(st.integers(1, 3)))
    strided = draw(st.booleans())
    if strided:
        # A stride-2 3x3 convolution in the body and a stride-2 1x1 projection: ResNet's downsampling.
        body.add(nn.Conv2d(body.shape[0], b.shape[0] * 2, 3, 2, 1, bias=False))
        shortcut = nn.Sequential(nn.Conv2d(b.shape[0], b.shape[0] * 2, 1, 2, bias=False), nn.BatchNorm2d(b.shape[0] * 2))
    elif body.shape != b.shape:
        shortcut = nn.Sequential(nn.Conv2d(b.shape[0], body.shape[0], 1, bias=False))
    else:
        shortcut = None
    b.add(parts.Residual(body.module(), shortcut))


def _concat(b: Builder, depth: int, split: bool) -> None:
    draw = b.draw
    count = draw(st.integers(2, 3))
    channels = b.shape[0]
    if split and channels % count:
        return
    part = (channels // count, *b.shape[1:]) if split else b.shape
    branches = []
    for _ in range(count):
        branch = _sub(b, part, depth, True, draw(st.integers(0, 2)))
        branches.append(branch.module() if branch.layers else nn.Identity())
    b.add(parts.Split(*branches) if split else parts.Concat(*branches))


def _gate(b: Builder, depth: int) -> None:
    draw = b.draw
    channels = b.shape[0]
    kind = draw(st.sampled_from(["se", "spatial", "square", "map"] if b.options["adaptive"] else ["spatial", "square", "map"]))
    squash = nn.Sigmoid() if draw(st.booleans()) else nn.Hardsigmoid()
    if kind == "se":
        hidden = draw(st.integers(1, 4))
        body = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1), squash
        )
    elif kind == "spatial":
        body = nn.Sequential(nn.Conv2d(channels, 1, 3, padding=1), squash)
    elif kind == "square":
        body = nn.Identity()
    else:
        inner = _sub(b, b.shape, depth, True, draw(st.integers(1, 2)))
        inner.add(nn.Conv2d(inner.shape[0], channels, 1))
        inner.add(squash)
        body = inner.module()
    b.add(parts.Gate(body))


@st.composite
def networks(draw, extras: bool = True, same: bool = True, adaptive: bool = True, min_size: int = 6, max_size: int = 28):
    """(module, (C, H, W)): a random network of maps, with branches and gates.

    `extras`: GroupNorm, InstanceNorm, LayerNorm2d, pixel-wise linear layers,
    layer scales, stochastic depth, Dropout2d, channel shuffles; `same`:
    convolutions with padding="same"; `adaptive`: adaptive pooling and
    squeeze-and-excitation gates (whose fields are the whole input).
    """
    shape = (draw(st.integers(1, 6)), draw(st.integers(min_size, max_size)), draw(st.integers(min_size, max_size)))
    b = Builder(draw, shape, {"extras": extras, "same": same, "adaptive": adaptive})
    _sequence(b, 0, False, draw(st.integers(1, 6)))
    if not b.layers:
        b.add(nn.Conv2d(shape[0], 2, 1))
    return b.module(), shape
