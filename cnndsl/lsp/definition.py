"""Go to definition: from a block call to its block, from a parameter's use to the parameter."""

from __future__ import annotations

from lsprotocol import types

from ..layers import lookup
from ..syntax.nodes import KeywordArg
from .document import Document


def definition_at(doc: Document, offset: int, uri: str) -> types.Location | None:
    statement = doc.statement_at(offset)
    if statement is None:
        return None
    command = statement.command
    name = command.name
    if name.span.start <= offset <= name.span.end:
        block = doc.blocks.get(name.text)
        if block is None or lookup(name.text) is not None:
            return None
        return types.Location(uri=uri, range=doc.index.range(block.name.span.start, block.name.span.end))
    block = statement.block
    if block is None:
        return None
    for arg in command.args:
        word = arg.value if isinstance(arg, KeywordArg) else arg
        if not (word.span.start <= offset <= word.span.end):
            continue
        for param in block.params:
            if word.text == param.text or (word.text[1:] == param.text and not isinstance(arg, KeywordArg)):
                return types.Location(uri=uri, range=doc.index.range(param.span.start, param.span.end))
    return None
