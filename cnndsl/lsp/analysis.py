"""What the language server answers, computed from one analysed text.

`Analysis` holds one version of a document: its syntax tree, its typed
program (the same `check` the command line runs) and a `LineIndex`. Each
editor feature is a method that reads those and returns lsprotocol objects;
the server (cnndsl/lsp.py) only routes requests here. Shapes, parameters,
arithmetic and diagnostics all come from the typed program and the layer
table: nothing here computes a type.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from ..diagnostics.codes import CODES
from ..diagnostics.model import Diagnostic
from ..layers import ACTIVATIONS, LAYERS, LayerKind, Role, classify, lookup
from .positions import UTF16, LineIndex
from ..syntax.nodes import BlockDef, Body, Command, KeywordArg, Module, Repeat, Residual, Shortcut, Word
from ..syntax.source import Span
from ..types.symbolic import Count, bounds_text
from ..check.typed import CallSite, TypedLayer, TypedProgram, TypedResidual

SOURCE = "cnnc"
MAX_ROWS = 16  # instances listed in a hover before "... and N more"
MAX_LAYERS_LISTED = 24
MAX_WALK_DEPTH = 200  # deeper nesting is an error anyway (E0062); stop walking there
STATEMENT_KEYWORDS = {
    "network": "network NAME: the generated class's name",
    "input": "input HxWxC [where H >= N, W >= N]: the input size (height x width x channels); "
    "height and width may be symbols, for any size",
    "block": "block NAME(p1, p2) { ... }: a named, parameterised group of layers",
    "repeat": "repeat N { ... }: the statements N times",
    "residual": "residual { BODY } [shortcut { PATH }]: BODY + PATH (identity without a shortcut)",
    "keep": "keep NAME: keep the current map, to join it later in this body with cat NAME or add NAME",
    "cat": "cat NAME [crop]: the map kept as NAME (centre-cropped with crop), then the current map, on the channels",
    "add": "add NAME [crop]: the map kept as NAME (centre-cropped with crop) plus the current map",
}
TYPICAL_BOUND = 32
COMMON_INPUTS = ("224x224x3", "HxWx3", "32x32x3", "28x28x1", "64x64x3", "128x128x3", "256x256x3")


@dataclass(frozen=True, slots=True)
class Statement:
    """A command in the syntax tree, with the block definition it stands in."""

    command: Command
    block: BlockDef | None
    depth: int


def analyse(text: str, filename: str = "<string>", encoding: str = UTF16) -> Analysis:
    return Analysis(text, filename, encoding)


class Analysis:
    """One version of a document, checked once and queried by every feature."""

    def __init__(self, text: str, filename: str = "<string>", encoding: str = UTF16, parse_cache=None) -> None:
        """`parse_cache`: the document's `cnndsl.syntax.ParseCache`, kept across versions."""
        from ..compiler import check_program

        self.text = text
        self.filename = filename
        self.index = LineIndex(text, encoding)
        # A byte-order mark is not part of the program; a space keeps every offset.
        checked = " " + text[1:] if text.startswith("\ufeff") else text
        # The one pipeline; the typed program keeps the syntax tree it came from.
        self.program: TypedProgram = check_program(checked, filename, parse_cache=parse_cache)
        self.module: Module = self.program.syntax or Module(())
        # The flattened syntax tree (statements, blocks, residuals) is built on
        # first use: publishing diagnostics after an edit does not need it.
        self._statements: list[Statement] | None = None
        self._blocks: dict[str, BlockDef] = {}
        self._residuals: list[tuple[Residual, BlockDef | None]] = []
        self._statement_layers: dict[Span, list[TypedLayer]] | None = None
        self._call_layers: dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]] | None = None
        self._typed_residuals: dict[int, list[TypedResidual]] | None = None
        self._smallest: tuple[tuple[int, int], dict[str, int]] | None | bool = False

    # -- the syntax tree, flattened ------------------------------------------
    @property
    def statements(self) -> list[Statement]:
        """Every command, in source order, with its block and depth."""
        if self._statements is None:
            self._collect(self.module.statements)
        return self._statements

    @property
    def blocks(self) -> dict[str, BlockDef]:
        """The top-level block definitions by name (the first of each name)."""
        if self._statements is None:
            self._collect(self.module.statements)
        return self._blocks

    @property
    def residuals(self) -> list[tuple[Residual, BlockDef | None]]:
        if self._statements is None:
            self._collect(self.module.statements)
        return self._residuals

    def _collect(self, statements) -> None:
        """Every command, block and residual, without recursion (any nesting)."""
        stack: list[tuple[tuple, BlockDef | None, int]] = [(tuple(statements), None, 0)]
        found: list[Statement] = []
        while stack:
            group, block, depth = stack.pop()
            if depth > MAX_WALK_DEPTH:
                continue
            for statement in group:
                if isinstance(statement, Command):
                    found.append(Statement(statement, block, depth))
                elif isinstance(statement, BlockDef):
                    if depth == 0:
                        self._blocks.setdefault(statement.name.text, statement)
                    stack.append((statement.body.statements, statement, depth + 1))
                elif isinstance(statement, Repeat):
                    stack.append((statement.body.statements, block, depth + 1))
                elif isinstance(statement, Residual):
                    self._residuals.append((statement, block))
                    stack.append((statement.body.statements, block, depth + 1))
                    if statement.shortcut is not None:
                        stack.append((statement.shortcut.statements, block, depth + 1))
                elif isinstance(statement, Shortcut):
                    stack.append((statement.body.statements, block, depth + 1))
        found.sort(key=lambda s: s.command.span.start)
        self._statements = found

    def statement_at(self, offset: int) -> Statement | None:
        """The innermost command whose text holds the offset (end inclusive)."""
        best = None
        for statement in self.statements:
            span = statement.command.span
            if span.start <= offset <= span.end and (best is None or span.start >= best.command.span.start):
                best = statement
        return best

    def block_at(self, offset: int) -> BlockDef | None:
        for block in self.blocks.values():
            if block.body.span.start < offset < block.body.span.end:
                return block
        return None

    # -- the typed program, indexed --------------------------------------------
    @property
    def statement_layers(self) -> dict[Span, list[TypedLayer]]:
        if self._statement_layers is None:
            table: dict[Span, list[TypedLayer]] = {}
            calls: dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]] = {}
            for layer in self.program.layers:
                table.setdefault(layer.statement, []).append(layer)
                for site in layer.calls:
                    entry = calls.setdefault(site.span, {}).setdefault(id(site), (site, []))
                    entry[1].append(layer)
            self._statement_layers = table
            self._call_layers = calls
        return self._statement_layers

    @property
    def call_layers(self) -> dict[Span, dict[int, tuple[CallSite, list[TypedLayer]]]]:
        self.statement_layers  # noqa: B018 - builds both tables
        assert self._call_layers is not None
        return self._call_layers

    def layer_instances(self, command: Command) -> list[list[TypedLayer]]:
        """The typed layers of a layer statement, one list per time it was typed.

        A statement inside a block called three times, or inside `repeat 3`,
        is typed three times. An instance starts at the statement's own layer
        (its span is the whole statement); an activation suffix follows it.
        """
        instances: list[list[TypedLayer]] = []
        for layer in self.statement_layers.get(command.span, ()):
            if layer.span == layer.statement or not instances:
                instances.append([layer])
            else:
                instances[-1].append(layer)
        return instances

    def call_instances(self, command: Command) -> list[tuple[CallSite, list[TypedLayer]]]:
        """The layers each expansion of a block call produced."""
        return list(self.call_layers.get(command.span, {}).values())

    def instances(self, command: Command) -> list[list[TypedLayer]]:
        if command.name.text in self.blocks and lookup(command.name.text) is None:
            return [layers for _, layers in self.call_instances(command)]
        return self.layer_instances(command)

    @property
    def typed_residuals(self) -> dict[int, list[TypedResidual]]:
        if self._typed_residuals is None:
            found: dict[int, list[TypedResidual]] = {}
            stack = [iter(self.program.nodes)]
            while stack:
                node = next(stack[-1], None)
                if node is None:
                    stack.pop()
                    continue
                if isinstance(node, TypedResidual):
                    found.setdefault(node.span.start, []).append(node)
                    if len(stack) < MAX_WALK_DEPTH:
                        stack.append(iter(node.body + (node.shortcut or [])))
            self._typed_residuals = found
        return self._typed_residuals

    @property
    def smallest(self) -> tuple[tuple[int, int], dict[str, int]] | None:
        """A symbolic program's smallest admissible input (height, width) and its symbols' values.

        None for a fixed-size program, and when a size can reach 0 (E0071):
        numbers at that size would mean nothing.
        """
        if self._smallest is False:
            self._smallest = None
            program = self.program
            if program.symbolic and program.input is not None and not any(d.code == "E0071" for d in program.diagnostics):
                try:
                    size = program.smallest_size()
                    self._smallest = (size, program.sizes_for(*size))
                except (ValueError, KeyError):
                    pass
        return self._smallest  # type: ignore[return-value]

    # == diagnostics ===============================================================
    def diagnostics(self, uri: str, docs: str | None = None) -> list[types.Diagnostic]:
        return [self.to_lsp(d, uri, docs) for d in self.program.diagnostics]

    def to_lsp(self, d: Diagnostic, uri: str, docs: str | None = None) -> types.Diagnostic:
        """The command line's diagnostic, for the protocol: same code, span, notes and help."""
        lines = [d.message]
        if d.label:
            lines.append(d.label)
        lines += [f"note: {note}" for note in d.notes]
        if d.help:
            lines.append(f"help: {d.help}")
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=self.index.range(r.span.start, r.span.end)),
                message=r.message,
            )
            for r in d.related
        ]
        return types.Diagnostic(
            range=self.index.range(d.span.start, d.span.end),
            severity=types.DiagnosticSeverity.Error if d.is_error else types.DiagnosticSeverity.Warning,
            code=d.code,
            code_description=types.CodeDescription(href=f"{docs}#{d.code.lower()}") if docs and d.code in CODES else None,
            source=SOURCE,
            message="\n".join(lines),
            related_information=related or None,
            data={"fixes": [[f.title, f.option, f.value] for f in d.fixes]} if d.fixes else None,
        )

    # == hover =====================================================================
    def hover(self, offset: int) -> types.Hover | None:
        statement = self.statement_at(offset)
        text = None
        span = None
        if statement is not None:
            command = statement.command
            name = command.name.text
            span = command.span
            if name == "input":
                text = self._hover_input(command)
            elif name == "network":
                text = self._hover_network()
            elif lookup(name) is not None:
                text = self._hover_layer(command, lookup(name), offset)
                word = _word_doc(command, lookup(name), offset, _params(statement.block))
                if word:
                    text = f"{word}\n\n---\n\n{text}"
            elif name in self.blocks:
                text = self._hover_call(command, self.blocks[name])
        if text is None:
            text, span = self._hover_structure(offset)
        if text is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=self.index.range(span.start, span.end) if span else None,
        )

    def _hover_input(self, command: Command) -> str | None:
        program = self.program
        shape = program.input
        if shape is None:
            return ("**input** HxWxC: the input size, height x width x channels; height and width may be "
                    "symbols for any size: `input HxWx3 where H >= 32, W >= 32`")
        if not program.symbols:
            return (
                f"**input** `{shape}`: height {shape.height}, width {shape.width}, {shape.channels} channels\n\n"
                f"PyTorch input `{_torch(shape)}`"
            )
        lines = [f"**input** `{shape}`: height {shape.height}, width {shape.width}, {shape.channels} channels; "
                 "every size the bounds admit, checked at once", ""]
        for symbol in program.symbols.values():
            bound = f"{symbol.name} >= {symbol.bound}"
            how = "written" if symbol.given else "computed: the smallest size every layer accepts"
            lines.append(f"- `{bound}` ({how}): the {' and '.join(symbol.axes) or 'size'}")
        from ..types.shapes import class_shape

        lines += ["", f"PyTorch input `{_torch(shape)}`; the generated class has `input_shape = {class_shape(shape)}`",
                  "", "`//` is floor division, as in Python: after `pool 2`, the height is `H//2`"]
        return "\n".join(lines)

    def bounds_text(self) -> str:
        """`H >= 32, W >= 3`: every size symbol's bound (written, or computed)."""
        return bounds_text(self.program.symbols.values())

    def _hover_network(self) -> str:
        program = self.program
        lines = [f"**network** `class {program.name}(nn.Module)`"]
        if program.input is not None and program.output is not None:
            lines.append(f"\n`{program.input}` → `{program.output}` · {len(program.layers)} layers · "
                         f"{program.total_params:,} params · {self._macs(program.total_macs)}")
            if program.symbols:
                lines.append(f"\nsizes: {self.bounds_text()}; `cnnc summary FILE --size 224x224` gives the numbers at a size")
        return "\n".join(lines)

    def _macs(self, macs) -> str:
        """`4,423,680 MACs`; for a symbolic count its expression and its value at the smallest size."""
        if not isinstance(macs, Count) or not macs.terms:  # an empty Count is 0
            return f"{macs or 0:,} MACs"
        names = macs.symbols
        order = list(self.program.symbols)
        names.sort(key=lambda n: order.index(n) if n in order else len(order))
        expression = format(macs, ",")
        text = f"MACs depend on {' and '.join(names)}"
        if not expression.startswith("depends on"):  # Count writes out sums of up to two terms
            text = f"`{expression}` MACs"
        smallest = self.smallest
        if smallest is not None:
            (height, width), sizes = smallest
            text += f" ({macs.at(sizes):,} at {height}x{width}, the smallest size)"
        return text

    def _hover_layer(self, command: Command, kind: LayerKind, offset: int) -> str:
        instances = self.layer_instances(command)
        doc = f"`{kind.syntax}` · {kind.summary}"
        if not instances:
            why = (
                "no type: this block is never called"
                if self._in_uncalled_block(command)
                else "no type: an error on this line or before it stops the typing here"
            )
            return f"**{kind.name}** · `{kind.torch}`\n\n{doc}\n\n_{why}_" + _options_doc(kind)
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
            body = [title, "", _type_line(layer.input, layer.output, layer.params, self._macs(layer.macs))]
            if layer.calls:
                body += ["", f"in {_chain(layer.calls)}"]
            if layer.arithmetic:
                body += ["", "```text", *layer.arithmetic, "```"]
            body += ["", doc]
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
        body += ["", doc]
        return "\n".join(body)

    def _in_uncalled_block(self, command: Command) -> bool:
        statement = next((s for s in self.statements if s.command is command), None)
        if statement is None or statement.block is None:
            return False
        name = statement.block.name.text
        return not any(s.command.name.text == name for s in self.statements)

    def _hover_call(self, command: Command, block: BlockDef) -> str:
        signature = f"block {block.name.text}({', '.join(p.text for p in block.params)})"
        line = self.index.line_of(block.span.start) + 1
        head = [f"**{signature}** · defined on line {line}"]
        args = [a.text if isinstance(a, Word) else _snippet(self.text, a.span) for a in command.args]
        instances = self.call_instances(command)
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
            body = head + ["", _type_line(first.input, last.output, params, self._macs(macs), count=len(layers)), "", "```text"]
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

    def _hover_structure(self, offset: int) -> tuple[str | None, Span | None]:
        """Hover on a block header or a residual keyword."""
        for block in self.blocks.values():
            if block.header.start <= offset <= block.header.end:
                calls = [s.command for s in self.statements if s.command.name.text == block.name.text]
                signature = f"block {block.name.text}({', '.join(p.text for p in block.params)})"
                lines = [f"**{signature}** · called {len(calls)} time{'s' if len(calls) != 1 else ''}"]
                for call in calls[:MAX_ROWS]:
                    lines.append(f"- line {self.index.line_of(call.span.start) + 1}: `{_snippet(self.text, call.span)}`")
                return "\n".join(lines), block.header
        for residual, _ in self.residuals:
            on_keyword = residual.header.start <= offset <= residual.header.end
            if residual.shortcut is not None:  # the `shortcut` keyword, between the bodies
                on_keyword |= residual.body.span.end <= offset < residual.shortcut.span.start
            if not on_keyword:
                continue
            typed = self.typed_residuals.get(residual.span.start, [])
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
        return None, None

    # == inlay hints ===============================================================
    def inlay_hints(self, start: int = 0, end: int | None = None) -> list[types.InlayHint]:
        """At the end of each line with layers: its output type and parameters."""
        end = len(self.text) if end is None else end
        by_line: dict[int, list[Command]] = {}
        for statement in self.statements:
            command = statement.command
            if not (start <= command.span.start <= end):
                continue
            name = command.name.text
            if lookup(name) is None and name not in self.blocks:
                continue
            by_line.setdefault(self.index.line_of(command.span.start), []).append(command)
        hints = self._bound_hints(start, end)
        for line, commands in sorted(by_line.items()):
            label = self._line_label(commands)
            if label is None:
                continue
            hints.append(
                types.InlayHint(
                    position=self.index.position(self.index.line_end(line)),
                    label=label,
                    kind=types.InlayHintKind.Type,
                    padding_left=True,
                )
            )
        return hints

    def _bound_hints(self, start: int, end: int) -> list[types.InlayHint]:
        """On `input HxWx3` without bounds: the ones cnnc computed (`H >= 3, W >= 3 (computed)`)."""
        computed = [s for s in self.program.symbols.values() if not s.given]
        if not computed:
            return []
        command = next((s.command for s in self.statements if s.command.name.text == "input" and s.depth == 0), None)
        if command is None or not (start <= command.span.start <= end):
            return []
        label = ", ".join(f"{s.name} >= {s.bound}" for s in computed) + " (computed)"
        return [
            types.InlayHint(
                position=self.index.position(command.span.end),
                label=label,
                kind=types.InlayHintKind.Type,
                padding_left=True,
                tooltip="the smallest sizes every layer accepts; write `where "
                + ", ".join(f"{s.name} >= N" for s in computed)
                + "` to require larger ones",
            )
        ]

    def _line_label(self, commands: list[Command]) -> str | None:
        per_command = [self.instances(c) for c in commands]
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

    # == completion ================================================================
    def completion(self, offset: int) -> types.CompletionList:
        line = self.index.line_of(offset)
        before = self.text[self.index.line_start(line) : offset]
        if "#" in before:
            return types.CompletionList(is_incomplete=False, items=[])
        cut = max(before.rfind(";"), before.rfind("{"), before.rfind("}"))
        prefix = before[cut + 1 :]
        words = prefix.split()
        partial = words[-1] if words and not prefix[-1:].isspace() else ""
        done = words[:-1] if partial else words
        block = self.block_at(offset)
        if not done:
            return _list(self._statement_items(block, top_level=self._top_level(offset)))
        first = done[0]
        if first == "input" and len(done) == 1:
            return _list(_size_items(partial))
        if first == "input":
            after = self.text[offset : self.index.line_end(line)].split("#")[0].split()
            return _list(self._bound_items(done[1:], partial, written_after="where" in after))
        if first == "network" and len(done) == 1:
            return _list([types.CompletionItem(label=self.program.name, kind=types.CompletionItemKind.Class,
                                               detail="the class name")])
        kind = lookup(first)
        if kind is None:
            return _list([])
        return _list(self._option_items(kind, done[1:], partial, block))

    def _bound_items(self, words: list[str], partial: str, written_after: bool = False) -> list[types.CompletionItem]:
        """After `input HxWx3`: `where`, then the bounds not written yet (`H >= 32`)."""
        symbols = [p for p in words[0].split("x")[:2] if p[:1].isalpha() and p[:1].isupper()] if words else []
        if not symbols:
            return []

        def bound(name: str) -> int:  # the computed bound, or a typical one while the line does not parse
            known = self.program.symbols.get(name)
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

    def _top_level(self, offset: int) -> bool:
        depth = 0
        for statement in self.module.statements:
            if isinstance(statement, (BlockDef, Repeat, Residual, Shortcut)) and statement.span.start < offset < statement.span.end:
                depth += 1
        return depth == 0

    def _statement_items(self, block: BlockDef | None, top_level: bool) -> list[types.CompletionItem]:
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
        for name, defined in self.blocks.items():
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

    def _option_items(self, kind: LayerKind, given: list[str], partial: str, block: BlockDef | None) -> list[types.CompletionItem]:
        params = _params(block)
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

    # == symbols ===================================================================
    def symbols(self) -> list[types.DocumentSymbol]:
        top: list[types.DocumentSymbol] = []
        network_children: list[types.DocumentSymbol] = []
        network_span: Span | None = None
        name_span: Span | None = None
        for statement in self.module.statements:
            if isinstance(statement, BlockDef):
                symbol = self._symbol(statement, 0)
                if symbol is not None:
                    top.append(symbol)
                continue
            network_span = statement.span if network_span is None else network_span.cover(statement.span)
            if isinstance(statement, Command) and statement.name.text == "network":
                name_span = statement.span
                continue
            symbol = self._symbol(statement, 0)
            if symbol is not None:
                network_children.append(symbol)
        if network_span is not None:
            program = self.program
            detail = f"{program.input} -> {program.output}" if program.input and program.output else ""
            if program.output is not None:
                detail += f", {program.total_params:,} params"
            selection = name_span or network_span
            top.append(
                types.DocumentSymbol(
                    name=program.name,
                    kind=types.SymbolKind.Class,
                    detail=detail or None,
                    range=self.index.range(network_span.start, network_span.end),
                    selection_range=self.index.range(selection.start, selection.end),
                    children=network_children,
                )
            )
        top.sort(key=lambda s: (s.range.start.line, s.range.start.character))
        return top

    def _symbol(self, statement, depth: int) -> types.DocumentSymbol | None:
        if depth > MAX_WALK_DEPTH:
            return None
        r = self.index.range
        if isinstance(statement, BlockDef):
            return types.DocumentSymbol(
                name=statement.name.text,
                kind=types.SymbolKind.Function,
                detail=f"block ({', '.join(p.text for p in statement.params)})",
                range=r(statement.span.start, statement.span.end),
                selection_range=r(statement.name.span.start, statement.name.span.end),
                children=self._children(statement.body, depth),
            )
        if isinstance(statement, Repeat):
            return types.DocumentSymbol(
                name=f"repeat {statement.count.text}",
                kind=types.SymbolKind.Array,
                range=r(statement.span.start, statement.span.end),
                selection_range=r(statement.header.start, statement.header.end),
                children=self._children(statement.body, depth),
            )
        if isinstance(statement, Residual):
            typed = self.typed_residuals.get(statement.span.start, [])
            children = self._children(statement.body, depth)
            if statement.shortcut is not None:
                shortcut = statement.shortcut
                children.append(
                    types.DocumentSymbol(
                        name="shortcut",
                        kind=types.SymbolKind.Namespace,
                        range=r(shortcut.span.start, shortcut.span.end),
                        selection_range=r(shortcut.span.start, shortcut.span.start + 1),
                        children=self._children(shortcut, depth),
                    )
                )
            return types.DocumentSymbol(
                name="residual",
                kind=types.SymbolKind.Namespace,
                detail=f"{typed[0].input} -> {typed[0].output}" if len(typed) == 1 else None,
                range=r(statement.span.start, statement.span.end),
                selection_range=r(statement.header.start, statement.header.end),
                children=children,
            )
        if isinstance(statement, Shortcut):
            return None
        if isinstance(statement, Command):
            name = statement.name.text
            is_call = name in self.blocks and lookup(name) is None
            if name == "input":
                kind = types.SymbolKind.Variable
            elif is_call:
                kind = types.SymbolKind.Method
            elif lookup(name) is not None:
                kind = types.SymbolKind.Field
            else:
                return None
            instances = self.instances(statement) if name != "input" else []
            outputs = {str(inst[-1].output) for inst in instances}
            detail = f"-> {outputs.pop()}" if len(outputs) == 1 else None
            if name == "input" and self.program.symbols:
                detail = self.bounds_text()
            return types.DocumentSymbol(
                name=_snippet(self.text, statement.span),
                kind=kind,
                detail=detail,
                range=r(statement.span.start, statement.span.end),
                selection_range=r(statement.name.span.start, statement.name.span.end),
            )
        return None

    def _children(self, body: Body, depth: int) -> list[types.DocumentSymbol]:
        children = []
        for statement in body.statements:
            symbol = self._symbol(statement, depth + 1)
            if symbol is not None:
                children.append(symbol)
        return children

    # == definition ================================================================
    def definition(self, offset: int, uri: str) -> types.Location | None:
        statement = self.statement_at(offset)
        if statement is None:
            return None
        command = statement.command
        name = command.name
        if name.span.start <= offset <= name.span.end:
            block = self.blocks.get(name.text)
            if block is None or lookup(name.text) is not None:
                return None
            return types.Location(uri=uri, range=self.index.range(block.name.span.start, block.name.span.end))
        block = statement.block
        if block is None:
            return None
        for arg in command.args:
            word = arg.value if isinstance(arg, KeywordArg) else arg
            if not (word.span.start <= offset <= word.span.end):
                continue
            for param in block.params:
                if word.text == param.text or (word.text[1:] == param.text and not isinstance(arg, KeywordArg)):
                    return types.Location(uri=uri, range=self.index.range(param.span.start, param.span.end))
        return None

    # == code actions ==============================================================
    def code_actions(self, start: int, end: int, uri: str, docs: str | None = None) -> list[types.CodeAction]:
        actions = []
        for d in self.program.diagnostics:
            if d.span.end < start or d.span.start > end:
                continue
            statement = next((s for s in self.statements if s.command.span == d.span), None)
            if statement is None:
                continue
            edits = []
            if d.code == "E0032":
                edits.append(("insert `flatten` before this layer", self._insert_flatten(statement.command)))
            kind = lookup(statement.command.name.text)
            for fix in d.fixes:
                edit = self._set_option(statement.command, kind, fix.option, fix.value) if kind else None
                if edit is not None:
                    edits.append((fix.title, edit))
            for title, edit in edits:
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[self.to_lsp(d, uri, docs)],
                        edit=types.WorkspaceEdit(changes={uri: [edit]}),
                        is_preferred=True,
                    )
                )
        return actions

    def _insert_flatten(self, command: Command) -> types.TextEdit:
        line = self.index.line_of(command.span.start)
        line_start = self.index.line_start(line)
        before = self.text[line_start : command.span.start]
        if before.strip():  # after a ';' or '{' on the same line
            text = "flatten; "
        else:
            text = "flatten" + ("\r\n" if self._crlf() else "\n") + before
        return types.TextEdit(range=self.index.range(command.span.start, command.span.start), new_text=text)

    def _crlf(self) -> bool:
        newline = self.text.find("\n")
        return newline > 0 and self.text[newline - 1] == "\r"

    def _set_option(self, command: Command, kind: LayerKind, name: str, value: str) -> types.TextEdit | None:
        option = next((o for o in kind.options if o.name == name), None)
        if option is None:
            return None
        new = f"{option.short}{value}" if option.short else f"{option.name}={value}"
        anchor = None  # a new option goes after the kind's first (a conv's kernel), else at the end
        for arg in command.args:
            role = classify(kind, _snippet_word(arg))
            if role.role is Role.OPTION and role.option is option:
                return types.TextEdit(range=self.index.range(arg.span.start, arg.span.end), new_text=new)
            if role.role is Role.OPTION and role.option is kind.options[0]:
                anchor = arg.span
        at = anchor.end if anchor is not None else command.span.end
        return types.TextEdit(range=self.index.range(at, at), new_text=f" {new}")

    # == formatting ================================================================
    def formatting(self) -> list[types.TextEdit] | None:
        """One edit covering what the formatter changes; None on syntax errors."""
        from ..formatter import FormatError, format_source

        try:
            formatted = format_source(self.text, self.filename)
        except FormatError:
            return None
        old = self.text
        if formatted == old:
            return []
        prefix = 0
        limit = min(len(old), len(formatted))
        while prefix < limit and old[prefix] == formatted[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == formatted[-1 - suffix]:
            suffix += 1
        return [
            types.TextEdit(
                range=self.index.range(prefix, len(old) - suffix),
                new_text=formatted[prefix : len(formatted) - suffix],
            )
        ]


# -- helpers ---------------------------------------------------------------------


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


def _word_doc(command: Command, kind: LayerKind, offset: int, params: list[str]) -> str | None:
    """What the option, flag or activation under the cursor means (`k3`: the kernel size)."""
    for arg in command.args:
        if not (arg.span.start <= offset <= arg.span.end):
            continue
        role = classify(kind, _snippet_word(arg), params)
        if role.role is Role.FLAG:
            return f"`{arg.text}`: {kind.flags[arg.text]}"
        if role.role is Role.ACTIVATION:
            act = role.activation
            return f"`{arg.text}`: activation after the {kind.name}, {act.summary} (`{act.torch}`)"
        if role.role is Role.OPTION:
            return f"`{_snippet_word(arg)}`: {role.option.name}, {role.option.doc or role.option.role}"
    return None


def _params(block: BlockDef | None) -> list[str]:
    """The names a word may stand for in a block body: its parameters."""
    return [p.text for p in block.params] if block is not None else []


def _snippet_word(arg) -> str:
    return f"{arg.key.text}={arg.value.text}" if isinstance(arg, KeywordArg) else arg.text


def _options_doc(kind: LayerKind) -> str:
    rows = [f"- {f'`{o.short}N` / ' if o.short else ''}`{o.name}=N`: {o.doc or o.role}" for o in kind.options]
    rows += [f"- `{flag}`: {meaning}" for flag, meaning in kind.flags.items()]
    return ("\n\n" + "\n".join(rows)) if rows else ""


def _torch(shape) -> str:
    return "(N, " + ", ".join(str(n) for n in shape.torch_shape) + ")"


def _type_line(input, output, params: int, macs: str, count: int | None = None) -> str:
    """The type line of a hover; `macs` is already written out (Analysis._macs)."""
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


def _snippet(text: str, span: Span) -> str:
    return " ".join(text[span.start : span.end].split())

