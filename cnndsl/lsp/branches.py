"""The editor's view of concat, split, branch and gate: hover, inlay hints, outline entries.

Everything comes from the typed program (check/typed.py's TypedConcat,
TypedBranch, TypedGate), found by the offset of the statement
(`Document.typed_structures`): one typed node per expansion of the statement.
"""

from __future__ import annotations

from lsprotocol import types

from ..check.typed import TypedBranch, TypedConcat, TypedGate
from ..syntax.nodes import Branch, Command, Structural
from ..syntax.source import Span
from .document import Document

MAX_ROWS = 8

MEANINGS = {
    "concat": "every branch runs on the input; their outputs are joined on the channels (`torch.cat(dim=1)`)",
    "split": "branch i gets the i-th equal part of the input's channels (`x.chunk`); their outputs are joined on the channels",
    "branch": "one path of a concat or split; an empty branch is the input itself",
    "gate": "the input times the body's output, which broadcasts onto it (each axis equal or 1)",
}


def describe(node) -> str:
    """One typed node in a line: `28x28x192 → 28x28x256 (64 + 128 + 32 + 32)`."""
    if isinstance(node, TypedConcat):
        return f"`{node.input}` → `{node.output}` (channels {' + '.join(map(str, node.channels))})"
    if isinstance(node, TypedGate):
        return f"`{node.input}` × `{node.gate}` → `{node.output}`"
    if isinstance(node, TypedBranch):
        return f"`{node.input}` → `{node.output}`" + ("" if node.body else " (the input itself)")
    return ""


def hover(doc: Document, offset: int) -> tuple[str | None, Span | None]:
    """Hover on a concat, split, branch or gate keyword."""
    for statement, _ in doc.structures:
        if not (statement.header.start <= offset <= statement.header.end):
            continue
        keyword = statement.keyword
        lines = [f"**{keyword}** · {MEANINGS[keyword]}"]
        rows: dict[str, int] = {}
        for node in doc.typed_structures.get(statement.span.start, []):
            row = describe(node)
            rows[row] = rows.get(row, 0) + 1
        for row, count in list(rows.items())[:MAX_ROWS]:
            lines.append(f"- {row}" + (f" ×{count}" if count > 1 else ""))
        if len(rows) > MAX_ROWS:
            lines.append(f"- … and {len(rows) - MAX_ROWS} more")
        return "\n".join(lines), statement.header
    return None, None


def _label(typed: list) -> str | None:
    """The hint for a statement's typed nodes, when every expansion agrees."""
    labels = {_one_label(node) for node in typed}
    if len(labels) != 1:
        return None
    return labels.pop()


def _one_label(node) -> str:
    if isinstance(node, TypedConcat):
        return f"-> {node.output} ({' + '.join(map(str, node.channels))})"
    if isinstance(node, TypedGate):
        return f"-> {node.output} (x * {node.gate})"
    return f"-> {node.output}" + ("" if node.body else " (input)")


def hints(doc: Document, start: int, end: int) -> list[types.InlayHint]:
    """After the closing brace of each join, gate and branch: its type.

    A branch whose last statement ends on the line of its '}' gets none: the
    line's own hint already shows that output.
    """
    found = []
    for statement, _ in doc.structures:
        if not (start <= statement.span.end <= end):
            continue
        if type(statement) is Branch and statement.body.statements:
            last = statement.body.statements[-1]
            if type(last) is Command and doc.index.line_of(last.span.end) == doc.index.line_of(statement.span.end):
                continue
        label = _label(doc.typed_structures.get(statement.span.start, []))
        if label is None:
            continue
        found.append(
            types.InlayHint(
                position=doc.index.position(statement.span.end),
                label=label,
                kind=types.InlayHintKind.Type,
                padding_left=True,
            )
        )
    return found


def symbol_detail(doc: Document, statement: Structural) -> str | None:
    """The outline's detail for a join, branch or gate: its type when every expansion agrees."""
    label = _label(doc.typed_structures.get(statement.span.start, []))
    return label.removeprefix("-> ") if label else None

