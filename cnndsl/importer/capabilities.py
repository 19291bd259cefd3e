"""What the .cnn language can say today, asked of the compiler itself.

The importer maps some PyTorch operations onto constructs that issue 13 adds
(`concat`, `split`, `gate`, `shuffle`, `hardswish`, `bn eps=`...). Rather
than a version number or a list kept by hand, each mapping asks the checker
whether a one-line example of what it would write is a valid program: the day
a construct lands on main, the mapping starts working, with nothing else to
change (docs/design.md, "cnnc import").
"""

from __future__ import annotations

import functools

# One-line programs that use each construct, checked on an 8x8x4 map.
HARDSWISH = "hardswish"
HARDSIGMOID = "hardsigmoid"
BN_EPS = "bn eps=0.001"
BN_MOMENTUM = "bn momentum=0.01"
CONCAT = "concat { branch { } branch { conv 4 k1 } }"
SPLIT = "split { branch { } branch { conv 2 k1 } }"
GATE = "gate { avgpool to 1; conv 4 k1; sigmoid }"
SHUFFLE = "shuffle 2"
LAYERNORM = "layernorm eps=1e-6"
PIXELWISE = "linear 8 pixelwise"
LAYERSCALE = "layerscale 1e-6"
STOCHDEPTH = "stochdepth 0.1 row"


@functools.cache
def supports(snippet: str) -> bool:
    """Whether `snippet` after `input 8x8x4` checks without errors."""
    from ..compiler import check_source

    return not any(d.is_error for d in check_source(f"input 8x8x4\n{snippet}\n", "<capability>"))
