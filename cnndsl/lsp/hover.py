"""Hover: what a statement, option, block or residual under the cursor is.

On a layer: its PyTorch module, input and output types, parameters, MACs and
the arithmetic, for each time it was typed (a block called three times gives
three rows); on a block call: the layers it expanded to; on `input` and
`network`: the program's sizes and totals. All of it read from the typed
program.
"""

from __future__ import annotations

from lsprotocol import types

from ..types.shapes import VectorType, class_shape
from ..check.typed import CallSite
from ..layers import LayerKind, Role, classify, lookup
from ..syntax.nodes import BlockDef, Command, Word
from ..syntax.source import Span
from ..types.symbolic import Count
from . import branches
from .document import Document, argument_text, block_params

MAX_ROWS = 16  # instances listed in a hover before "... and N more"
MAX_LAYERS_LISTED = 24


def hover_at(doc: Document, offset: int) -> types.Hover | None:
    statement = doc.statement_at(offset)
    text = None
    span = None
    if statement is not None:
        command = statement.command
        name = command.name.text
        span = command.span
        if name == "input":
            text = _input_text(doc, command)
        elif name == "network":
            text = _network_text(doc)
        elif lookup(name) is not None:
            text = _layer_text(doc, command, lookup(name), offset)
            word = _word_doc(command, lookup(name), offset, block_params(statement.block))
            if word:
                text = f"{word}\n\n---\n\n{text}"
        elif name in doc.blocks:
            text = _call_text(doc, command, doc.blocks[name])
    if text is None:
        text, span = _structure_text(doc, offset)
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=doc.index.range(span.start, span.end) if span else None,
    )


def _input_text(doc: Document, command: Command) -> str | None:
    program = doc.program
    shape = program.input
    if shape is None:
        return ("**input** HxWxC: the input size, height x width x channels; height and width may be "
                "symbols for any size: `input HxWx3 where H >= 32, W >= 32`")
    if isinstance(shape, VectorType):
        return f"**input** `{shape}`: a vector of {shape.features:,} features\n\nPyTorch input `{_torch(shape)}`"
    if not program.symbols:
        return (
            f"**input** `{shape}`: height {shape.height}, width {shape.width}, {shape.channels} channels\n\n"
            f"PyTorch input `{_torch(shape)}`"
        )
    lines = [f"**input** `{shape}`: height {shape.height}, width {shape.width}, {shape.channels} channels; "
             "every size the bounds admit, checked at once", ""]
    for symbol in program.symbols.values():
        bound = symbol.constraint
        how = "written" if symbol.given else "computed: the smallest size every layer accepts"
        lines.append(f"- `{bound}` ({how}): the {' and '.join(symbol.axes) or 'size'}")
    lines += ["", f"PyTorch input `{_torch(shape)}`; the generated class has `input_shape = {class_shape(shape)}`",
              "", "`//` is floor division, as in Python: after `pool 2`, the height is `H//2`"]
    return "\n".join(lines)


def _network_text(doc: Document) -> str:
    program = doc.program
    lines = [f"**network** `class {program.name}(nn.Module)`"]
    if program.input is not None and program.output is not None:
        lines.append(f"\n`{program.input}` → `{program.output}` · {len(program.layers)} layers · "
                     f"{program.total_params:,} params · {macs_text(doc, program.total_macs)}")
        if program.symbols:
            lines.append(f"\nsizes: {doc.bounds_text()}; `cnnc summary FILE --size 224x224` gives the numbers at a size")
    return "\n".join(lines)


def macs_text(doc: Document, macs) -> str:
    """`4,423,680 MACs`; for a symbolic count its expression and its value at the smallest size."""
    if not isinstance(macs, Count) or not macs.terms:  # an empty Count is 0
        return f"{macs or 0:,} MACs"
    names = macs.symbols
    order = list(doc.program.symbols)
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    expression = format(macs, ",")
    text = f"MACs depend on {' and '.join(names)}"
    if not expression.startswith("depends on"):  # Count writes out sums of up to two terms
        text = f"`{expression}` MACs"
    smallest = doc.smallest
    if smallest is not None:
        (height, width), sizes = smallest
        text += f" ({macs.at(sizes):,} at {height}x{width}, the smallest size)"
    return text


def _layer_text(doc: Document, command: Command, kind: LayerKind, offset: int) -> str:
    instances = doc.layer_instances(command)
    usage = f"`{kind.syntax}` · {kind.summary}"
    if not instances:
        why = (
            "no type: this block is never called"
            if _in_uncalled_block(doc, command)
            else "no type: an error on this line or before it stops the typing here"
        )
        return f"**{kind.name}** · `{kind.torch}`\n\n{usage}\n\n_{why}_" + _options_doc(kind)
    # The layer under the cursor: the activation suffix, or the layer itself.
    pick = 0
    first = instances[0]
    inside = [i for i, layer in enumerate(first) if layer.span.start <= offset <= layer.span.end]
    if inside:
        pick = min(inside, key=lambda i: first[i].span.end - first[i].span.start)
    chosen = [inst[pick] if pick < len(inst) else inst[0] for inst in instances]
    layer = chosen[0]
    title = f"**{layer.kind.name}** · `{layer.module}`"
    if len(chosen) == 1:
        body = [title, "", _type_line(layer.input, layer.output, layer.params, macs_text(doc, layer.macs))]
        if layer.calls:
            body += ["", f"in {_chain(layer.calls)}"]
        if layer.arithmetic:
            body += ["", "```text", *layer.arithmetic, "```"]
        body += ["", usage]
        return "\n".join(body)
    labels = _instance_labels([inst[0].calls for inst in instances])
    body = [f"**{layer.kind.name}** · typed {len(chosen)} times (each call and repetition)", ""]
    body += ["| instance | layer | input | output | params | MACs |", "|---|---|---|---|---:|---:|"]
    for label, item in list(zip(labels, chosen))[:MAX_ROWS]:
        body.append(
            f"| {label} | `{item.module}` | {item.input} | {item.output} | {item.params:,} | {item.macs:,} |"
        )
    if len(chosen) > MAX_ROWS:
        body.append(f"\n… and {len(chosen) - MAX_ROWS} more")
    if layer.arithmetic:
        body += ["", f"Arithmetic of the first ({labels[0]}):", "```text", *layer.arithmetic, "```"]
    body += ["", usage]
    return "\n".join(body)


def _in_uncalled_block(doc: Document, command: Command) -> bool:
    statement = next((s for s in doc.statements if s.command is command), None)
    if statement is None or statement.block is None:
        return False
    name = statement.block.name.text
    return not any(s.command.name.text == name for s in doc.statements)


def _call_text(doc: Document, command: Command, block: BlockDef) -> str:
    signature = f"block {block.name.text}({', '.join(p.text for p in block.params)})"
    line = doc.index.line_of(block.span.start) + 1
    head = [f"**{signature}** · defined on line {line}"]
    args = [a.text if isinstance(a, Word) else doc.snippet(a.span) for a in command.args]
    instances = doc.call_instances(command)
    if len(args) == len(block.params) and args:
        values = getattr(instances[0][0], "values", ()) if len(instances) == 1 else ()
        if len(values) == len(args):  # the values, when a parameter is passed on: `c = 128`
            args = [_value_text(v) for v in values]
        if len(instances) == 1 or all(not a[:1].isalpha() for a in args):
            head.append("\n" + ", ".join(f"`{p.text} = {a}`" for p, a in zip(block.params, args)))
    if not instances:
        return "\n".join(head + ["", "_not expanded: see the diagnostics_"])
    if len(instances) == 1:
        site, layers = instances[0]
        first, last = layers[0], layers[-1]
        params = sum(layer.params for layer in layers)
        macs = sum(layer.macs for layer in layers)
        body = head + ["", _type_line(first.input, last.output, params, macs_text(doc, macs), count=len(layers)), "", "```text"]
        width = max(len(layer.module) for layer in layers[:MAX_LAYERS_LISTED])
        for layer in layers[:MAX_LAYERS_LISTED]:
            body.append(f"line {layer.line:<4} {layer.module.ljust(width)}  -> {layer.output}")
        if len(layers) > MAX_LAYERS_LISTED:
            body.append(f"... and {len(layers) - MAX_LAYERS_LISTED} more layers")
        body.append("```")
        return "\n".join(body)
    chains = [site_layers[0].calls[: site_layers[0].calls.index(site) + 1] for site, site_layers in instances]
    labels = _instance_labels(chains)
    body = head + ["", f"expanded {len(instances)} times:", "",
                   "| instance | input | output | layers | params | MACs |", "|---|---|---|---:|---:|---:|"]
    for label, (site, layers) in list(zip(labels, instances))[:MAX_ROWS]:
        body.append(
            f"| {label} | {layers[0].input} | {layers[-1].output} | {len(layers)} | "
            f"{sum(x.params for x in layers):,} | {sum(x.macs for x in layers):,} |"
        )
    if len(instances) > MAX_ROWS:
        body.append(f"\n… and {len(instances) - MAX_ROWS} more")
    return "\n".join(body)


def _structure_text(doc: Document, offset: int) -> tuple[str | None, Span | None]:
    """Hover on a block header, a residual keyword, or a concat, split, branch or gate keyword."""
    for block in doc.blocks.values():
        if block.header.start <= offset <= block.header.end:
            calls = [s.command for s in doc.statements if s.command.name.text == block.name.text]
            signature = f"block {block.name.text}({', '.join(p.text for p in block.params)})"
            lines = [f"**{signature}** · called {len(calls)} time{'s' if len(calls) != 1 else ''}"]
            for call in calls[:MAX_ROWS]:
                lines.append(f"- line {doc.index.line_of(call.span.start) + 1}: `{doc.snippet(call.span)}`")
            return "\n".join(lines), block.header
    for residual, _ in doc.residuals:
        on_keyword = residual.header.start <= offset <= residual.header.end
        if residual.shortcut is not None:  # the `shortcut` keyword, between the bodies
            on_keyword |= residual.body.span.end <= offset < residual.shortcut.span.start
        if not on_keyword:
            continue
        typed = doc.typed_structures.get(residual.span.start, [])
        lines = ["**residual** · the body's output plus the shortcut's (identity without one)"]
        rows: dict[str, int] = {}
        for node in typed:
            shortcut = "identity" if node.shortcut is None else str(_last_output(node.shortcut, node.input))
            row = f"`{node.input}` → body `{node.output}`, shortcut `{shortcut}`" + (
                f" (in {_chain(node.calls)})" if node.calls else ""
            )
            rows[row] = rows.get(row, 0) + 1
        for row, count in list(rows.items())[:MAX_ROWS]:
            lines.append(f"- {row}" + (f" ×{count}" if count > 1 else ""))
        if len(rows) > MAX_ROWS:
            lines.append(f"- … and {len(rows) - MAX_ROWS} more")
        return "\n".join(lines), residual.header
    return branches.hover(doc, offset)


def _word_doc(command: Command, kind: LayerKind, offset: int, params: list[str]) -> str | None:
    """What the option, flag or activation under the cursor means (`k3`: the kernel size)."""
    for arg in command.args:
        if not (arg.span.start <= offset <= arg.span.end):
            continue
        role = classify(kind, argument_text(arg), params)
        if role.role is Role.FLAG:
            return f"`{arg.text}`: {kind.flags[arg.text]}"
        if role.role is Role.ACTIVATION:
            act = role.activation
            return f"`{arg.text}`: activation after the {kind.name}, {act.summary} (`{act.torch}`)"
        if role.role is Role.OPTION:
            return f"`{argument_text(arg)}`: {role.option.name}, {role.option.doc or role.option.role}"
    return None


def _options_doc(kind: LayerKind) -> str:
    rows = [f"- {f'`{o.short}N` / ' if o.short else ''}`{o.name}=N`: {o.doc or o.role}" for o in kind.options]
    rows += [f"- `{flag}`: {meaning}" for flag, meaning in kind.flags.items()]
    return ("\n\n" + "\n".join(rows)) if rows else ""


def _torch(shape) -> str:
    return "(N, " + ", ".join(str(n) for n in shape.torch_shape) + ")"


def _type_line(input, output, params: int, macs: str, count: int | None = None) -> str:
    """The type line of a hover; `macs` is already written out (macs_text)."""
    parts = [f"`{input}` → `{output}`"]
    if count is not None:
        parts.append(f"{count} layer{'s' if count != 1 else ''}")
    parts += [f"{params:,} params", macs]
    return " · ".join(parts) + f"  \nPyTorch `{_torch(input)}` → `{_torch(output)}`"


def _chain(calls: tuple[CallSite, ...]) -> str:
    return " ← ".join(f"`{getattr(site, 'resolved', site.text)}` (line {site.line})" for site in reversed(calls))


def _instance_labels(chains: list[tuple[CallSite, ...]]) -> list[str]:
    """A label per instance: its call chain, numbered when a repeat repeats it."""
    texts = [_chain(chain) if chain else "top level" for chain in chains]
    seen: dict[str, int] = {}
    totals = {text: texts.count(text) for text in texts}
    labels = []
    for text in texts:
        seen[text] = seen.get(text, 0) + 1
        labels.append(f"{text} #{seen[text]}" if totals[text] > 1 else text)
    return labels


def _value_text(value) -> str:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _last_output(nodes, default):
    for node in reversed(nodes):
        return node.output
    return default
