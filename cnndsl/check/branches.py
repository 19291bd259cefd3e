"""Parallel branches and gates: the checker's `concat`, `split`, `branch` and `gate`.

`concat { branch { A } branch { B } }` runs every branch on the input and
joins their outputs on the channels (`torch.cat(dim=1)`): their heights and
widths must be equal (for symbolic sizes: equal at every admissible size,
decided exactly with `Axis.differs_from`), channels add up. `split` first
divides the input's channels into one equal part per branch (`x.chunk`).
`gate { BODY }` multiplies the input by BODY's output, which must broadcast
onto it: each of its height, width and channels equal to the input's or 1.

The checker (checker.py) hands these statements to `Joins`; the typed nodes
are check/typed.py's TypedConcat, TypedBranch and TypedGate.
"""

from __future__ import annotations

from ..syntax.nodes import BROKEN, BlockDef, Branch, Command, Split, Structural
from ..types.shapes import MapType, Shape, VectorType, describe
from ..types.symbolic import Axis, TooLongToCompare, size_at
from .frame import Frame
from .typed import Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, walk


class Mismatch:
    """Where two sizes differ: at `value` of `symbol` (both None for two different numbers).

    `value` is None with a symbol when the sizes repeat too slowly to compare
    exactly (they are then treated as different).
    """

    __slots__ = ("symbol", "value")

    def __init__(self, symbol: str | None, value: int | None) -> None:
        self.symbol = symbol
        self.value = value

    def sizes(self, frame: Frame) -> dict[str, int]:
        """Every symbol at the value where the sizes differ (symbols take their values together)."""
        return {name: self.value for name in frame.checker.bounds}


def size_mismatch(a, b, frame: Frame) -> Mismatch | None:
    """None when sizes `a` and `b` (numbers or symbolic axes) are equal at every admissible input size."""
    if a == b:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return Mismatch(None, None)
    symbolic = a if isinstance(a, Axis) else b
    other = b if symbolic is a else a
    try:
        value = symbolic.differs_from(other, frame.size_bound(symbolic.symbol))
    except TooLongToCompare:
        return Mismatch(symbolic.symbol, None)
    return None if value is None else Mismatch(symbolic.symbol, value)


def _ordinal(index: int) -> str:
    return f"branch {index + 1}"


def _area(shape: MapType) -> str:
    """`28x28`, `HxW`, `(H+1)//2 x (W+1)//2`: the map's size as its type writes it."""
    parts = (str(shape.height), str(shape.width))
    if all(part.isidentifier() or part.isdigit() for part in parts):
        return "x".join(parts)
    return " x ".join(parts)


class Joins:
    """Types `concat`, `split`, stray `branch` and `gate` statements for the checker."""

    def __init__(self, checker) -> None:
        self.checker = checker

    # -- concat and split ---------------------------------------------------
    def join(self, statement: Structural, shape: Shape | None, frame: Frame, nodes: list[Node]) -> Shape | None:
        checker = self.checker
        keyword = statement.keyword
        if checker.budget.too_deep(statement.header, frame, keyword):
            return None
        inner = frame.inner()
        branches: list[Branch] = []
        misplaced = False
        for inside in statement.body.statements:
            if type(inside) is Branch:
                branches.append(inside)
                continue
            misplaced = True
            self.report_misplaced(inside, keyword, frame)
            checker.sequence((inside,), None, inner, [])  # its own mistakes still surface
        if not branches:
            if not misplaced:
                frame.report(
                    "E0054",
                    statement.header,
                    f"{keyword} has no branches",
                    label="nothing to join",
                    help=f"give it two or more: {keyword} {{ branch {{ ... }} branch {{ ... }} }}",
                )
            return None
        if len(branches) == 1 and not misplaced and not frame.light:
            frame.report(
                "W0002",
                statement.header,
                f"{keyword} of one branch does nothing",
                label="one branch",
                notes=[f"the {keyword}'s output is its one branch's output"],
                help=f"write the branch's statements without the {keyword} {{ branch {{ }} }} around them, or add branches",
            )
        split = type(statement) is Split
        part = shape
        if shape is not None and self.needs_map(statement, shape, frame):
            part = None
        elif split and shape is not None:
            part = self.part(statement, shape, len(branches), frame)
        typed: list[TypedBranch] = []
        for branch in branches:
            body: list[Node] = []
            output = checker.sequence(branch.body.statements, part, inner, body)
            typed.append(TypedBranch(body, part, output, branch.span, frame.line_of(branch.span), frame.calls))
        if misplaced or part is None or any(branch.output is None for branch in typed):
            return None
        output = self.joined(statement, branches, typed, frame)
        if output is None:
            return None
        nodes.append(TypedConcat(typed, split, shape, output, statement.span, frame.line_of(statement.span), frame.calls))
        return output

    def report_misplaced(self, inside, keyword: str, frame: Frame) -> None:
        if type(inside) is BlockDef or (type(inside) is Command and inside.name.text in (BROKEN, "network", "input")):
            return  # reported by the statement itself
        span = inside.span if type(inside) is Command else inside.header
        text = " ".join(self.checker.source.snippet(inside.span).split())
        example = f"branch {{ {text} }}" if len(text) <= 40 else "branch { ... }"
        frame.report(
            "E0024",
            span,
            f"only branches go directly inside {keyword} {{ }}",
            label="not in a branch",
            notes=[f"each branch of a {keyword} is one path from its input; their outputs are joined on the channels"],
            help=f"wrap it in branch {{ }}: {example}",
        )

    def needs_map(self, statement: Structural, shape: Shape, frame: Frame) -> bool:
        """Report a vector input (joins and splits work on the channels of a map)."""
        if isinstance(shape, MapType):
            return False
        frame.report(
            "E0031",
            statement.header,
            f"{statement.keyword} needs a feature map (HxWxC), but its input is the {describe(shape)}",
            label=f"input is the {shape} vector",
            notes=["a vector comes from flatten or linear; after it, only vector layers apply"],
            help=f"move this {statement.keyword} before the flatten",
        )
        return True

    def part(self, statement: Structural, shape: MapType, count: int, frame: Frame) -> MapType | None:
        """What each branch of a split gets: an equal part of the channels."""
        channels = shape.channels
        if channels % count == 0:
            return MapType(shape.height, shape.width, channels // count)
        lower = channels - channels % count
        multiples = " or ".join(str(c) for c in (lower, lower + count) if c > 0)
        divisors = [d for d in range(2, min(channels - 1, 16) + 1) if channels % d == 0]
        other = (
            f", or {' or '.join(map(str, divisors[:3]))} branches" if divisors else ""
        )
        frame.report(
            "E0052",
            statement.header,
            f"split divides the {channels} channels of its input into {count} equal parts, "
            f"but {channels} is not divisible by {count}",
            label=f"{channels} channels, {count} branches",
            notes=[f"the input is the {describe(shape)}; branch i gets the i-th of {count} equal parts of its channels"],
            help=f"give the split's input {multiples} channels{other}",
        )
        return None

    def joined(self, statement: Structural, branches: list[Branch], typed: list[TypedBranch], frame: Frame) -> MapType | None:
        """The join's type: the branches' common height and width, their channels added."""
        keyword = statement.keyword
        ok = True
        for index, branch in enumerate(typed):
            if isinstance(branch.output, VectorType):
                ok = False
                frame.report(
                    "E0051",
                    branches[index].header,
                    f"{_ordinal(index)} of the {keyword} ends in the {describe(branch.output)}; "
                    f"a {keyword} joins feature maps on their channels",
                    label=f"gives the {branch.output} vector",
                    help=f"end every branch with a feature map: move the flatten after the {keyword}",
                )
        if not ok:
            return None
        outputs: list[MapType] = [branch.output for branch in typed]
        first = outputs[0]
        if all(output.height == first.height and output.width == first.width for output in outputs):
            # The usual case, every branch at one size: nothing to compare or to word.
            return MapType(first.height, first.width, sum(output.channels for output in outputs))
        # The size most branches agree on is the reference (the first branch's on a tie).
        reference = max(range(len(outputs)), key=lambda i: (sum(1 for o in outputs if _area(o) == _area(outputs[i])), -i))
        wanted = outputs[reference]
        every = [f"{_ordinal(i)} (line {branch.line}) gives {describe(branch.output)}" for i, branch in enumerate(typed)]
        for index, output in enumerate(outputs):
            if index == reference:
                continue
            differences = []
            for axis, have, want in (("height", output.height, wanted.height), ("width", output.width, wanted.width)):
                mismatch = size_mismatch(have, want, frame)
                if mismatch is None:
                    continue
                if mismatch.symbol is None:
                    differences.append(f"the {axis}s differ: {have} and {want}")
                elif mismatch.value is None:
                    differences.append(
                        f"the {axis}s {have} and {want} repeat their pattern too rarely to compare exactly; "
                        "cnnc treats them as different"
                    )
                else:
                    sizes = mismatch.sizes(frame)
                    differences.append(
                        f"for {mismatch.symbol} = {mismatch.value} (the smallest size where they differ) "
                        f"{_ordinal(index)}'s {axis} is {size_at(have, sizes)} and {_ordinal(reference)}'s {size_at(want, sizes)}"
                    )
            if not differences:
                continue
            ok = False
            frame.report(
                "E0051",
                branches[index].header,
                f"{_ordinal(index)} of the {keyword} gives {_area(output)}, but {_ordinal(reference)} gives {_area(wanted)}: "
                f"a {keyword} joins maps of one height and width",
                label=f"gives {describe(output)}",
                notes=[*differences, *every],
                help=self.size_help(typed[index], wanted, typed[reference], reference),
                related=[(branches[reference].header, f"gives {describe(wanted)}")],
            )
        if not ok:
            return None
        return MapType(wanted.height, wanted.width, sum(output.channels for output in outputs))

    def size_help(self, branch: TypedBranch, wanted: MapType, other: TypedBranch, reference: int) -> str:
        """Advice from the first layer that makes the branch's size differ from the wanted one."""
        keep = f"so that it keeps {_area(wanted)} like {_ordinal(reference)}"
        for layer in walk(branch.body):
            before, after = layer.input, layer.output
            if not (isinstance(before, MapType) and isinstance(after, MapType)) or _area(before) == _area(after):
                continue
            text = " ".join(self.checker.source.snippet(layer.statement).split())
            if _area(before) == _area(wanted):
                padding = _keeping_padding(layer)
                if padding is not None:
                    return f"give `{text}` (line {layer.line}) p{padding} {keep}"
                return f"`{text}` (line {layer.line}) turns {_area(before)} into {_area(after)}: make it keep the size {keep}"
            return f"`{text}` (line {layer.line}) turns {_area(before)} into {_area(after)}: every branch must end at {_area(wanted)}"
        if walk(other.body):
            return f"this branch keeps its input's size; make {_ordinal(reference)} keep it too, or change this branch's size to {_area(wanted)}"
        return f"every branch must end at {_area(wanted)}: change this branch's size with a stride or pooling"


def _keeping_padding(layer: TypedLayer) -> str | None:
    """The padding (`1`, `1x2`) that makes a stride-1 window layer keep its input's size, if there is one."""
    config = layer.config
    window = getattr(config, "kernel", None) or getattr(config, "window", None)
    if window is None or tuple(getattr(config, "stride", (1, 1))) != (1, 1):
        return None
    dilation = getattr(config, "dilation", (1, 1))
    reach = [d * (k - 1) for k, d in zip(window, dilation)]
    if any(r % 2 for r in reach):
        return None  # an even reach cannot be padded symmetrically
    ph, pw = (r // 2 for r in reach)
    return str(ph) if ph == pw else f"{ph}x{pw}"


class Gates:
    """Types `gate { BODY }` statements and stray branches for the checker."""

    def __init__(self, checker) -> None:
        self.checker = checker

    def gate(self, statement: Structural, shape: Shape | None, frame: Frame, nodes: list[Node]) -> Shape | None:
        checker = self.checker
        if checker.budget.too_deep(statement.header, frame, "gate"):
            return None
        if not statement.body.statements and not frame.light:
            frame.report(
                "W0005",
                statement.header,
                "this gate has an empty body: it multiplies the input by itself",
                label="empty gate",
                notes=["a gate's output is its input times its body's output; an empty body's output is the input"],
                help="put the gate's layers inside, like: gate { avgpool to 1; conv 8 k1 relu; conv C k1; sigmoid }",
            )
        body: list[Node] = []
        gate = checker.sequence(statement.body.statements, shape, frame.inner(), body)
        if shape is None or gate is None:
            return None
        problems = _broadcast_problems(gate, shape, frame)
        if problems:
            reasons, help_text = problems
            frame.report(
                "E0053",
                statement.header,
                f"the gate's output {gate} does not broadcast onto the {describe(shape)}: {'; '.join(reasons)}",
                label=f"gate gives {describe(gate)}",
                notes=[
                    "the gate multiplies its input by its body's output, element by element: each of the output's "
                    "height, width and channels must equal the input's or be 1 "
                    "(1x1xC: per channel, as squeeze-and-excitation; HxWx1: per position)"
                ],
                help=help_text,
                related=[(statement.body.span, f"body gives {gate}")],
            )
        nodes.append(TypedGate(body, gate, shape, shape, statement.span, frame.line_of(statement.span), frame.calls))
        return shape  # x * gate has the input's type (the broadcast rule above)

    def stray_branch(self, statement: Branch, shape: Shape | None, frame: Frame) -> Shape | None:
        frame.report(
            "E0024",
            statement.header,
            "branch belongs directly inside concat { } or split { }",
            label="not inside a concat or split",
            help="put it inside concat { ... } with the other branches, or write its statements without the branch { }",
        )
        self.checker.sequence(statement.body.statements, None, frame.inner(), [])  # its own mistakes
        return shape


def _broadcast_problems(gate: Shape, shape: Shape, frame: Frame) -> tuple[list[str], str] | None:
    """None when `gate` broadcasts onto `shape` with `shape` as the result; else (reasons, help)."""
    if isinstance(shape, VectorType) or isinstance(gate, VectorType):
        if isinstance(shape, VectorType) and isinstance(gate, VectorType):
            if gate.features in (shape.features, 1):
                return None
            return [f"features {gate.features} vs {shape.features}"], f"end the gate with linear {shape.features}"
        if isinstance(gate, VectorType):
            return (
                [f"a {gate.features} vector against a feature map"],
                f"end the gate with a feature map, like: avgpool to 1; conv {shape.channels} k1; sigmoid (no flatten or linear)",
            )
        return [f"a {gate} feature map against a vector"], "a gate on a vector ends with a vector: linear and an activation"
    reasons = []
    helps = []
    if gate.channels not in (shape.channels, 1):
        reasons.append(f"channels {gate.channels} vs {shape.channels}")
        helps.append(f"end the gate with conv {shape.channels} k1")
    for axis, have, want in (("height", gate.height, shape.height), ("width", gate.width, shape.width)):
        if have == 1:
            continue
        mismatch = size_mismatch(have, want, frame)
        if mismatch is None:
            continue
        if mismatch.symbol is not None and mismatch.value is not None:
            sizes = mismatch.sizes(frame)
            reasons.append(f"{axis} {have} vs {want} (for {mismatch.symbol} = {mismatch.value}: {size_at(have, sizes)} vs {size_at(want, sizes)})")
        else:
            reasons.append(f"{axis} {have} vs {want}")
    if len(reasons) > len(helps):
        helps.append("pool the gate to 1x1 (avgpool to 1) for a per-channel gate, or keep the input's height and width (padding, stride 1)")
    if not reasons:
        return None
    return reasons, "; ".join(helps)
