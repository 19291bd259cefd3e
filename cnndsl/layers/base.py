"""The base of every layer kind, and what kinds share.

A kind is one object (a `LayerKind` subclass, instantiated once) that owns
every facet of itself:

- syntax: names and aliases, positionals, options, flags, whether an
  activation may follow, special forms (`pool to 7x7`);
- type rule: `configure` (range checks -> a frozen `Config`), `infer`
  (output type, parameters, MACs, the arithmetic with the user's numbers);
- emission: `emit`, the PyTorch constructor;
- documentation: summary, syntax, example(s), formulas;
- the diagram: `label` (the layer in the .cnn notation) and `diagram`
  (its box colour and legend entry);
- in place: `can_run_inplace` (an activation) and `inplace_after` (an
  activation right after this layer may run in place);
- helper classes: `helpers`, the classes the generated module defines for a
  layer PyTorch has no module for (`LayerNorm2d`), and `emit` names them;
- placement: `check_placement`, a warning when the layer stands where it
  makes no sense (stochastic depth outside a residual body's end).
- analyses: `window` (its receptive-field rule per axis), `parameter_tensors`
  and `buffer_tensors` (named, for gradients, optimizer state and
  torchinfo's mult-adds), `saves` (what autograd keeps for backward).
"""

from __future__ import annotations

from typing import ClassVar

from ..record import DeclaredRecord, Record
from ..syntax.source import Span
from ..types.autograd import Flow, Saves, Tensor
from ..types.fields import AxisRule
from ..types.shapes import MAX_VALUE, MapType, Shape, VectorType, describe
from .arguments import Args, Option, Positional, called, read_args
from .registry import activation_names
from .values import Site
from .words import Role, classify


class Config(DeclaredRecord):
    """Base of every kind's configuration: a frozen record of what the statement said.

    Declared as a frozen dataclass is (annotated fields, defaults after
    them), built by `record.DeclaredRecord`, which does not import
    `dataclasses` (docs/design.md, "Start-up"). Configurations are compared
    and hashed by value (the checker memoises inferences by kind,
    configuration and input type).
    """


class NoConfig(Config):
    """The configuration of a kind without arguments (flatten, relu)."""


NO_CONFIG = NoConfig()


# Not configurations: records (cnndsl/record.py), which cost nothing to
# define, where a frozen dataclass costs about 0.5 ms of every fresh `cnnc check`.
_set = object.__setattr__


class Lines:
    """Explanation lines written when first asked for: `Inference.arithmetic` may be one.

    A check types every layer, but only the summary's `--explain`, hover, the
    diagram's tooltips and the playground read the arithmetic; formatting it
    for every layer was about a tenth of checking a program. The function is
    called once (the lines are kept); equal to the tuple of its lines.
    """

    __slots__ = ("make", "lines")

    def __init__(self, make) -> None:
        self.make = make  # () -> the lines, a tuple of str
        self.lines: tuple[str, ...] | None = None

    def __call__(self) -> tuple[str, ...]:
        if self.lines is None:
            self.lines = self.make()
            self.make = None
        return self.lines

    def __eq__(self, other) -> bool:
        if isinstance(other, Lines):
            other = other()
        return self() == other

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self())

    def __reduce__(self):
        return tuple, (self(),)  # pickled as its lines (a function may not pickle)


def lines_of(arithmetic: tuple[str, ...] | Lines) -> tuple[str, ...]:
    """The lines of an inference's arithmetic, written now if they were deferred."""
    return arithmetic if arithmetic.__class__ is tuple else arithmetic()


class Inference(Record):
    """A layer's type rule applied to one input."""

    __slots__ = ("output", "params", "macs", "arithmetic")
    output: Shape
    params: int
    macs: int
    arithmetic: tuple[str, ...] | Lines  # the formulas with the user's numbers (`lines_of`)

    def __init__(self, output: Shape, params: int = 0, macs: int = 0, arithmetic: tuple[str, ...] | Lines = ()) -> None:
        _set(self, "output", output)
        _set(self, "params", params)
        _set(self, "macs", macs)
        _set(self, "arithmetic", arithmetic)


class DiagramStyle(Record):
    """How `cnnc draw` shows a kind's boxes: the group's CSS name, colour and legend text.

    Kinds with the same style share a legend entry.
    """

    __slots__ = ("group", "colour", "legend")
    group: str  # the box's class `step-GROUP`
    colour: str  # the front face; the top is drawn lighter, the side darker
    legend: str

    def __init__(self, group: str, colour: str, legend: str) -> None:
        _set(self, "group", group)
        _set(self, "colour", colour)
        _set(self, "legend", legend)


# Layers that keep the shape (and a box that starts a sequence with one of them).
SHAPE_KEEPING = DiagramStyle("other", "#90a4ae", "bn, dropout, activation")


class HelperClass(Record):
    """A class the generated module defines, for a layer PyTorch has no module for.

    `source` is its Python text (black formats it with the module). The
    generated file defines each class that one of its layers uses, once,
    after its imports; it imports only torch, so neither may a helper.
    """

    __slots__ = ("name", "source")
    name: str
    source: str

    def __init__(self, name: str, source: str) -> None:
        _set(self, "name", name)
        _set(self, "source", source)


class SpecialForm(Record):
    """A second syntax of a kind, introduced by a keyword right after its name: `pool to 7x7`.

    Completion offers the keyword first after the name, and nothing after it;
    the docs write `syntax` after the kind's name. The family module that
    declares a form implements its `read`.
    """

    __slots__ = ("keyword", "syntax", "doc")
    keyword: str
    syntax: str  # after the kind's name: `to HxW`
    doc: str  # what the form does, for completion

    def __init__(self, keyword: str, syntax: str, doc: str) -> None:
        _set(self, "keyword", keyword)
        _set(self, "syntax", syntax)
        _set(self, "doc", doc)

    def read(self, kind: LayerKind, command, site: Site) -> Args | None:
        """Resolve the words after the keyword into the kind's `Args` (or report, and give None)."""
        raise NotImplementedError


class LayerKind:
    """Base of every layer kind. Subclasses fill in the class attributes."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str]
    syntax: ClassVar[str]
    example: ClassVar[str]
    # The docs' examples, when more than `example` (each checked on a 32x32x3 input; `a; b` puts `a` before).
    examples: ClassVar[tuple[str, ...]] = ()
    torch: ClassVar[str]
    positionals: ClassVar[tuple[Positional, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    flags: ClassVar[dict[str, str]] = {}  # flag -> what it does
    forms: ClassVar[tuple[SpecialForm, ...]] = ()
    takes_activation: ClassVar[bool] = False
    is_activation: ClassVar[bool] = False
    # The general rules, in the lesson's letters (`cnnc summary --explain`, docs).
    formulas: ClassVar[tuple[str, ...]] = ()
    diagram: ClassVar[DiagramStyle] = SHAPE_KEEPING
    # An activation right after this layer may run in place, overwriting this
    # layer's output (its backward does not need it): conv, linear and
    # batchnorm, as torchvision's models do.
    inplace_after: ClassVar[bool] = False
    # The checker calls `check_placement` for this kind's layers.
    checks_placement: ClassVar[bool] = False

    def __init__(self) -> None:
        self._by_short = {o.short: o for o in self.options if o.short}
        self._by_name = {o.name: o for o in self.options}

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def option_named(self, name: str) -> Option | None:
        return self._by_name.get(name)

    def option_by_short(self, letter: str) -> Option | None:
        return self._by_short.get(letter)

    # -- syntax ---------------------------------------------------------
    def read(self, command, site: Site) -> Args | None:
        """Resolve the statement's words against this kind's syntax (a special form, or the generic one)."""
        words = command.args
        if self.forms and words:
            first = words[0]
            text = getattr(first, "text", None)
            if text is not None:
                role = classify(self, text, site.scope, at_start=True)
                if role.role is Role.FORM:
                    return role.form.read(self, command, site)
        return read_args(self, words, command.span, site)

    def option_words(self) -> list[str]:
        """The words this kind accepts after its positionals (for suggestions)."""
        words = [o.sample for o in self.options]
        words += [f"{o.name}=" for o in self.options]
        words += list(self.flags)
        if self.takes_activation:
            words += activation_names()
        return words

    # -- types ----------------------------------------------------------
    def configure(self, args: Args, site: Site, span: Span) -> Config | None:
        """Range-check the arguments; return the layer's configuration."""
        return NO_CONFIG

    def infer(self, config: Config, shape: Shape, site: Site, span: Span) -> Inference | None:
        raise NotImplementedError

    def needs_map(self, shape: Shape, site: Site, span: Span, help: str | None = None) -> bool:
        """E0031 unless the input is a feature map (`help` replaces the usual advice)."""
        if isinstance(shape, MapType):
            return True
        name = called(self, site)
        site.report(
            "E0031",
            span,
            f"{name} needs a feature map (HxWxC), but its input is the {describe(shape)}",
            label=f"input is the {shape} vector",
            notes=["a vector comes from flatten or linear; after it, only vector layers apply"],
            help=help or f"move this {name} before the flatten",
        )
        return False

    def needs_vector(self, shape: Shape, site: Site, span: Span, instead: str | None = None) -> bool:
        """E0032 unless the input is a vector (`instead`: another fix, added to the help)."""
        if isinstance(shape, VectorType):
            return True
        site.report(
            "E0032",
            span,
            f"{called(self, site)} needs a vector, but its input is the {describe(shape)}",
            label=f"input is {shape}",
            notes=[
                f"flatten would turn the {shape} map into {shape.area_text} = {shape.elements:,} features"
                if not shape.symbolic
                else f"its size depends on the input size ({shape}), so flatten alone cannot give a fixed vector"
            ],
            help=("insert `flatten` on the line before this one" if not shape.symbolic else "insert `avgpool to 1` and `flatten` before this layer")
            + (f"; or {instead}" if instead else ""),
        )
        return False

    # -- PyTorch --------------------------------------------------------
    def emit(self, config: Config, shape: Shape, inplace: bool = False) -> str:
        raise NotImplementedError

    def helpers(self, config: Config, shape: Shape) -> tuple[HelperClass, ...]:
        """The generated classes that `emit` names for this configuration and input (none: nn. modules only)."""
        return ()

    def check_placement(self, config: Config, at_residual_end: bool, site: Site, span: Span) -> None:
        """Warn when the layer stands where it makes no sense; `at_residual_end`: last in a residual's body."""

    def can_run_inplace(self, config: Config) -> bool:
        """Whether this layer (an activation) may run in place, right after an `inplace_after` layer."""
        return False

    # -- the diagram ----------------------------------------------------
    def label(self, config: Config) -> str:
        """A short label in the .cnn notation: `conv 64 k3 s2 p1`, `pool 2`, `linear 10`."""
        return self.name

    # -- analyses (cnndsl/check/fields.py, saved.py, training.py, compute.py)
    def window(self, config: Config) -> tuple[AxisRule, AxisRule] | None:
        """The receptive-field rule along the height and the width; None: each output unit sees
        the input unit at its own position (element-wise and per-position layers)."""
        return None

    def parameter_tensors(self, config: Config, shape: Shape) -> tuple[Tensor, ...]:
        """The parameters, as PyTorch names them, for an input of this type (their sum is `params`)."""
        return ()

    def buffer_tensors(self, config: Config, shape: Shape) -> tuple[Tensor, ...]:
        """The buffers (BatchNorm's running statistics): memory that training keeps, not parameters."""
        return ()

    def saves(self, config: Config, input: Shape, output: Shape, flow: Flow) -> Saves:
        """What autograd saves for backward when this layer runs in train mode on a batch (CPU, measured
        op by op against PyTorch: tests/test_oracles.py)."""
        raise NotImplementedError(f"{self.name}: what autograd saves for it is not declared")


def check_size(shape: Shape, site: Site, span: Span) -> bool:
    """E0061 when an output has more elements than PyTorch can index."""
    if shape.symbolic:  # no upper bound on the input: the size is checked when built at a size
        return True
    if shape.elements > MAX_VALUE:
        site.report(
            "E0061",
            span,
            f"the output {describe(shape)} has {shape.elements:,} elements per sample, too many to build",
            label="too large",
            help="reduce the channels or the input size",
        )
        return False
    return True


# -- numbers as PyTorch and the .cnn notation write them


def pair(value) -> tuple[int, int]:
    """`3` -> (3, 3); `(3, 5)` stays."""
    return value if isinstance(value, tuple) else (value, value)


def torch_pair(pair: tuple[int, int]) -> str:
    """(3, 3) -> `3`, (3, 5) -> `(3, 5)`."""
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def size_text(pair: tuple[int, int]) -> str:
    """(3, 3) -> `3`, (3, 5) -> `3x5`, as in a .cnn file."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def decimal(value: float) -> str:
    return repr(float(value))

