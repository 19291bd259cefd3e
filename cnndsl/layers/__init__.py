"""The layer table: every layer kind, each with everything it owns.

One module per family of kinds (`conv`, `pooling`, `normalization`,
`dropout`, `flatten`, `linear`, `activations`): each defines its kinds and
its configurations and ends with `KINDS` (its kind objects) and `ORDER`
(where they go in the table: the docs, the completion and the diagram
legend list kinds in this order). `registry` finds them: `lookup(name)`
imports the one family that defines the name (through the generated
`index.py`), `LAYERS`, `BY_NAME` and `ACTIVATIONS` import them all. A new
family is a new module, and `python -m cnndsl.reports.docs` to regenerate
the index with the docs. A family also lists `HELPERS` when its kinds need
classes defined in the generated module (`base.HelperClass`). The shared
parts: `base` (LayerKind, Config, Inference), `arguments` (the declared arguments and the generic reader),
`words` (the one word classifier), `values` (numbers, sizes, the `Site`
protocol), `windows` (window fitting and unused rows).
"""

from __future__ import annotations

from . import registry
from .arguments import Args, Option, Positional, expected_words, range_check, read_args
from .base import NO_CONFIG, Config, DiagramStyle, HelperClass, Inference, LayerKind, Lines, NoConfig, SpecialForm, lines_of
from .registry import activation, activation_names, all_kinds, helper_names, is_layer_name, lookup
from .values import COUNT, DECIMAL_VALUE, WINDOW, Expect, Site, Value, read_value
from .words import Role, WordRole, classify


def __getattr__(name: str):
    """The whole table, `LAYERS`, `BY_NAME` and `ACTIVATIONS`, built on first use (registry.py)."""
    if name in ("LAYERS", "BY_NAME", "ACTIVATIONS"):
        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS", "Args", "BY_NAME", "COUNT", "Config", "DECIMAL_VALUE", "DiagramStyle", "Expect", "HelperClass",
    "Inference", "LAYERS", "LayerKind", "Lines", "NO_CONFIG", "NoConfig", "Option", "Positional", "Role", "Site", "SpecialForm", "Value",
    "WINDOW", "WordRole", "activation", "activation_names", "all_kinds", "classify", "expected_words", "helper_names", "is_layer_name",
    "lines_of", "lookup", "range_check", "read_args", "read_value",
]
