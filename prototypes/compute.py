"""Compute conventions per layer: MACs, FLOPs (FlopCounterMode's) and mult-adds (torchinfo 1.8's).

- `macs`: multiply-accumulates of the layer's products, per sample: a
  convolution `H_out*W_out*K*(C/G)*kh*kw`, a linear layer `N_in*N_out` (per
  pixel for a pixel-wise one: `H*W*C*N`), a transposed convolution
  `H_in*W_in*C*(K/G)*kh*kw`; every other layer 0 (bias additions,
  normalisations, pooling, activations, joins and gates count nothing).
- `flops`: `2 * macs`, what `torch.utils.flop_counter.FlopCounterMode`
  counts (it counts convolutions and matrix products, each multiply-add as
  two, and nothing else).
- `mult_adds`: torchinfo 1.8's "Total mult-adds" per sample
  (`torchinfo/layer_info.py`, `LayerInfo.calculate_macs`, summed over leaf
  modules only by `ModelStatistics`): for a leaf module whose class name
  contains "Conv", every parameter named `weight` or `bias` counts its
  element count times the output's spatial positions (so a convolution adds
  `H_out*W_out*K` for its bias, and a transposed convolution counts its
  weight per *output* position); for any other leaf, a parameter named
  `weight` or `bias` counts its element count once per sample (a linear
  layer `N_in*N_out + N_out` whatever the pixels, BatchNorm/LayerNorm/
  GroupNorm `2*C`, PReLU 1), and a parameter with another name that contains
  "weight" or "bias" counts once per element of the output's first two
  dimensions (torchinfo's RNN rule); parameters named otherwise (a layer
  scale's `scale`) count 0, and so do layers without parameters.

Nothing here imports torch.
"""

from __future__ import annotations

import math

from prototypes.network import Activation, Conv, ConvTranspose, Layer, Linear
from prototypes.saved_bytes import parameter_tensors


def macs(layer: Layer) -> int:
    config = layer.config
    if isinstance(config, Conv):
        _, height, width = layer.output
        return height * width * config.filters * (layer.input[0] // config.groups) * config.kernel[0] * config.kernel[1]
    if isinstance(config, ConvTranspose):
        channels, height, width = layer.input
        return height * width * channels * (config.filters // config.groups) * config.kernel[0] * config.kernel[1]
    if isinstance(config, Linear):
        positions = math.prod(layer.input[1:]) if config.pixelwise else 1
        return positions * layer.input[0] * config.features
    return 0


def flops(layer: Layer) -> int:
    return 2 * macs(layer)


def mult_adds(layer: Layer, parameter_names: tuple[str, ...] | None = None) -> int:
    """torchinfo's count for one layer, per sample.

    `parameter_names`: the names of the module's own parameters, in
    `parameter_tensors` order, where they are not PyTorch's `weight`/`bias`
    (a generated layer scale's parameter, say).
    """
    tensors = parameter_tensors(layer)
    if parameter_names is None:
        parameter_names = _standard_names(layer, len(tensors))
    is_conv = isinstance(layer.config, (Conv, ConvTranspose))
    total = 0
    for name, count in zip(parameter_names, tensors):
        if name in ("weight", "bias"):
            total += count * (math.prod(layer.output[1:]) if is_conv else 1)
        elif "weight" in name or "bias" in name:
            total += count * layer.output[0]
    return total


def _standard_names(layer: Layer, count: int) -> tuple[str, ...]:
    if isinstance(layer.config, Activation):  # PReLU
        return ("weight",)
    if type(layer.config).__name__ == "LayerScale":
        return ("scale",)
    return ("weight", "bias")[:count]
