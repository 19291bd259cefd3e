"""What `cnnc import` reports when a model cannot become a .cnn program.

A problem is about the *Python* model, not about a .cnn text, so it is not one
of the language's coded diagnostics (those point at spans of a .cnn file and
are registered in diagnostics/codes.py with .cnn examples). It names the
operation, where it comes from in the module tree (`layer3.1.conv2`), the
source class and, when known, the file and line of the forward pass that
called it, and says what would help.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

# How many problems a message lists; the rest are counted.
SHOWN = 10


@dataclass(frozen=True)
class Location:
    """Where in the model an operation comes from."""

    path: str = ""  # the module path: `layer3.1.conv2`, '' for the model itself
    class_name: str = ""  # the class of the module at `path` (or of the model)
    file: str = ""
    line: int = 0

    def describe(self) -> str:
        """`layer3.1 (Bottleneck), models.py:42`; the parts that are known."""
        parts = []
        if self.path or self.class_name:
            where = f"`{self.path}`" if self.path else "the model itself"
            parts.append(f"{where} ({self.class_name})" if self.class_name else where)
        if self.file:
            shown = display_path(self.file)
            parts.append(f"{shown}:{self.line}" if self.line else shown)
        return ", ".join(parts)


def display_path(file: str) -> str:
    """A source file as messages show it: relative to the working directory or to its sys.path entry when under one."""
    path = Path(file)
    try:
        path = path.resolve()
    except OSError:
        return file
    for root in [Path.cwd(), *(Path(entry) for entry in sys.path if entry)]:
        try:
            return path.relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return path.as_posix() if os.sep == "/" else str(path)


@dataclass(frozen=True)
class ImportProblem:
    """One thing the language cannot say."""

    operation: str  # `torch.sort`, `nn.LSTM`, `x * y`, the model's second input `mask`
    message: str  # what is wrong, in the model's terms
    location: Location = Location()
    help: str = ""

    def render(self) -> str:
        lines = [f"error: {self.message}"]
        where = self.location.describe()
        if where:
            lines.append(f"  --> {where}")
        if self.help:
            lines.append(f"  = help: {self.help}")
        return "\n".join(lines)


class ModelImportError(ValueError):
    """The model cannot be imported; nothing was written. `problems` lists why."""

    def __init__(self, problems: list[ImportProblem] | tuple[ImportProblem, ...], summary: str = "") -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        self.summary = summary or f"the model cannot be written in the .cnn language ({count} problem{'s' * (count != 1)})"
        super().__init__(self.render())

    def render(self) -> str:
        lines = [problem.render() for problem in self.problems[:SHOWN]]
        if len(self.problems) > SHOWN:
            lines.append(f"... and {len(self.problems) - SHOWN} more")
        return "\n".join([self.summary, *lines])
