"""Describe a PyTorch module as a `prototypes.network` tree: the typed facts the analyses read.

In phase 2 the compiler's typed program provides these facts; until then the
tests take them from the generated module itself: each leaf's configuration
from its attributes, its input and output shapes from one forward pass on the
meta device (no memory, no compute). The structures are recognised by class:
cnnc's generated `Residual` (by name, since every generated file defines its
own), and tests/model_parts.py's Concat, Split, Gate, LayerNorm2d,
PixelwiseLinear, LayerScale and StochasticDepth (by name as well, so that
the classes the compiler will generate under those names are recognised).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from prototypes import network as net

ACTIVATIONS = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leakyrelu", nn.ELU: "elu", nn.GELU: "gelu", nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid",
    nn.PReLU: "prelu", nn.Softmax: "softmax", nn.LogSoftmax: "logsoftmax",
}  # fmt: skip


def describe(module: nn.Module, input_shape: tuple[int, ...]) -> net.Node:
    """The network tree of `module` for inputs of shape (N, *input_shape)."""
    shapes = _leaf_shapes(module, input_shape)
    return _node(module, shapes, "")


def _leaf_shapes(module: nn.Module, input_shape) -> dict[int, tuple[tuple[int, ...], tuple[int, ...]]]:
    meta = copy.deepcopy(module).to("meta").train()
    originals = dict(zip((id(m) for m in meta.modules()), (m for m in module.modules())))
    shapes: dict[int, tuple] = {}

    def hook(layer, inputs, output):
        key = id(originals[id(layer)])
        if key in shapes:
            raise ValueError(f"{type(layer).__name__} is called twice: describe its uses apart")
        shapes[key] = (tuple(inputs[0].shape[1:]), tuple(output.shape[1:]))

    handles = [m.register_forward_hook(hook) for m in meta.modules() if _is_leaf(m)]
    with torch.no_grad():
        dtype = next(module.parameters(), torch.empty(0)).dtype
        meta(torch.empty((2, *input_shape), device="meta", dtype=dtype))  # two: BatchNorm1d refuses one sample
    for handle in handles:
        handle.remove()
    return shapes


STRUCTURES = {"Residual", "Concat", "Split", "Gate"}
LEAF_CLASSES = {"LayerNorm2d", "PixelwiseLinear", "LayerScale", "StochasticDepth"}


def _is_leaf(module: nn.Module) -> bool:
    name = type(module).__name__
    if name in LEAF_CLASSES:
        return True
    if name in STRUCTURES or isinstance(module, (nn.Sequential, nn.ModuleList)):
        return False
    return not list(module.children())


def _node(module: nn.Module, shapes, path: str) -> net.Node:
    name = type(module).__name__
    if _is_leaf(module):
        if id(module) not in shapes:
            raise ValueError(f"{path or name} is never called")
        shape_in, shape_out = shapes[id(module)]
        return net.Layer(_config(module, shape_in), shape_in, shape_out, f"{path}:{name}")
    if name == "Residual":
        body = _sequence(module.body, shapes, f"{path}.body")
        shortcut = _sequence(module.shortcut, shapes, f"{path}.shortcut") if module.shortcut is not None else None
        return net.Residual(body, shortcut)
    if name in ("Concat", "Split"):
        branches = tuple(_sequence(b, shapes, f"{path}.branches.{i}") for i, b in enumerate(module.branches))
        return net.Concat(branches, split=name == "Split")
    if name == "Gate":
        return net.Gate(_sequence(module.body, shapes, f"{path}.body"))
    if isinstance(module, nn.Sequential):
        return net.Sequence(tuple(_node(child, shapes, f"{path}.{key}") for key, child in module.named_children()))
    # A generated network: its top-level containers run in order (features, then classifier).
    children = list(module.named_children())
    return net.Sequence(tuple(_node(child, shapes, f"{path}.{key}" if path else key) for key, child in children))


def _sequence(module: nn.Module, shapes, path: str) -> net.Sequence:
    node = _node(module, shapes, path)
    return node if isinstance(node, net.Sequence) else net.Sequence((node,))


def _config(layer: nn.Module, shape_in) -> net.LayerConfig:
    pair = net.pair
    name = type(layer).__name__
    if name == "LayerNorm2d":
        return net.LayerNorm()
    if name == "PixelwiseLinear":
        return net.Linear(layer.out_features, layer.bias is not None, pixelwise=True)
    if name == "LayerScale":
        return net.LayerScale()
    if name == "StochasticDepth":
        return net.StochasticDepth(layer.p, layer.mode)
    if isinstance(layer, nn.Conv2d):
        same = layer.padding == "same"
        if same:
            padding = tuple(d * (k - 1) // 2 for k, d in zip(layer.kernel_size, layer.dilation))
        else:
            padding = pair(layer.padding)
        return net.Conv(
            layer.out_channels, pair(layer.kernel_size), pair(layer.stride), padding, pair(layer.dilation),
            layer.groups, layer.bias is not None, same,
        )  # fmt: skip
    if isinstance(layer, nn.ConvTranspose2d):
        return net.ConvTranspose(
            layer.out_channels, pair(layer.kernel_size), pair(layer.stride), pair(layer.padding),
            pair(layer.output_padding), pair(layer.dilation), layer.groups, layer.bias is not None,
        )  # fmt: skip
    if isinstance(layer, nn.MaxPool2d):
        stride = layer.stride if layer.stride is not None else layer.kernel_size
        return net.Pool(True, pair(layer.kernel_size), pair(stride), pair(layer.padding), pair(layer.dilation), layer.ceil_mode)
    if isinstance(layer, nn.AvgPool2d):
        stride = layer.stride if layer.stride is not None else layer.kernel_size
        return net.Pool(
            False, pair(layer.kernel_size), pair(stride), pair(layer.padding), (1, 1), layer.ceil_mode,
            layer.count_include_pad,
        )  # fmt: skip
    if isinstance(layer, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = layer.output_size
        size = pair(size) if isinstance(size, int) else tuple(s if s is not None else shape_in[1 + i] for i, s in enumerate(size))
        return net.AdaptivePool(isinstance(layer, nn.AdaptiveMaxPool2d), size)
    if isinstance(layer, nn.Linear):
        return net.Linear(layer.out_features, layer.bias is not None)
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return net.BatchNorm()
    if isinstance(layer, nn.GroupNorm):
        return net.GroupNorm(layer.num_groups)
    if isinstance(layer, nn.InstanceNorm2d):
        return net.InstanceNorm(layer.affine)
    if isinstance(layer, nn.LayerNorm):
        return net.LayerNorm()
    for cls, activation in ACTIVATIONS.items():
        if type(layer) is cls:
            return net.Activation(activation, bool(getattr(layer, "inplace", False)))
    if isinstance(layer, nn.Dropout2d):
        return net.Dropout(layer.p, channels=True)
    if isinstance(layer, nn.Dropout):
        return net.Dropout(layer.p)
    if isinstance(layer, nn.Flatten):
        return net.Flatten()
    if isinstance(layer, nn.ChannelShuffle):
        return net.ChannelShuffle(layer.groups)
    if isinstance(layer, nn.Upsample):
        return net.Upsample(int(layer.scale_factor), layer.mode)
    if isinstance(layer, nn.Identity):
        return net.Identity()
    raise TypeError(f"no description for {name}")
