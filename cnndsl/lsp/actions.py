"""Code actions: the quick fixes of the diagnostics in a range.

A diagnostic's fixes (`Fix`: set an option to a value) become edits of the
statement's words; E0032 (a vector into a map layer) also offers to insert
`flatten` before the layer, and E0083 (a long skip's join that fails for
some sizes) to add the constraint under which every join fits to the input
line.
"""

from __future__ import annotations

from lsprotocol import types

from ..layers import LayerKind, Role, classify, lookup
from ..syntax.nodes import Command
from .diagnostics import lsp_diagnostic
from .document import Document, argument_text


def quick_fixes(doc: Document, start: int, end: int, uri: str, docs: str | None = None) -> list[types.CodeAction]:
    actions = []
    for d in doc.program.diagnostics:
        if d.span.end < start or d.span.start > end:
            continue
        statement = next((s for s in doc.statements if s.command.span == d.span), None)
        if statement is None:
            continue
        edits = []
        if d.code == "E0032":
            edits.append(("insert `flatten` before this layer", _insert_flatten(doc, statement.command)))
        if d.code == "E0083":
            edit = _add_join_constraint(doc)
            if edit is not None:
                edits.append((f"add `where {doc.program.join_constraint}` to the input line", edit))
        kind = lookup(statement.command.name.text)
        for fix in d.fixes:
            edit = _set_option(doc, statement.command, kind, fix.option, fix.value) if kind else None
            if edit is not None:
                edits.append((fix.title, edit))
        for title, edit in edits:
            actions.append(
                types.CodeAction(
                    title=title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp_diagnostic(doc, d, uri, docs)],
                    edit=types.WorkspaceEdit(changes={uri: [edit]}),
                    is_preferred=True,
                )
            )
    return actions


def _insert_flatten(doc: Document, command: Command) -> types.TextEdit:
    line = doc.index.line_of(command.span.start)
    line_start = doc.index.line_start(line)
    before = doc.text[line_start : command.span.start]
    if before.strip():  # after a ';' or '{' on the same line
        text = "flatten; "
    else:
        text = "flatten" + ("\r\n" if _crlf(doc) else "\n") + before
    return types.TextEdit(range=doc.index.range(command.span.start, command.span.start), new_text=text)


def _add_join_constraint(doc: Document) -> types.TextEdit | None:
    """The typed program's `join_constraint` (E0083's help) added to the input line, after its bounds.

    Only where the line has no residue constraint yet: one more for the same
    symbol would not combine with it.
    """
    constraint = doc.program.join_constraint
    line = next((s.command for s in doc.statements if s.command.name.text == "input" and s.block is None), None)
    if constraint is None or line is None or any(bound.modulus is not None for bound in line.bounds):
        return None
    if line.bounds:
        at = line.bounds[-1].span.end
        return types.TextEdit(range=doc.index.range(at, at), new_text=f", {constraint}")
    at = line.span.end
    return types.TextEdit(range=doc.index.range(at, at), new_text=f" where {constraint}")


def _crlf(doc: Document) -> bool:
    newline = doc.text.find("\n")
    return newline > 0 and doc.text[newline - 1] == "\r"


def _set_option(doc: Document, command: Command, kind: LayerKind, name: str, value: str) -> types.TextEdit | None:
    option = next((o for o in kind.options if o.name == name), None)
    if option is None:
        return None
    new = f"{option.short}{value}" if option.short else f"{option.name}={value}"
    anchor = None  # a new option goes after the kind's first (a conv's kernel), else at the end
    for arg in command.args:
        role = classify(kind, argument_text(arg))
        if role.role is Role.OPTION and role.option is option:
            return types.TextEdit(range=doc.index.range(arg.span.start, arg.span.end), new_text=new)
        if role.role is Role.OPTION and role.option is kind.options[0]:
            anchor = arg.span
    at = anchor.end if anchor is not None else command.span.end
    return types.TextEdit(range=doc.index.range(at, at), new_text=f" {new}")
