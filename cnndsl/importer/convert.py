"""A PyTorch module -> a .cnn program: trace, map, decompose, structure, write, check.

`convert(module)` returns a `Conversion`: the text, the checked program, and
for each line of the network's body the source node it ends at (what the
verification compares, line by line). It raises `ModelImportError` listing
every operation the language cannot say; it writes nothing.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass, field

from torch import nn

from ..check.typed import TypedProgram
from ..compiler import check_program
from ..formatter import format_source
from . import graph
from .decompose import decompose
from .ir import Block, Layer, children
from .naming import network_name
from .problems import ImportProblem, Location, ModelImportError, display_path
from .render import Line, block_lines, comment_for, compact_paths, layout, macs_text
from .structure import Structurer
from .trace import Traced, trace

DEFAULT_SIZE = (224, 224)
_INPUT = re.compile(r"\A\s*([0-9]+|[A-Z][A-Z0-9_]*)x([0-9]+|[A-Z][A-Z0-9_]*)x([0-9]+)\s*\Z")


@dataclass(frozen=True)
class InputSpec:
    """`--input`: the traced size, the channels, and whether the program says symbols (`HxWx3`)."""

    height: int
    width: int
    channels: int | None  # None: found from the model's first layer (else 3)
    symbolic: bool | None  # None: symbolic when the model takes any size, else fixed
    symbols: tuple[str, str] = ("H", "W")

    @classmethod
    def parse(cls, text: str | None) -> InputSpec:
        """`224x224x3`, `HxWx3` (symbolic, traced at 224x224), or None (automatic). ValueError when malformed."""
        if text is None:
            return cls(*DEFAULT_SIZE, None, None)
        match = _INPUT.match(text)
        if match is None:
            raise ValueError(f"--input takes HEIGHTxWIDTHxCHANNELS like 224x224x3 (or HxWx3 for any size), not '{text}'")
        height, width, channels = match.groups()
        if int(channels) < 1:
            raise ValueError("--input: the channels must be at least 1")
        if height.isdigit() != width.isdigit():
            raise ValueError("--input: give both sizes as numbers (224x224x3) or both as symbols (HxWx3)")
        if height.isdigit():
            if int(height) < 1 or int(width) < 1 or int(height) > 65536 or int(width) > 65536:
                raise ValueError("--input: sizes are from 1 to 65536")
            return cls(int(height), int(width), int(channels), False)
        return cls(*DEFAULT_SIZE, int(channels), True, (height, width))


@dataclass
class Conversion:
    """An imported program before it is written."""

    text: str
    program: TypedProgram
    traced: Traced
    blocks: list[Block]
    lines: dict[int, Line] = field(default_factory=dict)  # the network body's line numbers -> their statements
    symbolic: bool = False
    fallback: str = ""  # why a symbolic input was not used


def convert(
    module: nn.Module, input: InputSpec | None = None, *, origin: str = "", name: str | None = None, fallback: str = ""
) -> Conversion:
    """The .cnn program for `module`; raises ModelImportError (nothing is written)."""
    input = input or InputSpec(*DEFAULT_SIZE, None, None)
    channels = input.channels or _first_channels(module) or 3
    shape = (1, channels, input.height, input.width)
    traced = trace(module, shape)
    flows = graph.build(traced)
    statements, reports = decompose(flows, traced)
    found = graph.problems(traced, flows.reports + reports)
    if found:
        raise ModelImportError(found)
    blocks, main = Structurer().run(statements)
    name = name or network_name(type(module).__name__)
    attempts = [True, False] if input.symbolic is None and not fallback else [bool(input.symbolic)]
    for symbolic in attempts:
        input_line = f"input {input.symbols[0]}x{input.symbols[1]}x{channels}" if symbolic else f"input {input.height}x{input.width}x{channels}"
        text, lines = _compose(module, blocks, main, name, input_line, origin, input, symbolic, None)
        program = check_program(text, f"{name}.cnn")
        if symbolic and program.join_constraint and all(d.code == "E0083" for d in program.diagnostics if d.is_error):
            # A U-Net's levels join only sizes they divide: the checker says which (`where H % 4 == 0, ...`).
            input_line += f" where {program.join_constraint}"
            text, lines = _compose(module, blocks, main, name, input_line, origin, input, symbolic, None)
            program = check_program(text, f"{name}.cnn")
        if program.ok:
            header = _header(module, name, origin, program, input, symbolic, _notes(statements), fallback)
            text, lines = _compose(module, blocks, main, name, input_line, origin, input, symbolic, header)
            text = format_source(text, f"{name}.cnn")
            program = check_program(text, f"{name}.cnn")
            return Conversion(text, program, traced, blocks, lines, symbolic, fallback)
        errors = [d for d in program.diagnostics if d.is_error]
        fallback = f"cnnc check says: {errors[0].message}" if errors else ""
        if symbolic and input.symbolic:  # asked for any size (--input HxWx3), which the model does not take
            raise ModelImportError(
                [
                    ImportProblem(
                        "input size",
                        f"the model does not take any input size as written ({fallback})",
                        Location("", type(module).__name__),
                        f"give a fixed size, like --input {input.height}x{input.width}x{channels}",
                    )
                ]
            )
    raise ModelImportError(
        [
            ImportProblem(
                "writing",
                "the program cnnc wrote does not check (a bug in cnnc import): "
                + "; ".join(f"line {d.line}: {d.message}" for d in program.diagnostics if d.is_error)[:2000],
                Location("", type(module).__name__),
                "please report it with the model",
            )
        ]
    )


def _first_channels(module: nn.Module) -> int | None:
    """The input channels the model's first convolution or batch norm expects."""
    for submodule in module.modules():
        if isinstance(submodule, nn.Conv2d):
            return submodule.in_channels
        if isinstance(submodule, nn.BatchNorm2d):
            return submodule.num_features
    return None


def _compose(module, blocks, main, name, input_line, origin, input, symbolic, header) -> tuple[str, dict[int, Line]]:
    out: list[str] = list(header or [])
    if out:
        out.append("")
    for block in blocks:
        out += block_lines(block)
        out.append("")
    out += [f"network {name}", input_line]
    body = layout(main)
    lines: dict[int, Line] = {}
    for line in body:
        if line.depth == 0 and line.statements:
            line.comment = comment_for(line)
            lines[len(out) + 1] = line
        out.append(line.text())
    return "\n".join(out) + "\n", lines


def _header(module, name, origin, program: TypedProgram, input: InputSpec, symbolic: bool, notes, fallback: str) -> list[str]:
    source = type(module)
    qualified = f"{source.__module__}.{source.__qualname__}"
    where = _where_defined(source)
    size = f"{input.height}x{input.width}"
    params = program.total_params
    if symbolic:
        from ..compiler import instantiate

        at = instantiate(program, input.height, input.width)
        macs = at.total_macs if at.ok else None
    else:
        macs = program.total_macs
    lines = [
        f"# {name}, imported by `cnnc import {origin}`" if origin else f"# {name}, imported by cnnc import",
        f"# from {qualified}{where}:",
        f"# {params:,} parameters" + (f", {macs_text(macs)} at {size}." if macs is not None else "."),
        "#",
    ]
    if symbolic:
        bounds = " and ".join(symbol.constraint for symbol in program.symbols.values())
        lines.append(f"# Any image size: {bounds} (computed by cnnc); the comments' sizes are for {size}.")
    elif fallback:
        lines.append(f"# The input is fixed at {size}: as written, the model does not take any size ({_clip(fallback, 300)}).")
    else:
        lines.append(f"# The input is fixed at {size}.")
    lines.append("# Each comment names the source modules of its line and their output (height x width x channels).")
    for note, paths in notes.items():
        lines.append(f"# {note}: {compact_paths(paths)}.")
    return [wrapped for line in lines for wrapped in (textwrap.wrap(line, 100, subsequent_indent="# ") or ["#"])]


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _notes(statements, found: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """What the language does not write but the source sets (BatchNorm momentum), by the modules that set it."""
    found = {} if found is None else found
    for statement in statements:
        if isinstance(statement, Layer) and statement.origin.note:
            found.setdefault(statement.origin.note, []).append(statement.origin.source)
        for body in children(statement):
            _notes(body, found)
    return found


def _where_defined(source: type) -> str:
    """` (torchvision/models/resnet.py:166)`: the class's file and line, when Python knows them."""
    try:
        file = inspect.getsourcefile(source)
        line = inspect.getsourcelines(source)[1]
    except (OSError, TypeError):
        return ""
    return f" ({display_path(file)}:{line})" if file else ""


