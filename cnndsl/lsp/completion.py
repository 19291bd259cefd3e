"""Completion: statements at the start of a statement, then the layer's options.

Layer names, aliases, options and flags come from the layer table; block
names and parameters from the document.
"""

from __future__ import annotations

from lsprotocol import types

from ..layers import ACTIVATIONS, LAYERS, LayerKind, Role, classify, lookup
from ..syntax.nodes import BlockDef
from .document import Document, block_params

STATEMENT_KEYWORDS = {
    "network": "network NAME: the generated class's name",
    "input": "input HxWxC [where H >= N, W >= N]: the input size (height x width x channels); "
    "height and width may be symbols, for any size",
    "block": "block NAME(p1, p2) { ... }: a named, parameterised group of layers",
    "repeat": "repeat N { ... }: the statements N times",
    "residual": "residual { BODY } [shortcut { PATH }]: BODY + PATH (identity without a shortcut)",
    "concat": "concat { branch { ... } branch { ... } }: the branches' outputs joined on the channels",
    "split": "split { branch { ... } branch { ... } }: branch i gets the i-th equal part of the channels; outputs joined",
    "branch": "branch { ... }: one path inside a concat or split (empty: the input itself)",
    "gate": "gate { BODY }: the input times BODY's output (1x1xC: squeeze-and-excitation)",
    "keep": "keep NAME: keep the current map, to join it later in this body with cat NAME or add NAME",
    "cat": "cat NAME [crop]: the map kept as NAME (centre-cropped with crop), then the current map, on the channels",
    "add": "add NAME [crop]: the map kept as NAME (centre-cropped with crop) plus the current map",
}
TYPICAL_BOUND = 32
COMMON_INPUTS = ("224x224x3", "HxWx3", "32x32x3", "28x28x1", "64x64x3", "128x128x3", "256x256x3")


def complete(doc: Document, offset: int) -> types.CompletionList:
    line = doc.index.line_of(offset)
    before = doc.text[doc.index.line_start(line) : offset]
    if "#" in before:
        return types.CompletionList(is_incomplete=False, items=[])
    cut = max(before.rfind(";"), before.rfind("{"), before.rfind("}"))
    prefix = before[cut + 1 :]
    words = prefix.split()
    partial = words[-1] if words and not prefix[-1:].isspace() else ""
    done = words[:-1] if partial else words
    block = doc.block_at(offset)
    if not done:
        return _list(_statement_items(doc, block, top_level=_top_level(doc, offset)))
    first = done[0]
    if first == "input" and len(done) == 1:
        return _list(_size_items(partial))
    if first == "input":
        after = doc.text[offset : doc.index.line_end(line)].split("#")[0].split()
        return _list(_bound_items(doc, done[1:], partial, written_after="where" in after))
    if first == "network" and len(done) == 1:
        return _list([types.CompletionItem(label=doc.program.name, kind=types.CompletionItemKind.Class,
                                           detail="the class name")])
    kind = lookup(first)
    if kind is None:
        return _list([])
    return _list(_option_items(doc, kind, done[1:], partial, block))


def _bound_items(doc: Document, words: list[str], partial: str, written_after: bool = False) -> list[types.CompletionItem]:
    """After `input HxWx3`: `where`, then the bounds not written yet (`H >= 32`)."""
    symbols = [p for p in words[0].split("x")[:2] if p[:1].isalpha() and p[:1].isupper()] if words else []
    if not symbols:
        return []

    def bound(name: str) -> int:  # the computed bound, or a typical one while the line does not parse
        known = doc.program.symbols.get(name)
        return known.bound if known is not None else TYPICAL_BOUND

    if len(words) == 1:
        if written_after:  # `input HxWx3 | where H >= 32`
            return []
        names = list(dict.fromkeys(symbols))
        text = "where " + ", ".join(f"{n} >= {bound(n)}" for n in names)
        return [types.CompletionItem(label="where", kind=types.CompletionItemKind.Keyword, insert_text=text,
                                     detail=text, documentation="lower bounds of the size symbols (here the "
                                     "smallest sizes every layer accepts); raise them to require larger inputs")]
    if words[1] != "where" or not (words[-1] == "where" or words[-1].endswith(",")):
        return []
    written = {w.strip(",") for w in words[2:]}
    return [
        types.CompletionItem(label=f"{n} >= {bound(n)}", kind=types.CompletionItemKind.Value,
                             detail=f"the lower bound of {n}", filter_text=n)
        for n in dict.fromkeys(symbols) if n not in written
    ]


def _top_level(doc: Document, offset: int) -> bool:
    """Whether the offset is outside every body (a statement with children: block, repeat, ...)."""
    for statement in doc.module.statements:
        if type(statement).children and statement.span.start < offset < statement.span.end:
            return False
    return True


def _statement_items(doc: Document, block: BlockDef | None, top_level: bool) -> list[types.CompletionItem]:
    items = []
    for kind in LAYERS:
        for name in kind.names:
            items.append(
                types.CompletionItem(
                    label=name,
                    kind=types.CompletionItemKind.Function,
                    detail=kind.syntax if name == kind.name else f"alias of {kind.name}: {kind.syntax}",
                    documentation=types.MarkupContent(
                        kind=types.MarkupKind.Markdown, value=f"{kind.summary}\n\nPyTorch: `{kind.torch}`"
                    ),
                    sort_text=("0" if name == kind.name else "1") + name,
                )
            )
    for name, defined in doc.blocks.items():
        if block is not None and name == block.name.text:
            continue  # a block cannot call itself
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Module,
                detail=f"block {name}({', '.join(p.text for p in defined.params)})",
                sort_text="0" + name,
            )
        )
    for word, text in STATEMENT_KEYWORDS.items():
        if word in ("network", "input", "block") and not top_level:
            continue
        items.append(
            types.CompletionItem(label=word, kind=types.CompletionItemKind.Keyword, detail=text, sort_text="2" + word)
        )
    return items


def _option_items(doc: Document, kind: LayerKind, given: list[str], partial: str, block: BlockDef | None) -> list[types.CompletionItem]:
    params = block_params(block)
    roles = [classify(kind, word, params, at_start=not index) for index, word in enumerate(given)]
    if roles and roles[-1].role is Role.ACTIVATION and roles[-1].activation.positionals:
        return []  # `leakyrelu 0.2`: a number comes next
    if roles and roles[0].role is Role.FORM:
        return []  # `pool to 7x7`: the size, then nothing
    used = {role.option.name for role in roles if role.role is Role.OPTION}
    used |= {word for word, role in zip(given, roles) if role.role is Role.FLAG}
    items = []
    if "=" in partial:
        key = partial.split("=", 1)[0]
        return [
            types.CompletionItem(label=f"{key}={p}", kind=types.CompletionItemKind.Variable,
                                 detail=f"block parameter {p}")
            for p in params
        ]
    for form in kind.forms if not given else ():
        items.append(types.CompletionItem(label=form.keyword, kind=types.CompletionItemKind.Keyword,
                                          detail=f"{kind.name} {form.syntax}: {form.doc}"))
    for option in kind.options:
        if option.name in used:
            continue
        items.append(
            types.CompletionItem(
                label=option.sample,
                kind=types.CompletionItemKind.Property,
                detail=f"{option.name}: {option.doc or option.role}",
                filter_text=option.sample,
                sort_text=f"0{kind.options.index(option)}",
            )
        )
        items.append(
            types.CompletionItem(
                label=f"{option.name}=",
                kind=types.CompletionItemKind.Property,
                detail=f"{option.name}: {option.doc or option.role}",
                sort_text=f"3{option.name}",
            )
        )
    for flag, meaning in kind.flags.items():
        if flag not in used:
            items.append(types.CompletionItem(label=flag, kind=types.CompletionItemKind.EnumMember,
                                              detail=meaning, sort_text="1" + flag))
    if kind.takes_activation and not any(role.role is Role.ACTIVATION for role in roles):
        for name, act in ACTIVATIONS.items():
            items.append(types.CompletionItem(label=name, kind=types.CompletionItemKind.Function,
                                              detail=f"activation: {act.summary}", sort_text="2" + name))
    for param in params:
        items.append(types.CompletionItem(label=param, kind=types.CompletionItemKind.Variable,
                                          detail=f"block parameter of {block.name.text}", sort_text="4" + param))
    return items


def _list(items: list[types.CompletionItem]) -> types.CompletionList:
    return types.CompletionList(is_incomplete=False, items=items)


def _size_items(partial: str) -> list[types.CompletionItem]:
    sizes = list(COMMON_INPUTS)
    if partial.isdigit():
        sizes = [f"{partial}x{partial}x3", f"{partial}x{partial}x1"] + [s for s in sizes if s.startswith(partial)]
    return [
        types.CompletionItem(
            label=size,
            kind=types.CompletionItemKind.Value,
            detail="any height and width: H and W are size symbols" if size[0].isalpha() else "height x width x channels",
            sort_text=f"{i:02d}",
        )
        for i, size in enumerate(dict.fromkeys(sizes))
    ]
