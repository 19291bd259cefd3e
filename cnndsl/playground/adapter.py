"""The playground's one door into the compiler.

Everything the page shows comes from the typed program that `cnnc check`,
`cnnc summary` and the language server read; this module is the only one in
`cnndsl.playground` that imports the rest of cnndsl, and it hands the others
plain values of its own (`Problem`, `Hint`, `LayerRow`, `Overview`, ...), so
that a rename elsewhere is fixed here alone.

What it calls: `compiler.check_program` (through the language server's
`Analysis`, which checks once and answers hover and inlay hints),
`reports.summary.summarize`, `reports.draw.render_svg`,
`backend.codegen.generate` (jinja2 and black: imported on the first call,
for the code tab), and `cnnc verify`'s machinery in `backend/verify.py`
(torch: imported when Verify is pressed, never before).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .offsets import Utf16Text

VERIFY_DEVICE = "cpu"
VERIFY_BATCH = 2  # `cnnc verify`'s default

# Code generation, one thread at a time: two threads importing black at once
# get a half-initialised module ("module 'black' has no attribute 'Mode'").
_GENERATING = threading.Lock()


@dataclass(frozen=True)
class Problem:
    """A diagnostic, its span in UTF-16 offsets (the editor's)."""

    start: int
    end: int
    line: int
    column: int
    severity: str  # "error" or "warning"
    code: str
    message: str
    label: str | None
    notes: tuple[str, ...]
    help: str | None


@dataclass(frozen=True)
class Hint:
    """What the editor writes after a line: `-> 16x16x20, 5,020 params`."""

    line: int  # 1-based
    offset: int  # UTF-16 offset where it goes (the line's end)
    label: str


@dataclass(frozen=True)
class LayerRow:
    """One PyTorch leaf layer, as the table, the diagram and the editor know it."""

    index: int  # in the typed program's layers: the diagram's data-layer
    line: int
    calls: tuple[int, ...]  # lines of the block calls it was expanded from, outermost first
    start: int  # its statement, in UTF-16 offsets
    end: int
    module: str
    output: str
    params: int
    macs: str
    depth: int
    arithmetic: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    """The summary table's content."""

    network: str
    input: str | None
    output: str | None
    output_noun: str | None
    rows: tuple[LayerRow, ...]
    total_params: int
    total_macs: str
    memory: tuple[tuple[str, int], ...]  # (torchinfo's label, bytes); empty for a symbolic program
    memory_note: str  # "batch 1, float32"
    sizes: str | None  # a symbolic program's bounds: "H >= 32, W >= 32"


@dataclass(frozen=True)
class Hover:
    markdown: str
    start: int | None  # UTF-16 offsets of what it describes
    end: int | None


@dataclass(frozen=True)
class Verified:
    ok: bool
    report: str  # `cnnc verify`'s table, or why it did not run


# -- the hook for more layer facts in the hover ------------------------------
#
# A hover section adds a paragraph (Markdown) to a layer's hover, after the
# arithmetic: `section(program, layer)` gets the typed program and the typed
# layer under the cursor and returns text or None. The receptive field goes
# here when the analyses land: `HOVER_SECTIONS.append(receptive_field_section)`
# with a function that reads it off the typed layer.

HoverSection = Callable[[object, object], "str | None"]
HOVER_SECTIONS: list[HoverSection] = []


class Checked:
    """One version of a source, checked once; every question the page asks about it."""

    def __init__(self, text: str, filename: str, parse_cache=None) -> None:
        """`parse_cache`: the document's (`parse_cache()`), kept across its versions; the result is the same."""
        from ..lsp.analysis import Analysis

        self.text = text
        self.filename = filename
        self.units = Utf16Text(text)
        self.analysis = Analysis(text, filename, parse_cache=parse_cache)
        self.program = self.analysis.program  # the TypedProgram `check_program` returned
        self._summarized = None
        self._rows: list[LayerRow] | None = None

    @property
    def ok(self) -> bool:
        return self.program.ok

    @property
    def network(self) -> str:
        return self.program.name

    @property
    def totals(self) -> tuple[int, int]:
        """(PyTorch leaf layers, parameters) of what was typed."""
        return len(self.program.layers), self.program.total_params

    def problems(self) -> list[Problem]:
        units = self.units
        return [
            Problem(
                start=units.to_utf16(d.span.start),
                end=units.to_utf16(d.span.end),
                line=d.line,
                column=d.column,
                severity=d.severity,
                code=d.code,
                message=d.message,
                label=d.label,
                notes=tuple(d.notes),
                help=d.help,
            )
            for d in self.program.diagnostics
        ]

    def hints(self) -> list[Hint]:
        found = []
        for hint in self.analysis.inlay_hints():
            label = hint.label if isinstance(hint.label, str) else "".join(part.value for part in hint.label)
            found.append(Hint(hint.position.line + 1, self.units.position(hint.position.line, hint.position.character), label))
        return found

    def _summary(self):
        from ..reports.summary import summarize

        if self._summarized is None:
            self._summarized = summarize(self.program)
        return self._summarized

    def rows(self) -> list[LayerRow]:
        if self._rows is None:
            self._rows = self._make_rows()
        return self._rows

    def _make_rows(self) -> list[LayerRow]:
        summary = self._summary()
        units = self.units
        return [
            LayerRow(
                index=index,
                line=entry.line,
                calls=tuple(entry.called_at),
                start=units.to_utf16(layer.statement.start),
                end=units.to_utf16(layer.statement.end),
                module=entry.module,
                output=entry.output_type,
                params=entry.params,
                macs=f"{entry.macs:,}",
                depth=entry.depth,
                arithmetic=tuple(entry.arithmetic),
            )
            for index, (entry, layer) in enumerate(zip(summary.layers, self.program.layers))
        ]

    def overview(self) -> Overview:
        program = self.program
        summary = self._summary()
        memory = summary.memory
        return Overview(
            network=program.name,
            input=str(program.input) if program.input is not None else None,
            output=str(program.output) if program.output is not None else None,
            output_noun=program.output.noun if program.output is not None else None,
            rows=tuple(self.rows()),
            total_params=summary.total_params,
            total_macs=f"{summary.total_macs:,}",
            memory=tuple((label, value) for _, label, value in memory.figures()) if memory is not None else (),
            memory_note=f"batch {memory.batch}, {memory.dtype}" if memory is not None else "",
            sizes=", ".join(f"{name} >= {entry['bound']}" for name, entry in summary.symbols.items()) if summary.symbols else None,
        )

    def hover(self, offset: int) -> Hover | None:
        """What the language server's hover says at a UTF-16 offset, with the extra sections."""
        point = self.units.from_utf16(offset)
        found = self.analysis.hover(point)
        if found is None:
            return None
        text = found.contents.value if hasattr(found.contents, "value") else str(found.contents)
        layer = self._layer_at(point)
        if layer is not None:
            extra = [section(self.program, layer) for section in HOVER_SECTIONS]
            text = "\n\n---\n\n".join([text, *filter(None, extra)])
        start = end = None
        if found.range is not None:
            start = self.units.position(found.range.start.line, found.range.start.character)
            end = self.units.position(found.range.end.line, found.range.end.character)
        return Hover(text, start, end)

    def _layer_at(self, point: int):
        """The first typed layer whose own words hold the offset (its statement's, else an activation's)."""
        best = None
        for layer in self.program.layers:
            span = layer.span
            if span.start <= point <= span.end and (best is None or span.end - span.start < best.span.end - best.span.start):
                best = layer
        return best

    def svg(self, max_width: float) -> str:
        """`cnnc draw`'s picture; a symbolic program at its smallest admissible size, as `cnnc draw` draws it."""
        from ..compiler import instantiate
        from ..reports.draw import render_svg

        program = self.program
        at = instantiate(program, *program.smallest_size()) if program.symbolic else None
        if at is not None and not at.ok:
            raise ValueError("the network cannot be drawn at its smallest admissible size")
        return render_svg(program, max_width=max_width, at=at)

    def python_source(self) -> str:
        """`cnnc build`'s module text (imports jinja2 and black on first use)."""
        from ..backend.codegen import generate

        with _GENERATING:
            return generate(self.program)

    def verify(self) -> Verified:
        """`cnnc verify FILE --device cpu`: build the module, run a batch, compare with the static types.

        Within `cnnc verify`'s memory guard (its default budget, 4 GB); imports torch.
        """
        from ..backend.verify import DEFAULT_BUDGET, MemoryBudgetError, render_verification, verify
        from ..compiler import Program

        with _GENERATING:
            module_class = Program(self.program).module_class()
        try:
            result = verify(self.program, module_class, device=VERIFY_DEVICE, batch=VERIFY_BATCH, budget=DEFAULT_BUDGET)
        except MemoryBudgetError as error:
            return Verified(False, f"not run: {error}")
        return Verified(result.ok, render_verification(self.program, result))


def parse_cache():
    """A cache for one document: after an edit only the statements that changed are parsed again."""
    from ..syntax.incremental import ParseCache

    return ParseCache()


# -- examples ------------------------------------------------------------------

def examples_dir() -> Path:
    """examples/, next to the package in a checkout, inside it in a wheel."""
    from ..resources import resource_dir

    return resource_dir("examples")
