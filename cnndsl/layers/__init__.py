"""The layer table: every layer kind, each with everything it owns.

One module per family of kinds (`conv`, `pooling`, `normalization`,
`dropout`, `flatten`, `linear`, `activations`): each defines its kinds and
its configurations and ends with `KINDS` (its kind objects) and `ORDER`
(where they go in the table: the docs, the completion and the diagram
legend list kinds in this order), and `HELPERS` when its kinds need classes
defined in the generated module (`base.HelperClass`). Importing this package finds every such
module and installs its kinds in `registry`; a new family is a new module,
nothing else to edit. The shared parts: `base` (LayerKind, Config,
Inference), `arguments` (the declared arguments and the generic reader),
`words` (the one word classifier), `values` (numbers, sizes, the `Site`
protocol), `windows` (window fitting and unused rows).
"""

from __future__ import annotations

import importlib
import os

from . import registry
from .arguments import Args, Option, Positional, expected_words, range_check, read_args
from .base import NO_CONFIG, Config, DiagramStyle, HelperClass, Inference, LayerKind, NoConfig, SpecialForm
from .registry import ACTIVATIONS, BY_NAME, HELPER_NAMES, LAYERS, lookup
from .values import COUNT, DECIMAL_VALUE, WINDOW, Expect, Site, Value, read_value
from .words import Role, WordRole, classify


def _families() -> list:
    """Every module of this package that defines kinds, in their ORDER."""
    # A directory listing, not pkgutil: importing pkgutil alone costs `cnnc check` 3 ms.
    names = sorted({entry[:-3] for path in __path__ for entry in os.listdir(path) if entry.endswith(".py")} - {"__init__"})
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted((m for m in modules if hasattr(m, "KINDS")), key=lambda m: (m.ORDER, m.__name__))


if not LAYERS:
    for _family in _families():
        registry.install(_family.KINDS, getattr(_family, "HELPERS", ()))

__all__ = [
    "ACTIVATIONS", "Args", "BY_NAME", "COUNT", "Config", "DECIMAL_VALUE", "DiagramStyle", "Expect", "HELPER_NAMES",
    "HelperClass", "Inference",
    "LAYERS", "LayerKind", "NO_CONFIG", "NoConfig", "Option", "Positional", "Role", "Site", "SpecialForm", "Value",
    "WINDOW", "WordRole", "classify", "expected_words", "lookup", "range_check", "read_args", "read_value",
]
