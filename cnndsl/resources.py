"""Locating the grammar/ and templates/ folders in every install mode.

In a source checkout or an editable install they sit next to the package (the
project's top level); in a wheel they are packaged inside `cnndsl/` (see
pyproject.toml, `force-include`). Look inside first, then next to it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cnndsl is installed without its {name}/ folder (looked in {_PACKAGE} and {_PACKAGE.parent})"
    )
