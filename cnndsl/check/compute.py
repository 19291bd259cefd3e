"""The compute conventions, per layer and per sample: MACs, FLOPs and torchinfo's mult-adds.

Tools disagree about what "FLOPs" means (fvcore and thop count MACs, ptflops
and torchinfo add terms of their own); cnnc gives three figures and says which
is which:

- `macs`: multiply-accumulates of the layer's products (`LayerKind.infer`):
  a convolution `H_out*W_out*K*F_h*F_w*C/G`, a linear layer `N_in*N_out`;
  additions of a bias, normalisations, pooling, activations and residual
  additions count nothing.
- `flops`: `2 * macs`, what `torch.utils.flop_counter.FlopCounterMode`
  counts (each multiply-add is two operations; nothing else is counted).
- `mult_adds`: torchinfo 1.8's "Total mult-adds" (`LayerInfo.calculate_macs`,
  summed over leaf modules): in a module whose class name contains `Conv`,
  every parameter named `weight` or `bias` counts its elements once per
  output position (so a convolution adds `H_out*W_out*K` for its bias); in any
  other module, once (a linear layer `N_in*N_out + N_out`, BatchNorm `2*C`).
  Other parameter names count nothing.

tests/test_oracles.py compares the three with FlopCounterMode and torchinfo.
"""

from __future__ import annotations

from ..types.shapes import MapType
from ..types.symbolic import count
from .typed import TypedLayer

STANDARD_NAMES = ("weight", "bias")


def flops(layer: TypedLayer):
    """`2 * MACs`: an int, or a symbolic Count."""
    return 2 * layer.macs


def mult_adds(layer: TypedLayer):
    """torchinfo's mult-adds of one layer for one sample: an int, or a symbolic Count."""
    counted = sum(t.elements for t in layer.kind.parameter_tensors(layer.config, layer.input) if t.name in STANDARD_NAMES)
    module_class = layer.module.partition("(")[0].removeprefix("nn.")
    if "Conv" in module_class and isinstance(layer.output, MapType):
        return count(counted, layer.output.height, layer.output.width)
    return counted
