"""The layer table: every kind by name, each family module imported when first needed.

A family module (a module of this package with a `KINDS` tuple and an
`ORDER`) defines its kinds; the table lists them in the modules' `ORDER`.
`index.py`, generated from the family modules by `python -m
cnndsl.reports.docs` (tests/test_docs.py fails when it is stale), says which
module defines each name and which names are activations. With it,
`lookup(name)` imports only the family that defines the name: a fresh `cnnc
check` imports the families its program uses, so its start-up does not grow
with the number of kinds (docs/design.md, "Start-up"). Whoever reads the
whole table (`LAYERS`, `BY_NAME`, `ACTIVATIONS`: the docs, completion, the
diagram legend, suggestions for a misspelt name) imports every family.

The index is only a shortcut: the family modules on disk are the truth. When
the index does not list exactly them (a family added or removed since it was
generated), it is not used and every family is imported on first use.

This module imports no kind (the family modules import `base`, which imports
this one): families are imported by name.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .index import FAMILIES, HELPERS, SHARED

_HERE = os.path.dirname(__file__)


def _family_modules() -> list[str]:
    """The family modules on disk: every module of the package that is not a shared one."""
    # A directory listing, not pkgutil: importing pkgutil alone costs `cnnc check` 3 ms.
    return sorted({entry[:-3] for entry in os.listdir(_HERE) if entry.endswith(".py")} - {"__init__", *SHARED})


# The index's answer: name -> the family module that defines it; the activations' names.
_FAMILY_OF = {name: module for module, names, _ in FAMILIES for name in names}
_ACTIVATION_NAMES = tuple(name for _, _, activations in FAMILIES for name in activations)
_INDEX_CURRENT = sorted(module for module, _, _ in FAMILIES) == _family_modules()

_loaded: dict[str, tuple] = {}  # family module -> its kinds
_by_name: dict[str, Any] = {}  # every name of the loaded families -> its kind
_table: list[Any] = []  # every kind in the table's order, once all are loaded


def _load(module: str) -> tuple:
    """Import one family module and add its kinds; a name may belong to one kind only."""
    kinds = _loaded.get(module)
    if kinds is None:
        kinds = _loaded[module] = tuple(importlib.import_module(f"{__package__}.{module}").KINDS)
        for kind in kinds:
            for name in kind.names:
                if _by_name.setdefault(name, kind) is not kind:
                    raise ValueError(f"two layer kinds are called '{name}'")
    return kinds


def all_kinds() -> list:
    """Every kind, in the table's order (the modules' ORDER, then their names): imports every family."""
    if not _table:
        modules = [importlib.import_module(f"{__package__}.{module}") for module in _family_modules()]
        families = [module for module in modules if hasattr(module, "KINDS")]  # a stale index: maybe a shared module
        for family in sorted(families, key=lambda family: (family.ORDER, family.__name__)):
            _table.extend(_load(family.__name__.rpartition(".")[2]))
    return _table


def lookup(name: str):
    """The kind a statement name stands for, or None; imports its family if it is not yet."""
    kind = _by_name.get(name)
    if kind is None and not _table:
        if not _INDEX_CURRENT:
            all_kinds()
        elif name in _FAMILY_OF:
            _load(_FAMILY_OF[name])
        kind = _by_name.get(name)
    return kind


def helper_names() -> frozenset[str]:
    """The classes a generated module may define for its layers (the families' `HELPERS`: `LayerNorm2d`, ...).

    No name in a .cnn file may take one. From the index, without importing the families.
    """
    if _INDEX_CURRENT:
        return frozenset(HELPERS)
    all_kinds()
    return frozenset(_family_helpers())


def _family_helpers() -> list[str]:
    """The helper class names of every family module, in the table's order (imports them all)."""
    names: list[str] = []
    for module in _family_modules():
        for helper in getattr(importlib.import_module(f"{__package__}.{module}"), "HELPERS", ()):
            if helper.name not in names:
                names.append(helper.name)
    return names


def is_layer_name(name: str) -> bool:
    """Whether `name` names a layer kind (without importing its family)."""
    return name in _FAMILY_OF if _INDEX_CURRENT else lookup(name) is not None


def activation_names() -> tuple[str, ...]:
    """The element-wise activations' names, in the table's order (without importing them)."""
    if _INDEX_CURRENT:
        return _ACTIVATION_NAMES
    return tuple(kind.name for kind in all_kinds() if kind.is_activation)


def activation(name: str):
    """The activation kind called `name` (alone on a line, or after a conv or linear), or None."""
    if _INDEX_CURRENT and name not in _ACTIVATION_NAMES:
        return None
    kind = lookup(name)
    return kind if kind is not None and kind.is_activation and kind.name == name else None


def __getattr__(name: str):
    """`LAYERS` (every kind in order), `BY_NAME` (every name and alias -> its kind), `ACTIVATIONS` (by name).

    Built on first use, from every family: the whole table.
    """
    if name == "LAYERS":
        return all_kinds()
    if name == "BY_NAME":
        return {alias: kind for kind in all_kinds() for alias in kind.names}
    if name == "ACTIVATIONS":
        return {kind.name: kind for kind in all_kinds() if kind.is_activation}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def index_source() -> str:
    """The text of index.py for the family modules as they are now."""
    families: dict[str, list] = {}
    for kind in all_kinds():
        families.setdefault(type(kind).__module__.rpartition(".")[2], []).append(kind)
    shared = sorted({entry[:-3] for entry in os.listdir(_HERE) if entry.endswith(".py")} - {"__init__", *families})
    lines = [
        '"""Which family module of cnndsl.layers defines each layer name (registry.py reads it).',
        "",
        "Generated from the family modules by `python -m cnndsl.reports.docs`: do not edit.",
        '"""',
        "",
        "# (module, its kinds' names and aliases, the activations among them), in the table's order.",
        "FAMILIES = (",
    ]
    for module, kinds in families.items():
        names = tuple(name for kind in kinds for name in kind.names)
        activations = tuple(kind.name for kind in kinds if kind.is_activation)
        lines.append(f"    ({module!r}, {names!r}, {activations!r}),")
    lines += [
        ")",
        "# The classes generated modules may define for the families' layers (their `HELPERS`).",
        f"HELPERS = {tuple(_family_helpers())!r}",
        "# The package's modules that define no kinds.",
        f"SHARED = {tuple(shared)!r}",
        "",
    ]
    return "\n".join(lines)
