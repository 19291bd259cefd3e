"""Names the imported program gives: the network, blocks and block parameters.

A name must be one the checker accepts (an ASCII identifier, not a Python
keyword, not a layer or statement word, not a name the generated module
uses); `unique` adds a number when a name is taken.
"""

from __future__ import annotations

import builtins
import keyword
import re

from ..layers import lookup

# Words with a meaning of their own in .cnn files (issue 13's included, so that an import made today stays valid).
STATEMENT_WORDS = frozenset({"network", "input", "block", "repeat", "residual", "shortcut", "where", "to", "concat", "branch", "split", "gate"})
GENERATED = frozenset({"torch", "nn", "Residual", "Concat", "Split", "Gate", "LayerNorm2d", "LayerScale", "StochasticDepth", "self", "x"})
# Containers whose class says nothing about what they hold: their blocks are named after the attribute or the parent.
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def snake(name: str) -> str:
    """`InvertedResidual` -> `inverted_residual`, `SEBlock` -> `se_block`, `Conv2dNormActivation` -> `conv2d_norm_activation`."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    return name or "block"


def acceptable(name: str) -> bool:
    return (
        re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None
        and name.isascii()
        and not keyword.iskeyword(name)
        and not keyword.issoftkeyword(name)
        and not name.startswith("__")
        and name not in STATEMENT_WORDS
        and name not in GENERATED
        and name not in dir(builtins)
        and lookup(name) is None
    )


def unique(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`... : the first acceptable name not in `taken` (which it joins)."""
    base = base if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", base or "") else "block"
    candidate = base if acceptable(base) else f"{base}_block"
    number = 2
    while candidate in taken or not acceptable(candidate):
        candidate = f"{base}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def network_name(class_name: str) -> str:
    """The network's name: the model's class name, made acceptable (`ResNet`; `MyNet` for `my-net`)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", class_name) or "Network"
    if name[0].isdigit():
        name = "Net" + name
    if not acceptable(name) or name in dir(builtins):
        name = name + "Net"
    return name
