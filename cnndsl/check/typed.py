"""The typed program: what the checker produces and everything else reads.

Hover, inlay hints, the summary table, diagnostics and the generated
`nn.Linear` sizes all come from these objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from ..diagnostics.model import Diagnostic
from ..record import MutableRecord, Record
from ..layers import Config, LayerKind, Lines, lines_of
from ..types.fields import ReceptiveField
from ..types.shapes import MapType, Shape, VectorType
from ..syntax.source import SourceText, Span
from ..syntax.visitor import Visitor
from ..types.symbolic import SizeSymbol


# Records, not dataclasses (cnndsl/record.py): these eight classes are defined in
# every fresh `cnnc check`, and as dataclasses they cost about 4 ms of its ~70.
_set = object.__setattr__


class CallSite(Record):
    """A block call that a layer was expanded from."""

    __slots__ = ("block", "text", "span", "line", "values")
    block: str
    text: str  # as written: "vgg 512 2" (or "down c" inside another block)
    span: Span
    line: int
    values: tuple  # the arguments' values, in parameter order: (128,)

    def __init__(self, block: str, text: str, span: Span, line: int, values: tuple = ()) -> None:
        _set(self, "block", block)
        _set(self, "text", text)
        _set(self, "span", span)
        _set(self, "line", line)
        _set(self, "values", values)

    @property
    def resolved(self) -> str:
        """The call with its arguments' values: `down 128` for `down c` with c = 128."""
        if not self.values:
            return self.text
        shown = ("x".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v) for v in self.values)
        return " ".join((self.block, *shown))


class TypedLayer(MutableRecord):
    """One PyTorch leaf layer with its static type."""

    __slots__ = (
        "kind", "config", "input", "output", "params", "macs", "explanation", "span", "statement", "line",
        "calls", "inplace", "receptive_input", "receptive_field",
    )
    kind: LayerKind
    config: Config
    input: Shape
    output: Shape
    params: int
    macs: int  # or a symbolic.Count when it depends on a symbolic input size
    explanation: tuple[str, ...] | Lines  # the arithmetic, as `infer` gave it (`Lines`: not written yet)
    span: Span  # the words that produced it (statement, or activation suffix)
    statement: Span  # the whole statement
    line: int
    calls: tuple[CallSite, ...]
    inplace: bool
    # The receptive field of an input unit and of an output unit (cnndsl/check/fields.py sets them
    # once the program is checked: they depend on the path to the layer, not on the layer alone).
    receptive_input: ReceptiveField | None
    receptive_field: ReceptiveField | None

    children = ()

    def __init__(
        self, kind: LayerKind, config: Config, input: Shape, output: Shape, params: int, macs: int,
        explanation: tuple[str, ...] | Lines, span: Span, statement: Span, line: int, calls: tuple[CallSite, ...] = (),
        inplace: bool = False, receptive_input: ReceptiveField | None = None, receptive_field: ReceptiveField | None = None,
    ) -> None:
        self.kind = kind
        self.config = config
        self.input = input
        self.output = output
        self.params = params
        self.macs = macs
        self.explanation = explanation
        self.span = span
        self.statement = statement
        self.line = line
        self.calls = calls
        self.inplace = inplace
        self.receptive_input = receptive_input
        self.receptive_field = receptive_field

    @property
    def arithmetic(self) -> tuple[str, ...]:
        """The formulas with the user's numbers (`layers.Lines`: written on first use)."""
        return lines_of(self.explanation)

    @property
    def module(self) -> str:
        """The PyTorch constructor expression, e.g. `nn.Conv2d(3, 10, 3)`."""
        return self.kind.emit(self.config, self.input, self.inplace)


class TypedResidual(MutableRecord):
    """`residual { body } shortcut { path }`: body + path (identity if None)."""

    __slots__ = ("body", "shortcut", "input", "output", "span", "line", "calls", "receptive_input", "receptive_field")
    body: list[Node]
    shortcut: list[Node] | None
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...]
    receptive_input: ReceptiveField | None
    receptive_field: ReceptiveField | None  # the union of the body's and the shortcut's

    children = ("body", "shortcut")

    def __init__(
        self, body: list[Node], shortcut: list[Node] | None, input: Shape, output: Shape, span: Span, line: int,
        calls: tuple[CallSite, ...] = (), receptive_input: ReceptiveField | None = None,
        receptive_field: ReceptiveField | None = None,
    ) -> None:
        self.body = body
        self.shortcut = shortcut
        self.input = input
        self.output = output
        self.span = span
        self.line = line
        self.calls = calls
        self.receptive_input = receptive_input
        self.receptive_field = receptive_field


class TypedSkip(TypedResidual):
    """`keep NAME` ... `cat NAME [crop]` (or `add NAME`): the map kept joined to the body's output.

    A residual whose join is chosen: the input (the kept map, centre-cropped
    to the body's size with `crop`) concatenated before the body's output on
    the channels (`cat`, the U-Net's order), or added (`add`). `body` is every
    node between the keep and the join; `shortcut` is always None. `span` and
    `line` are the join's; `keep_span` the keep's.
    """

    __slots__ = ("name", "join", "crop", "keep_span")
    name: str
    join: str  # "cat" or "add"
    crop: bool
    keep_span: Span | None

    def __init__(
        self, body: list[Node], shortcut: list[Node] | None, input: Shape, output: Shape, span: Span, line: int,
        calls: tuple[CallSite, ...] = (), receptive_input: ReceptiveField | None = None,
        receptive_field: ReceptiveField | None = None, name: str = "", join: str = "cat", crop: bool = False,
        keep_span: Span | None = None,
    ) -> None:
        super().__init__(body, shortcut, input, output, span, line, calls, receptive_input, receptive_field)
        self.name = name
        self.join = join
        self.crop = crop
        self.keep_span = keep_span

    @property
    def statement(self) -> str:
        """The join as written: `cat e1 crop`."""
        return f"{self.join} {self.name}" + (" crop" if self.crop else "")


class TypedBranch(MutableRecord):
    """One `branch { ... }` of a concat or split: its input (a split's part) and output."""

    __slots__ = ("body", "input", "output", "span", "line", "calls", "receptive_input", "receptive_field")
    body: list[Node]
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...]
    receptive_input: ReceptiveField | None
    receptive_field: ReceptiveField | None

    children = ("body",)

    def __init__(
        self, body: list[Node], input: Shape, output: Shape, span: Span, line: int, calls: tuple[CallSite, ...] = (),
        receptive_input: ReceptiveField | None = None, receptive_field: ReceptiveField | None = None,
    ) -> None:
        self.body = body
        self.input = input
        self.output = output
        self.span = span
        self.line = line
        self.calls = calls
        self.receptive_input = receptive_input
        self.receptive_field = receptive_field


class TypedConcat(MutableRecord):
    """`concat { branch ... }` (or `split`, which first divides the channels among the
    branches): the branches' outputs joined on the channels, in order."""

    __slots__ = ("branches", "split", "input", "output", "span", "line", "calls", "receptive_input", "receptive_field")
    branches: list[TypedBranch]
    split: bool
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...]
    receptive_input: ReceptiveField | None
    receptive_field: ReceptiveField | None  # the union of the branches'

    children = ("branches",)

    def __init__(
        self, branches: list[TypedBranch], split: bool, input: Shape, output: Shape, span: Span, line: int,
        calls: tuple[CallSite, ...] = (), receptive_input: ReceptiveField | None = None,
        receptive_field: ReceptiveField | None = None,
    ) -> None:
        self.branches = branches
        self.split = split
        self.input = input
        self.output = output
        self.span = span
        self.line = line
        self.calls = calls
        self.receptive_input = receptive_input
        self.receptive_field = receptive_field

    @property
    def keyword(self) -> str:
        return "split" if self.split else "concat"

    @property
    def channels(self) -> list[int]:
        """Each branch's output channels, whose sum is the output's."""
        return [branch.output.channels for branch in self.branches]


class TypedGate(MutableRecord):
    """`gate { body }`: the input times the body's output (`gate`), broadcast onto it."""

    __slots__ = ("body", "gate", "input", "output", "span", "line", "calls", "receptive_input", "receptive_field")
    body: list[Node]
    gate: Shape  # the body's output
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...]
    receptive_input: ReceptiveField | None
    receptive_field: ReceptiveField | None  # the union of the input's and the body's (broadcast: every unit's)

    children = ("body",)

    def __init__(
        self, body: list[Node], gate: Shape, input: Shape, output: Shape, span: Span, line: int,
        calls: tuple[CallSite, ...] = (), receptive_input: ReceptiveField | None = None,
        receptive_field: ReceptiveField | None = None,
    ) -> None:
        self.body = body
        self.gate = gate
        self.input = input
        self.output = output
        self.span = span
        self.line = line
        self.calls = calls
        self.receptive_input = receptive_input
        self.receptive_field = receptive_field


Node = Union[TypedLayer, TypedResidual, TypedSkip, TypedConcat, TypedBranch, TypedGate]
NODES = (TypedLayer, TypedResidual, TypedSkip, TypedConcat, TypedBranch, TypedGate)


class _Leaves(Visitor):
    walks = NODES

    def __init__(self) -> None:
        self.found: list[TypedLayer] = []

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        self.found.append(node)

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        # visit_children, spelt out: program.layers is read after every check
        self.visit_all(node.body)
        if node.shortcut is not None:
            self.visit_all(node.shortcut)

    visit_TypedSkip = visit_TypedResidual  # the body (a skip has no shortcut)

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        for branch in node.branches:
            self.visit_all(branch.body)

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        self.visit_all(node.body)

    visit_TypedGate = visit_TypedBranch


def walk(nodes: Iterable[Node]) -> list[TypedLayer]:
    """Leaf layers in forward order (a residual: body, then shortcut; branches in order)."""
    leaves = _Leaves()
    leaves.visit_all(nodes)
    return leaves.found


def follows(kind: LayerKind, config, previous: Node | None) -> tuple[bool, bool]:
    """A layer placed right after `previous` (the node before it in its list):
    does it repeat that activation (W0003), and may it run in place?"""
    if not isinstance(previous, TypedLayer):
        return False, False
    repeated = kind.is_activation and previous.kind is kind and previous.config == config
    return repeated, kind.can_run_inplace(config) and previous.kind.inplace_after


class TypedProgram(MutableRecord):
    """A checked program. `ok` is False when there are errors."""

    __slots__ = (
        "source", "name", "input", "nodes", "diagnostics", "output", "syntax", "symbols", "sizes", "_layers", "join_constraint",
    )
    _unshown = ("syntax", "_layers")
    source: SourceText
    name: str
    input: MapType | None
    nodes: list[Node]
    diagnostics: list[Diagnostic]
    output: Shape | None
    syntax: object | None  # the nodes.Module it was checked from
    # `input HxWx3`: the size symbols with their bounds (empty for a fixed size).
    symbols: dict[str, SizeSymbol]
    # An instance of a symbolic program (`--size`): the values of its symbols.
    sizes: dict[str, int]
    _layers: list[TypedLayer] | None
    # When a long skip's join fails for some sizes (E0083): the `where` under which every join fits
    # (`H % 4 == 0, W % 4 == 0`), as E0083's help says it; None when there is none or nothing fails.
    join_constraint: str | None

    def __init__(
        self, source: SourceText, name: str, input: MapType | None, nodes: list[Node], diagnostics: list[Diagnostic],
        output: Shape | None = None, syntax: object | None = None, symbols: dict[str, SizeSymbol] | None = None,
        sizes: dict[str, int] | None = None, _layers: list[TypedLayer] | None = None, join_constraint: str | None = None,
    ) -> None:
        self.source = source
        self.name = name
        self.input = input
        self.nodes = nodes
        self.diagnostics = diagnostics
        self.output = output
        self.syntax = syntax
        self.symbols = {} if symbols is None else symbols
        self.sizes = {} if sizes is None else sizes
        self._layers = _layers
        self.join_constraint = join_constraint

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def layers(self) -> list[TypedLayer]:
        if self._layers is None:
            self._layers = walk(self.nodes)
        return self._layers

    @property
    def split(self) -> int | None:
        """Index in `nodes` of the top-level layer that starts the classifier: the first from a map to a vector (flatten)."""
        for index, node in enumerate(self.nodes):
            if isinstance(node, TypedLayer) and isinstance(node.input, MapType) and isinstance(node.output, VectorType):
                return index
        return None

    @property
    def features(self) -> list[Node]:
        split = self.split
        return self.nodes if split is None else self.nodes[:split]

    @property
    def classifier(self) -> list[Node] | None:
        split = self.split
        return None if split is None else self.nodes[split:]

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_macs(self):
        """An int, or a symbolic.Count for a symbolic program."""
        return sum((layer.macs for layer in self.layers), 0)

    @property
    def symbolic(self) -> bool:
        return bool(self.symbols) and not self.sizes

    def sizes_for(self, height: int, width: int) -> dict[str, int]:
        """The symbols' values for an input of height x width; ValueError says what is wrong."""
        if self.input is None:
            raise ValueError("the program has no valid input")
        values: dict[str, int] = {}
        for axis, size, wanted in (("height", self.input.height, height), ("width", self.input.width, width)):
            if isinstance(size, int):
                if size != wanted:
                    raise ValueError(f"the input {axis} is fixed at {size}, not {wanted}")
                continue
            symbol = self.symbols[size.symbol]
            if values.get(symbol.name, wanted) != wanted:
                raise ValueError(f"{symbol.name} is both the height and the width: they must be equal")
            if wanted < symbol.bound:
                raise ValueError(f"{axis} {wanted} is below the bound {symbol.describe()}")
            if not symbol.admits(wanted):
                raise ValueError(f"{axis} {wanted} is not admitted: {symbol.describe()}")
            values[symbol.name] = wanted
        return values

    def smallest_size(self) -> tuple[int, int]:
        """The smallest admissible input height and width."""
        bounds = [
            size if isinstance(size, int) else self.symbols[size.symbol].bound
            for size in (self.input.height, self.input.width)
        ]
        return bounds[0], bounds[1]
