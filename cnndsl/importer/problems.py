"""What `cnnc import` reports when a model cannot become a .cnn program.

A problem is about the *Python* model, not about a .cnn text, so it is not one
of the language's coded diagnostics (those point at spans of a .cnn file and
are registered in diagnostics/codes.py with .cnn examples). It names the
operation, where it comes from in the module tree (`layer3.1.conv2`), the
source class and, when known, the file and line of the forward pass that
called it, and says what would help.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        return ", ".join(parts)


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
