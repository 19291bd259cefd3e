"""Property: a symbolic program, checked once, is right at every admissible size.

`input HxWx3` makes every layer's type an expression in H and W. These tests
draw symbolic programs and sizes and hold the expressions to PyTorch and to
brute force:

- at random admissible sizes (the bound itself, odd and even ones above it),
  every leaf layer's runtime output shape equals its symbolic type evaluated
  there, parameter counts are equal, and the symbolic MACs evaluated equal
  the instance's (`cnndsl.compiler.instantiate(program, h, w)`) and FlopCounterMode's; the
  instance checks without errors and warns exactly where the symbolic
  program's W0001 condition says;
- below a computed bound, PyTorch really fails (the bound is the smallest);
- E0071 names the largest failing size, and one more fits; E0050 names a
  size where body and shortcut really differ, and says nothing when they
  are equal for every size; W0001's conditions name exactly the sizes that
  leave real rows unread. These compare with `shapes.Window`, step by step.

The program generators are tests/test_property.py's, with symbolic headers,
size-halving residuals and an `avgpool to 1; flatten; linear` head.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from test_property import Draft, _stage, draw_body, draw_classifier, runtime_layers, runtime_macs

import cnndsl
from cnndsl.types.shapes import MapType, Window
from cnndsl.types.symbolic import Axis, size_at, value_at
from cnndsl.compiler import instantiate

# -- drawing symbolic programs -------------------------------------------------


def _strided_residual(draw, draft, indent):
    """A residual that divides the size by its stride, with a shortcut equal for every size."""
    c, stride = draft.channels, draw(st.sampled_from([2, 2, 3]))
    body = [f"conv {c} k3 s{stride} p1", *draw(st.lists(st.sampled_from(["bn", "relu", f"conv {c} k3 p1"]), max_size=2))]
    # (H+1)//2 for stride 2, (H+2)//3 for stride 3: the same size, written four ways.
    shortcut = draw(st.sampled_from([f"conv {c} k1 s{stride}", f"pool {stride} ceil", f"avgpool {stride} ceil", None]))
    if shortcut is None:  # no shortcut: the identity, so keep the size in the body instead
        body[0] = f"conv {c} k3 p1"
    draft.emit("residual {", indent)
    for line in body:
        draft.emit(line, indent + 1)
    if shortcut is not None:
        draft.emit("} shortcut {", indent)
        draft.emit(shortcut, indent + 1)
    draft.emit("}", indent)
    draft.size = max(1, draft.size // stride) if shortcut else draft.size


def _symbolic_stage(draw, draft, indent, depth):
    if draw(st.integers(0, 6)) == 0:
        _strided_residual(draw, draft, indent)
    else:
        _stage(draw, draft, indent, depth)


@st.composite
def symbolic_programs(draw):
    """A program with `input HxWxC` (or HxHxC, 224xWxC, HxWxC where H >= 12, ...)."""
    form = draw(st.sampled_from(["two", "two", "square", "fixed height", "fixed width"]))
    names = draw(st.sampled_from([("H", "W"), ("H", "W"), ("IMG_H", "W2")]))
    fixed = draw(st.sampled_from([224, *range(4, 41)]))
    height = fixed if form == "fixed height" else names[0]
    width = fixed if form == "fixed width" else names[0] if form == "square" else names[1]
    symbols = list(dict.fromkeys(s for s in (height, width) if isinstance(s, str)))
    bounds = {s: draw(st.integers(1, 40)) for s in symbols if draw(st.booleans())}
    # The generator's rough size, to choose kernels that fit: the bound, or a guess (a computed bound follows it).
    guess = draw(st.integers(6, 40))
    rough = [size if isinstance(size, int) else bounds.get(size, guess) for size in (height, width)]
    channels = draw(st.integers(1, 6))
    draft = Draft(*rough, channels)
    blocks = draw_body(draw, draft, stage=_symbolic_stage)
    if draw(st.booleans()):
        draft.emit(draw(st.sampled_from(["avgpool to 1", "avgpool to 1x1", "pool to 1", "maxpool to 1"])))
        draw_classifier(draw, draft, least=1)
    where = " where " + ", ".join(f"{s} >= {b}" for s, b in bounds.items()) if bounds else ""
    return "\n".join([*blocks, f"input {height}x{width}x{channels}{where}", *draft.lines]) + "\n"


def admissible_sizes(draw, program):
    """Three (height, width) inputs: the smallest admissible, then odd and even ones above it."""
    low_h, low_w = program.smallest_size()
    fixed_h, fixed_w = (isinstance(size, int) for size in (program.input.height, program.input.width))
    square = program.input.height == program.input.width
    ups = [(0, 0), (1, draw(st.integers(2, 60))), (draw(st.integers(2, 60)), 1)]
    sizes = [(low_h if fixed_h else low_h + dh, low_w if fixed_w else low_w + dw) for dh, dw in ups]
    return [(h, h) for h, _ in sizes] if square else sizes


def evaluated(shape, sizes):
    """A static shape's PyTorch form (C, H, W) or (N,), its symbolic sizes evaluated."""
    return tuple(size_at(d, sizes) for d in shape.torch_shape)


# -- W0001: the symbolic condition against the instance's warnings ---------------

# `for odd H, pool leaves the last row of its input unused, and for odd W the last column`
ROWS = r"the last (?:row|column)|up to the last \d+ (?:row|column)s"
CONDITIONAL = re.compile(
    rf"(?P<when>(?:for|when) .+?), \w+ leaves (?P<rows>{ROWS}) of its input unused"
    rf"(?:, and (?P<when2>(?:for|when) .+?) (?P<rows2>{ROWS}))?"
)


def conditions(message):
    """A conditional W0001 message: [(unit, condition text, most rows)] per axis it names."""
    match = CONDITIONAL.fullmatch(message)
    assert match, f"a W0001 message in no documented form: {message!r}"
    found = []
    for when, rows in ((match["when"], match["rows"]), (match["when2"], match["rows2"])):
        if when:
            most = re.search(r"\d+", rows)
            found.append(("row" if "row" in rows else "column", when, int(most[0]) if most else 1))
    return found


def condition(text):
    """`for odd H`, `when H % 8 is 1 to 4`, ...: (symbol, predicate on its value)."""
    patterns = [
        (r"for every (\w+)", lambda m: lambda v: True),
        (r"for odd (\w+)", lambda m: lambda v: v % 2 == 1),
        (r"for even (\w+)", lambda m: lambda v: v % 2 == 0),
        (r"for (\w+) not a multiple of (\d+)", lambda m: lambda v: v % int(m[2]) != 0),
        (r"when (\w+) % (\d+) is (\d+) to (\d+)", lambda m: lambda v: int(m[3]) <= v % int(m[2]) <= int(m[4])),
        (r"when (\w+) % (\d+) is ([\d, ]+(?: or \d+)?)", lambda m: lambda v: v % int(m[2]) in {int(n) for n in re.findall(r"\d+", m[3])}),
    ]
    for pattern, make in patterns:
        match = re.fullmatch(pattern, text)
        if match:
            return match[1], make(match)
    raise AssertionError(f"a condition in no documented form: {text!r}")


def unused_units(program, sizes=None):
    """{(line, 'row' | 'column')} that W0001 reports; a symbolic condition is evaluated at `sizes`."""
    found = set()
    for d in program.diagnostics:
        if d.code != "W0001":
            continue
        if d.message.startswith(("for ", "when ")):  # a condition on the symbols
            for unit, when, _ in conditions(d.message):
                symbol, holds = condition(when)
                if holds(sizes[symbol]):
                    found.add((d.line, unit))
        else:  # a fixed size: how many rows and columns
            found |= {(d.line, unit) for unit in re.findall(r"the last \d+ (row|column)", d.message)}
    return found


def long_periods(program):
    """Lines of windows whose unused rows repeat with a period too long to list (no condition by design)."""
    lines = set()
    for layer in program.layers:
        strides = getattr(layer.config, "stride", None)
        if strides and isinstance(layer.input, MapType):
            for size, stride in zip((layer.input.height, layer.input.width), strides):
                if isinstance(size, Axis) and size.period * stride > 4096:
                    lines.add(layer.line)
    return lines


# -- the property: symbolic == instance == PyTorch at every size drawn ---------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_symbolic_types_equal_pytorch_at_admissible_sizes(data):
    text = data.draw(symbolic_programs(), label="program")
    typed = cnndsl.check_program(text, "random.cnn")
    assume(typed.ok)
    assert typed.symbolic and typed.symbols
    event("residual" if "residual" in text else "no residual")
    event("classifier" if "flatten" in text else "fully convolutional")
    model = cnndsl.compile_source(text, "random.cnn").module_class()().eval().to("meta")
    assert sum(p.numel() for p in model.parameters()) == typed.total_params  # independent of the size
    channels = typed.input.channels
    for height, width in admissible_sizes(data.draw, typed):
        sizes = typed.sizes_for(height, width)
        instance = instantiate(typed, height, width)
        where = f"{text}at {height}x{width}: {[d.message for d in instance.diagnostics if d.is_error]}"
        assert instance.ok, where  # an admissible size is one every layer takes
        assert len(instance.layers) == len(typed.layers)
        for symbolic, concrete in zip(typed.layers, instance.layers):
            assert evaluated(symbolic.output, sizes) == concrete.output.torch_shape, where
            assert symbolic.params == concrete.params
            assert value_at(symbolic.macs, sizes) == concrete.macs, where
        assert value_at(typed.total_macs, sizes) == instance.total_macs
        # PyTorch, layer by layer.
        example = torch.empty(1, channels, height, width, device="meta")
        records, output = runtime_layers(model, example)
        assert records == [(evaluated(layer.output, sizes), layer.params) for layer in typed.layers], where
        assert tuple(output.shape[1:]) == evaluated(typed.output, sizes)
        assert runtime_macs(model, example) == instance.total_macs, where
        # W0001: the symbolic condition holds exactly at the sizes where the instance warns.
        skip = long_periods(typed)
        expected = {(line, unit) for line, unit in unused_units(typed, sizes) if line not in skip}
        actual = {(line, unit) for line, unit in unused_units(instance) if line not in skip}
        assert expected == actual, where
        if actual:
            event(f"W0001 at {len(actual)} lines")
    # Below a computed bound, PyTorch fails: the computed bound is the smallest.
    low = dict(zip(("height", "width"), typed.smallest_size()))
    for symbol in typed.symbols.values():
        if symbol.given or symbol.bound == 1:
            continue
        below = {axis: (symbol.bound - 1 if axis in symbol.axes else low[axis]) for axis in low}
        example = torch.empty(1, channels, below["height"], below["width"], device="meta")
        with pytest.raises(RuntimeError):
            model(example)
        event("below a computed bound")
        # The checker agrees: at that size some layer does not fit.
        values = {s.name: s.bound for s in typed.symbols.values()} | {symbol.name: symbol.bound - 1}
        assert not cnndsl.check_program(text, "random.cnn", sizes=values).ok, f"{text}at {values}"


# -- the decisions, exactly: chains of windows on one symbol -------------------

# One window as written: (layer words, kernel, stride, padding, dilation, ceil).
@st.composite
def windows(draw):
    kind = draw(st.sampled_from(["conv 4", "pool", "avgpool"]))
    kernel = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    dilation = draw(st.sampled_from([1, 1, 2])) if kind == "conv 4" else 1
    ceil = kind != "conv 4" and draw(st.booleans())
    if kind == "conv 4":
        words = f"conv 4 k{kernel} s{stride} p{padding} d{dilation}"
    else:
        words = f"{kind} {kernel} s{stride} p{padding}" + (" ceil" if ceil else "")
    return words, (kernel, stride, padding, dilation, ceil)


def run_chain(chain, size):
    """The sizes after each window, step by step with PyTorch's rule; stops at the first below 1."""
    sizes = []
    for kernel, stride, padding, dilation, ceil in chain:
        size = Window(size, kernel, stride, padding, dilation, ceil).output
        sizes.append(size)
        if size < 1:
            break
    return sizes


def chain_program(chain, bound=None):
    """`input HxWx3`, a 1x1 convolution to 4 channels, then the windows, one a line (from line 3)."""
    where = f" where H >= {bound}" if bound else ""
    return "\n".join([f"input HxWx3{where}", "conv 4 k1", *(words for words, _ in chain)]) + "\n"


@settings(max_examples=150, deadline=None)
@given(st.lists(windows(), min_size=1, max_size=4), st.integers(1, 30))
def test_positivity_names_the_largest_failing_size(chain, bound):
    params = [p for _, p in chain]
    text = chain_program(chain, bound)
    program = cnndsl.check_program(text, "chain.cnn")
    reports = [d for d in program.diagnostics if d.code == "E0071"]
    assert all(d.is_error for d in reports)
    # What the checker should say, by brute force: walk the layers, raising the bound past each failure.
    def size_after(index, x):
        return run_chain(params[: index + 1], x)[-1]  # the layers before it fit at x >= low

    expected, low = [], bound
    for index in range(len(params)):
        if size_after(index, low) >= 1:
            continue
        fits = next(x for x in range(low, low + 5000) if size_after(index, x) >= 1)
        expected.append((index + 3, fits - 1, size_after(index, fits - 1)))
        low = fits
    height_reports = [d for d in reports if "output height" in d.message]
    assert len(height_reports) == len(expected), (text, [d.message for d in reports])
    for d, (line, largest, size) in zip(height_reports, expected):
        assert d.line == line
        assert re.match(rf"for H = {largest}, the output height after line \d+ is {size}$", d.message), (text, d.message)
        assert d.help.startswith(f"require H >= {largest + 1} on the input line"), d.help
        assert min(run_chain(params, largest + 1)[: line - 2]) >= 1  # one more fits every layer so far
    event(f"{len(expected)} E0071 for H")
    if not expected:
        assert program.symbols["H"].bound == bound and program.symbols["H"].given
    else:
        # The fixed program (with the bound the last help suggests) checks, and its bound really fails.
        fixed = cnndsl.check_program(chain_program(chain, low), "chain.cnn")
        assert not [d for d in fixed.diagnostics if d.code == "E0071" and "height" in d.message]
        assert min(run_chain(params, low)) >= 1
        at_largest = cnndsl.check_program(text, "chain.cnn", sizes={"H": low - 1, "W": program.symbols["W"].bound})
        assert not at_largest.ok


@settings(max_examples=150, deadline=None)
@given(st.lists(windows(), min_size=1, max_size=4))
def test_a_computed_bound_is_the_smallest_size_every_layer_takes(chain):
    params = [p for _, p in chain]
    program = cnndsl.check_program(chain_program(chain), "chain.cnn")
    assume(program.ok)  # a window that never fits is E0071 even without a bound
    smallest = next(x for x in range(1, 10_000) if min(run_chain(params, x)) >= 1)
    assert program.symbols["H"].bound == smallest and not program.symbols["H"].given
    assert program.symbols["W"].bound == smallest


@settings(max_examples=150, deadline=None)
@given(st.lists(windows(), min_size=1, max_size=4))
def test_unused_row_conditions_name_exactly_the_sizes_that_drop_rows(chain):
    params = [p for _, p in chain]
    text = chain_program(chain)
    program = cnndsl.check_program(text, "chain.cnn")
    assume(program.ok)
    start = program.symbols["H"].bound
    for index, (kernel, stride, padding, dilation, ceil) in enumerate(params):
        line = index + 3
        said = [c for d in program.diagnostics if d.code == "W0001" and d.line == line for c in conditions(d.message)]
        notes = [(when, most) for unit, when, most in said if unit == "row"]  # the height's
        reach = dilation * (kernel - 1) + 1
        period = math.prod(p[1] for p in params[: index + 1])

        def dropped(x):
            """Real input rows after the last one any window reads (PyTorch's windows, counted directly)."""
            size = ([x] + run_chain(params, x))[index]
            out = Window(size, kernel, stride, padding, dilation, ceil).output
            last_read = (out - 1) * stride - padding + reach - 1  # in input coordinates
            return max(0, size - 1 - last_read)

        counts = {x: dropped(x) for x in range(start, start + 3 * period)}
        if reach < stride:  # windows narrower than the stride skip rows by design: never a warning
            assert notes == [], text
            continue
        if ceil:  # ceil mode reaches the end
            assert not any(counts.values()) and notes == [], text
            continue
        if not any(counts.values()):
            assert notes == [], (text, notes)
            continue
        assert len(notes) == 1, (text, notes)
        event(f"W0001 with period {period}")
        ((when, most),) = notes
        symbol, holds = condition(when)
        assert symbol == "H"
        assert [x for x in counts if holds(x)] == [x for x, n in counts.items() if n > 0], (text, when)
        assert most == max(counts.values()), (text, when, most)


# E0050: a residual's two paths on one symbol. These layers all give (H+1)//2:
EQUAL_TO_HALF = [
    ("conv 4 k3 s2 p1", (3, 2, 1, 1, False)),
    ("conv 4 k1 s2", (1, 2, 0, 1, False)),
    ("pool 2 ceil", (2, 2, 0, 1, True)),
    ("avgpool 3 s2 p1", (3, 2, 1, 1, False)),
    ("conv 4 k5 s2 p2", (5, 2, 2, 1, False)),
]
paths = st.lists(st.one_of(windows(), st.sampled_from(EQUAL_TO_HALF)), min_size=1, max_size=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(windows(), max_size=2), paths, st.one_of(st.none(), paths), st.one_of(st.none(), st.integers(1, 30)))
def test_residual_equality_is_decided_exactly(prefix, body, shortcut, bound):
    text = chain_program(prefix, bound) + "residual { " + "; ".join(w for w, _ in body) + " }"
    text += (" shortcut { " + "; ".join(w for w, _ in shortcut) + " }\n") if shortcut else "\n"
    program = cnndsl.check_program(text, "residual.cnn")
    assume(not any(d.is_error and d.code != "E0050" for d in program.diagnostics))
    before = [p for _, p in prefix]

    def sizes(x):
        """(body, other path) at an input size x, step by step with PyTorch's rule."""
        start = run_chain(before, x)[-1] if before else x
        return (
            run_chain([p for _, p in body], start)[-1],
            run_chain([p for _, p in shortcut], start)[-1] if shortcut else start,
        )

    errors = [d for d in program.diagnostics if d.code == "E0050"]
    assert len(errors) <= 1
    notes = errors[0].notes if errors else []
    for symbol, axis in (("H", "height"), ("W", "width")):
        start = program.symbols[symbol].bound  # the smallest admissible size
        named = [m for m in (re.match(rf"for {symbol} = (\d+) the body's {axis} is (\d+) and the other path's (\d+)", n) for n in notes) if m]
        if not named:  # equal for every admissible size
            differ = [x for x in range(start, start + 200) if len(set(sizes(x))) > 1]
            assert differ == [], (text, symbol, differ[:3], notes)
            continue
        (match,) = named
        value, a, b = map(int, match.groups())
        assert value >= start, (text, notes)  # an admissible size
        assert a != b and sizes(value) == (a, b), (text, notes)
        # The smallest such size: below it the paths agree.
        assert all(len(set(sizes(x))) == 1 for x in range(start, value)), (text, notes)
    if errors:  # it names a size for at least one axis
        assert any(re.match(r"for [HW] = \d+ ", n) for n in notes), (text, notes)
    event("E0050" if errors else "equal for every size")
