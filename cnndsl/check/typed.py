"""The typed program: what the checker produces and everything else reads.

Hover, inlay hints, the summary table, diagnostics and the generated
`nn.Linear` sizes all come from these objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

from ..diagnostics.model import Diagnostic
from ..layers import Config, LayerKind
from ..types.shapes import MapType, Shape, VectorType
from ..syntax.source import SourceText, Span
from ..syntax.visitor import Visitor
from ..types.symbolic import SizeSymbol


@dataclass(frozen=True, slots=True)
class CallSite:
    """A block call that a layer was expanded from."""

    block: str
    text: str  # as written: "vgg 512 2" (or "down c" inside another block)
    span: Span
    line: int
    values: tuple = ()  # the arguments' values, in parameter order: (128,)

    @property
    def resolved(self) -> str:
        """The call with its arguments' values: `down 128` for `down c` with c = 128."""
        if not self.values:
            return self.text
        shown = ("x".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v) for v in self.values)
        return " ".join((self.block, *shown))


@dataclass(slots=True)
class TypedLayer:
    """One PyTorch leaf layer with its static type."""

    kind: LayerKind
    config: Config
    input: Shape
    output: Shape
    params: int
    macs: int  # or a symbolic.Count when it depends on a symbolic input size
    arithmetic: tuple[str, ...]
    span: Span  # the words that produced it (statement, or activation suffix)
    statement: Span  # the whole statement
    line: int
    calls: tuple[CallSite, ...] = ()
    inplace: bool = False

    children = ()

    @property
    def module(self) -> str:
        """The PyTorch constructor expression, e.g. `nn.Conv2d(3, 10, 3)`."""
        return self.kind.emit(self.config, self.input, self.inplace)


@dataclass(slots=True)
class TypedResidual:
    """`residual { body } shortcut { path }`: body + path (identity if None)."""

    body: list[Node]
    shortcut: list[Node] | None
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...] = ()

    children = ("body", "shortcut")


@dataclass(slots=True)
class TypedSkip(TypedResidual):
    """`keep NAME` ... `cat NAME [crop]` (or `add NAME`): the map kept joined to the body's output.

    A residual whose join is chosen: the input (the kept map, centre-cropped
    to the body's size with `crop`) concatenated before the body's output on
    the channels (`cat`, the U-Net's order), or added (`add`). `body` is every
    node between the keep and the join; `shortcut` is always None. `span` and
    `line` are the join's; `keep_span` the keep's.
    """

    name: str = ""
    join: str = "cat"  # "cat" or "add"
    crop: bool = False
    keep_span: Span | None = None

    @property
    def statement(self) -> str:
        """The join as written: `cat e1 crop`."""
        return f"{self.join} {self.name}" + (" crop" if self.crop else "")



@dataclass(slots=True)
class TypedBranch:
    """One `branch { ... }` of a concat or split: its input (a split's part) and output."""

    body: list[Node]
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...] = ()

    children = ("body",)


@dataclass(slots=True)
class TypedConcat:
    """`concat { branch ... }` (or `split`, which first divides the channels among the
    branches): the branches' outputs joined on the channels, in order."""

    branches: list[TypedBranch]
    split: bool
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...] = ()

    children = ("branches",)

    @property
    def keyword(self) -> str:
        return "split" if self.split else "concat"

    @property
    def channels(self) -> list[int]:
        """Each branch's output channels, whose sum is the output's."""
        return [branch.output.channels for branch in self.branches]


@dataclass(slots=True)
class TypedGate:
    """`gate { body }`: the input times the body's output (`gate`), broadcast onto it."""

    body: list[Node]
    gate: Shape  # the body's output
    input: Shape
    output: Shape
    span: Span
    line: int
    calls: tuple[CallSite, ...] = ()

    children = ("body",)


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


@dataclass
class TypedProgram:
    """A checked program. `ok` is False when there are errors."""

    source: SourceText
    name: str
    input: MapType | None
    nodes: list[Node]
    diagnostics: list[Diagnostic]
    output: Shape | None = None
    syntax: object | None = field(default=None, repr=False)  # the nodes.Module it was checked from
    # `input HxWx3`: the size symbols with their bounds (empty for a fixed size).
    symbols: dict[str, SizeSymbol] = field(default_factory=dict)
    # An instance of a symbolic program (`--size`): the values of its symbols.
    sizes: dict[str, int] = field(default_factory=dict)
    _layers: list[TypedLayer] | None = field(default=None, repr=False)

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
