"""Statements -> .cnn text: words, the layout of lines, comments.

The layout follows the hand-written examples (examples/zoo): a `conv` or
`linear` layer shares its line with the `bn`, activation and `dropout` right
after it (`conv 64 k7 s2 p3 nobias; bn; relu`); `repeat` and `residual` with
a one-line body stay on one line (`repeat 2 { basic 64 }`); everything else
has a line of its own. The same layout counts lines for the block decisions
(structure.py), so "a block is worth it" means fewer lines of this text.
"""

from __future__ import annotations

import contextvars
import re
import textwrap
from dataclasses import dataclass, field

from ..layers import lookup
from .ir import Arg, Block, Branches, Call, Gate, Group, Layer, Param, Region, Repeat, Residual, Statement, sources_of
from .meanings import WINDOW

INDENT = "  "
# A compound statement with a one-line body stays on one line up to this width.
ONE_LINE = 80
# Layers that share the line of the conv or linear before them.
JOINERS = frozenset({"bn", "batchnorm", "layernorm", "dropout"})


def number(value) -> str:
    """A value as a statement writes it: `64`, `3` or `3x5`, `0.5`, `1e-6`, or a parameter's name."""
    if isinstance(value, Param):
        return value.name
    if isinstance(value, tuple):
        # A pair of equal values is one number (`k3`); a three-part size is always written out (`4x4x4`).
        return str(value[0]) if len(value) == 2 and value[0] == value[1] else "x".join(map(str, value))
    if isinstance(value, float):
        if value == 0 or 1e-4 <= abs(value) < 1e6:
            text = repr(value)
            return text[:-2] if text.endswith(".0") and "e" not in text else text
        mantissa, _, exponent = f"{value:.6g}".partition("e")
        return f"{mantissa}e{int(exponent)}"
    return str(value)


def words(layer: Layer) -> str:
    """`conv 64 k3 s2 p1 nobias relu`: literal options in their short form, parameters spelled out."""
    kind = lookup(layer.kind)
    positional = {p.name for p in kind.positionals} if kind is not None else set()
    options = {o.name: o for o in kind.options} if kind is not None else {}
    window = next((arg.value for arg in layer.args if arg.name == "window"), None)
    parts = [layer.kind]
    for arg in layer.args:
        if arg.name == "to":
            parts += ["to", number(arg.value)]
        elif arg.name in positional:
            parts.append(number(arg.value))
        elif not _is_default(arg, window):
            option = options.get(arg.name)
            if option is not None and option.short and not isinstance(arg.value, Param):
                parts.append(f"{option.short}{number(arg.value)}")
            else:
                parts.append(f"{arg.name}={number(arg.value)}")
    parts.extend(layer.flags)
    if layer.activation is not None:
        parts.append(words(layer.activation))
    return " ".join(parts)


def _is_default(arg: Arg, window) -> bool:
    if arg.default == WINDOW:
        return arg.value == window
    if isinstance(arg.value, Param) or arg.default is None:
        return False
    return arg.value == arg.default


def call_words(call: Call) -> str:
    return " ".join([call.block, *(number(value) for value in call.args)])


@dataclass
class Line:
    """One line of text: its indentation depth, its code, and the statements it holds (top-level ones only)."""

    depth: int
    code: str
    statements: list = field(default_factory=list)
    comment: str = ""

    def text(self) -> str:
        return INDENT * self.depth + self.code + (f"  # {self.comment}" if self.comment else "")


def joins_line(line: list, statement) -> bool:
    """Whether `statement` goes on the line of `line` (its statements): a norm, activation or dropout after a conv, linear or norm."""
    return (
        isinstance(statement, Layer)
        and (statement.kind in JOINERS or _is_activation(statement.kind))
        and bool(line)
        and all(isinstance(s, Layer) for s in line)
        and line[0].kind in ("conv", "linear", "bn", "layernorm")
    )


def layout(statements, depth: int = 0) -> list[Line]:
    """The lines of a statement list at `depth` (nested bodies one deeper)."""
    lines: list[Line] = []
    for statement in statements:
        previous = lines[-1] if lines else None
        if previous is not None and previous.depth == depth and joins_line(previous.statements, statement):
            previous.code += "; " + words(statement)
            previous.statements.append(statement)
            continue
        lines.extend(_statement_lines(statement, depth))
    return lines


def _is_activation(kind: str) -> bool:
    found = lookup(kind)
    return found is not None and found.is_activation


def _statement_lines(statement: Statement, depth: int) -> list[Line]:
    if isinstance(statement, Layer):
        return [Line(depth, words(statement), [statement])]
    if isinstance(statement, Call):
        return [Line(depth, call_words(statement), [statement])]
    if isinstance(statement, Repeat):
        return _wrapped(f"repeat {number(statement.count)}", statement.body, depth, statement)
    if isinstance(statement, Residual):
        if statement.shortcut is None:
            return _wrapped("residual", statement.body, depth, statement)
        body, shortcut = layout(statement.body, depth + 1), layout(statement.shortcut, depth + 1)
        one_line = f"residual {{ {body[0].code} }} shortcut {{ {shortcut[0].code} }}" if len(body) == len(shortcut) == 1 else ""
        if one_line and len(INDENT * depth) + len(one_line) <= ONE_LINE:
            return [Line(depth, one_line, [statement])]
        lines = [Line(depth, "residual {", [statement])]
        lines += layout(statement.body, depth + 1)
        lines.append(Line(depth, "} shortcut {"))
        lines += layout(statement.shortcut, depth + 1)
        lines.append(Line(depth, "}"))
        return lines
    if isinstance(statement, Gate):
        return _wrapped("gate", statement.body, depth, statement)
    if isinstance(statement, Branches) and not statement.split and len(statement.branches) == 2 and not statement.branches[0]:
        skip = _long_skip_lines(statement, depth)
        if skip is not None:
            return skip
    if isinstance(statement, Branches):
        head = "split" if statement.split else "concat"
        branches = [_wrapped("branch", branch, depth + 1, None) for branch in statement.branches]
        one_line = f"{head} {{ " + " ".join(b[0].code for b in branches) + " }"
        if all(len(b) == 1 for b in branches) and len(INDENT * depth) + len(one_line) <= ONE_LINE:
            return [Line(depth, one_line, [statement])]
        return [Line(depth, f"{head} {{", [statement]), *(line for b in branches for line in b), Line(depth, "}")]
    if isinstance(statement, Group):
        inner = layout(statement.body, depth)
        joined = "; ".join(line.code for line in inner)
        if all(line.depth == depth for line in inner) and len(INDENT * depth) + len(joined) <= ONE_LINE:
            return [Line(depth, joined, [statement])]
        return inner
    if isinstance(statement, Region):  # regions are resolved before anything is rendered
        return layout(statement.body, depth)
    raise TypeError(statement)


# How many long skips are open around the statements being laid out: a skip's name is its level
# (`skip1` the outermost), unique among the open ones, as nested keeps and joins must be (language.md 6.5).
_OPEN_SKIPS: contextvars.ContextVar[int] = contextvars.ContextVar("open_skips", default=0)


def _long_skip_lines(statement: Branches, depth: int) -> list[Line] | None:
    """`torch.cat([x, f(x)], 1)` as a long skip: `keep` x, f's lines, `cat` (the kept map first, as `cat` puts it).

    What the U-Net paper draws and language.md 6.5 writes, for an f of
    several lines (a U-Net level); None for one line, where DenseNet's
    one-line `concat { branch { } branch { f } }` reads better. A concat whose
    identity branch comes second (`torch.cat([f(x), x], 1)`) has no `cat`
    counterpart and stays a `concat`.
    """
    level = _OPEN_SKIPS.get() + 1
    token = _OPEN_SKIPS.set(level)
    try:
        body = layout(statement.branches[1], depth)
    finally:
        _OPEN_SKIPS.reset(token)
    if len(body) <= 1:
        return None
    name = f"skip{level}"
    return [Line(depth, f"keep {name}"), *body, Line(depth, f"cat {name}", [statement])]


def _wrapped(head: str, body, depth: int, statement) -> list[Line]:
    """`head { body }` on one line when the body is one short line, else over several."""
    inner = layout(body, depth + 1)
    owner = [statement] if statement is not None else []
    if not inner:
        return [Line(depth, f"{head} {{ }}", owner)]
    # A branch's few lines of layers or calls go on one line (`branch { basic 48 1 0; basic 64 5 2 }`).
    joinable = len(inner) == 1 or (head == "branch" and all(line.depth == depth + 1 for line in inner))
    joined = "; ".join(line.code for line in inner)
    if joinable and len(INDENT * depth) + len(head) + len(joined) + 6 <= ONE_LINE:
        return [Line(depth, f"{head} {{ {joined} }}", owner)]
    return [Line(depth, f"{head} {{", owner), *inner, Line(depth, "}")]


def count_lines(statements) -> int:
    return len(layout(statements))


# -- comments -------------------------------------------------------------------------


def shape_text(shape) -> str:
    """(1, C, H, W) -> `HxWxC`; (1, N) -> `N`."""
    if shape is None:
        return ""
    if len(shape) == 4:
        return f"{shape[2]}x{shape[3]}x{shape[1]}"
    if len(shape) == 2:
        return str(shape[1])
    return "x".join(map(str, shape[1:]))


def compact_paths(paths, limit: int = 4) -> str:
    """`layer1.1, layer1.2, layer2.1` -> `layer1.1-2, layer2.1`; at most `limit` groups, then `...`.

    The number that ends a path's last part counts: `denselayer1` to
    `denselayer6` is `denselayer1-6`, `block2-1` to `block2-3` is `block2-1..3`.
    """
    groups: list[tuple[str, list[int]]] = []
    for path in dict.fromkeys(paths):
        match = re.fullmatch(r"(.*?)(\d+)", path)
        if match is None:
            groups.append((path, []))
            continue
        stem, number = match.group(1), int(match.group(2))
        if groups and groups[-1][0] == stem and groups[-1][1] and groups[-1][1][-1] + 1 == number:
            groups[-1][1].append(number)
        else:
            groups.append((stem, [number]))
    texts = []
    for stem, numbers in groups:
        if not numbers:
            texts.append(stem)
        elif len(numbers) == 1:
            texts.append(f"{stem}{numbers[0]}")
        else:
            dash = ".." if stem.endswith(("-", "_")) or stem[-1:].isdigit() else "-"
            texts.append(f"{stem}{numbers[0]}{dash}{numbers[-1]}")
    shown = texts[:limit]
    return ", ".join(shown) + (f", ... ({len(texts) - limit} more)" if len(texts) > limit else "")


def comment_for(line: Line) -> str:
    """`conv1, bn1, relu -> 112x112x64`."""
    found = [path for statement in line.statements for path in sources_of(statement)]
    shape = line.statements[-1].origin.shape if line.statements else None
    text = compact_paths(found) if found else ""
    if shape is not None:
        text += f" -> {shape_text(shape)}"
    return text.strip()


def block_lines(block: Block) -> list[str]:
    header = f"block {block.name}({', '.join(p.name for p in block.params)}) {{"
    comment = textwrap.wrap(f"# {block.summary}", 100, subsequent_indent="#   ") if block.summary else []
    return [*comment, header, *(line.text() for line in layout(block.body, 1)), "}"]


def macs_text(macs) -> str:
    if isinstance(macs, int):
        return f"{macs:,} MACs" if macs < 10**7 else f"{macs / 1e9:.2f} GMACs" if macs >= 10**9 else f"{macs / 1e6:.1f} MMACs"
    return f"{macs} MACs"

