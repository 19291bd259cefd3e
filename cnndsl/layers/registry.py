"""The layer table: every kind by name.

The tables are filled once, when `cnndsl.layers` is imported: its
`__init__` finds every family module of the package (a module with a `KINDS`
tuple) and installs their kinds in the order of the modules' `ORDER`. This
module imports nothing of the kinds, so the generic argument reader and the
word classifier can read the tables without an import cycle.
"""

from __future__ import annotations

from typing import Any

# The kinds are base.LayerKind objects (Any here: base imports this module, not the reverse).
# Every kind, in the order the docs, the completion and the diagram legend list them.
LAYERS: list[Any] = []
# Every name and alias -> its kind.
BY_NAME: dict[str, Any] = {}
# The element-wise activations by name: alone on a line, or after a conv or linear.
ACTIVATIONS: dict[str, Any] = {}


# Every class a generated module may define for its layers (the families' `HELPERS`): no network may take one's name.
HELPER_NAMES: set[str] = set()


def install(kinds, helpers=()) -> None:
    """Add a family's kinds (and its helper classes) to the table; a name may belong to one kind only."""
    HELPER_NAMES.update(helper.name for helper in helpers)
    for kind in kinds:
        for name in kind.names:
            if name in BY_NAME:
                raise ValueError(f"two layer kinds are called '{name}'")
        LAYERS.append(kind)
        BY_NAME.update({name: kind for name in kind.names})
        if kind.is_activation:
            ACTIVATIONS[kind.name] = kind


def lookup(name: str):
    """The kind a statement name stands for, or None."""
    return BY_NAME.get(name)
