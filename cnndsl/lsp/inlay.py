"""Inlay hints: each line's output type and parameters, computed size bounds, and the
types of joins, branches and gates after their closing braces."""

from __future__ import annotations

from lsprotocol import types

from ..layers import lookup
from ..syntax.nodes import Command
from . import branches
from .document import Document


def line_hints(doc: Document, start: int = 0, end: int | None = None) -> list[types.InlayHint]:
    """At the end of each line with layers: its output type and parameters."""
    end = len(doc.text) if end is None else end
    by_line: dict[int, list[Command]] = {}
    for statement in doc.statements:
        command = statement.command
        if not (start <= command.span.start <= end):
            continue
        name = command.name.text
        if lookup(name) is None and name not in doc.blocks:
            continue
        by_line.setdefault(doc.index.line_of(command.span.start), []).append(command)
    hints = _bound_hints(doc, start, end) + branches.hints(doc, start, end)
    for line, commands in sorted(by_line.items()):
        label = _line_label(doc, commands)
        if label is None:
            continue
        hints.append(
            types.InlayHint(
                position=doc.index.position(doc.index.line_end(line)),
                label=label,
                kind=types.InlayHintKind.Type,
                padding_left=True,
            )
        )
    return hints


def _bound_hints(doc: Document, start: int, end: int) -> list[types.InlayHint]:
    """On `input HxWx3` without bounds: the ones cnnc computed (`H >= 3, W >= 3 (computed)`)."""
    computed = [s for s in doc.program.symbols.values() if not s.given]
    if not computed:
        return []
    command = next((s.command for s in doc.statements if s.command.name.text == "input" and s.depth == 0), None)
    if command is None or not (start <= command.span.start <= end):
        return []
    label = ", ".join(f"{s.name} >= {s.bound}" for s in computed) + " (computed)"
    return [
        types.InlayHint(
            position=doc.index.position(command.span.end),
            label=label,
            kind=types.InlayHintKind.Type,
            padding_left=True,
            tooltip="the smallest sizes every layer accepts; write `where "
            + ", ".join(f"{s.name} >= N" for s in computed)
            + "` to require larger ones",
        )
    ]


def _line_label(doc: Document, commands: list[Command]) -> str | None:
    per_command = [doc.instances(c) for c in commands]
    typed = [instances for instances in per_command if instances]
    if not typed:
        return None
    outputs = [instance[-1].output for instance in typed[-1]]
    counts = {len(instances) for instances in typed}
    params: list[int] | None = None
    if len(counts) == 1:
        params = [sum(layer.params for instances in typed for layer in instances[i]) for i in range(counts.pop())]
    distinct: list[tuple] = []
    for i, output in enumerate(outputs):
        item = (str(output), params[i] if params is not None and i < len(params) else None)
        if item not in distinct:
            distinct.append(item)
    if len(distinct) == 1:
        output, count = distinct[0]
        return f"-> {output}" + (f", {count:,} params" if count else "")
    shown = " | ".join(output for output, _ in distinct[:3])
    return f"-> {shown}" + (" | …" if len(distinct) > 3 else "")
