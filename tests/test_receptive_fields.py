"""Receptive fields: the static type (cnndsl/check/fields.py) against PyTorch's gradients.

The oracle (tests/oracles.py, `measured_receptive_field`) back-propagates
from one output unit through a linearised copy of the generated module
(positive weights, no bias, identity activations, max pooling replaced by a
sum over the same windows) and reads the input region with a non-zero
gradient. Here it is held to cases computed by hand, the static fields are
held to it on random programs with residuals (identity, strided projections,
paths whose jumps differ), unit by unit, and `cnnc summary` prints the
published reference values (Araujo et al., Distill 2019) for the examples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import cnndsl
from cnndsl.compiler import instantiate
from cnndsl.types.fields import ALIGNED, MISALIGNED, WHOLE_INPUT
from cnndsl.types.shapes import MapType
from oracles import SumPool2d, input_gradient_support, linearised, measured_receptive_field
from random_programs import programs

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SWEEP = os.environ.get("HYPOTHESIS_PROFILE") == "campaign"


def draws(default: int, sweep: int) -> int:
    return sweep if SWEEP else default


def features_of(text: str):
    """The typed program, the receptive field of its last map, and the generated module's `features`."""
    program = cnndsl.check_program(text, "program.cnn")
    assert program.ok, [d.message for d in program.diagnostics if d.is_error]
    torch.manual_seed(0)
    model = cnndsl.compile_source(text, "program.cnn").module_class()()
    nodes = program.features
    if not nodes or not isinstance(nodes[-1].output, MapType):
        return program, None, None
    return program, nodes[-1].receptive_field, model.features


def assert_unit_fields_agree(text: str, limit: int = 40) -> int:
    """Every sampled output unit's gradient support has the extent the static field gives it.

    A unit whose extent lies inside the input must have exactly that first
    and last pixel (after a split: at most that extent); one whose extent
    crosses the border (padding, ceil mode) must have its support inside the
    extent's visible part; an axis whose field is the whole input must be seen
    as all the output sees. Returns how many unit-axis pairs matched exactly.
    """
    program, field, module = features_of(text)
    if field is None:
        return 0
    shape = program.input.torch_shape
    model = linearised(module)
    with torch.no_grad():
        out = model(torch.ones(1, *shape, dtype=torch.float64))
    height, width = out.shape[2:]
    units = [(i, j) for i in range(height) for j in range(width)]
    units = units[:: max(1, len(units) // limit)]
    supports, _ = input_gradient_support(model, shape, units)
    everything = _support_of_all_units(model, shape)
    # Reflect, replicate and circular padding: the units at the borders see mirrored, repeated or wrapped
    # pixels instead of padding, inside the image but outside the field's numbers (language.md, section 11).
    mirrored = any(f" {mode}" in line for line in text.splitlines() if line.lstrip().startswith("pad ")
                   for mode in ("reflect", "replicate", "circular"))
    # A split hands each branch some channels; the field is computed over all of them, so after a split of
    # channels that see different fields it is an upper bound (language.md, section 11).
    bound_only = any(line.lstrip().startswith("split") for line in text.splitlines())
    exact = 0
    for unit, support in zip(units, supports):
        if mirrored and any(_crosses_border(f, unit[axis], shape[1 + axis]) for axis, f in enumerate(field.axes)):
            continue
        if not support[0]:
            # The unit reads only padding somewhere on the way (of this layer or an earlier one,
            # whose padded positions the recurrence counts as virtual units): its field must reach
            # into the padding along some axis.
            assert any(_crosses_border(f, unit[axis], shape[1 + axis]) for axis, f in enumerate(field.axes)), (unit, text)
            continue
        for axis, axis_field in enumerate(field.axes):
            seen, size = support[axis], shape[1 + axis]
            if axis_field.form == WHOLE_INPUT:
                # Each unit depends on every unit before it: it sees what all the output sees together
                # (the whole input, but for rows that strides never reach, which W0001 reports).
                assert seen == everything[axis], (unit, axis, text)
                continue
            if axis_field.form not in (ALIGNED, MISALIGNED):
                continue  # uneven adaptive windows: no extent to compare
            first, last = axis_field.extent(unit[axis])
            if 0 <= first and last <= size - 1 and not bound_only:
                assert (seen[0], seen[-1]) == (first, last), (unit, axis, text)
                exact += 1
            else:
                assert max(first, 0) <= seen[0] and seen[-1] <= min(last, size - 1), (unit, axis, text)
    return exact


def _support_of_all_units(model: nn.Module, shape) -> tuple[list[int], list[int]]:
    x = torch.ones((1, *shape), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    plane = grad[0].abs().sum(0)
    return torch.nonzero(plane.sum(1)).flatten().tolist(), torch.nonzero(plane.sum(0)).flatten().tolist()


def _crosses_border(axis_field, unit: int, size: int) -> bool:
    """Whether the unit's field reaches into the padding (or is not one extent: whole, uneven)."""
    if axis_field.form not in (ALIGNED, MISALIGNED):
        return True
    first, last = axis_field.extent(unit)
    return first < 0 or last > size - 1


# -- the oracle itself, on fields computed by hand --------------------------------------


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([nn.Conv2d(1, 1, 3)], (3, 1, 0)),
        ([nn.Conv2d(1, 1, 3, dilation=2)], (5, 1, 0)),
        ([nn.Conv2d(1, 1, 3, 2, 1), nn.Conv2d(1, 1, 3, 2, 1)], (7, 4, 3)),
        ([nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1)], (6, 2, 2)),
        ([nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)], (5, 2, 1)),
        ([nn.Conv2d(1, 1, 1, 2), nn.Conv2d(1, 1, 2)], (3, 2, 0)),  # {0, 2}: a gap inside
    ],
)
def test_receptive_field_oracle_on_fields_computed_by_hand(layers, expected):
    field = measured_receptive_field(nn.Sequential(*layers), (1, 16, 16))
    for axis in field.axes():
        assert (axis.size, axis.stride, axis.padding, axis.whole) == (*expected, False)


def test_receptive_field_oracle_calls_global_pooling_whole():
    field = measured_receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)), (1, 16, 16))
    assert field.height.whole and field.width.whole


def test_receptive_field_oracle_sees_gaps_left_by_dilation():
    supports, _ = input_gradient_support(linearised(nn.Conv2d(1, 1, 3, dilation=3)), (1, 9, 9), [(1, 1)])
    rows, cols = supports[0]
    assert rows == cols == [1, 4, 7]


def test_receptive_field_oracle_skips_units_that_see_only_padding():
    """Stride 3 after stride 3 with padding 1: unit 0 sees only padding; the oracle measures unit 1 (found by
    hypothesis)."""
    model = nn.Sequential(nn.Conv2d(1, 1, 1, stride=(1, 3)), nn.Conv2d(1, 1, 1, stride=(1, 3), padding=(0, 1)))
    measured = measured_receptive_field(model, (1, 12, 12))
    assert (measured.width.size, measured.width.stride, measured.width.padding) == (1, 9, 3)
    _, field, _ = features_of("input 12x12x1\nconv 1 k1 s1x3\nconv 1 k1 s1x3 p0x1\n")
    assert (field.width.size, field.width.jump, field.width.padding) == (1, 9, 3)


@settings(max_examples=draws(20, 60), **SETTINGS)
@given(
    st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.booleans(), st.integers(4, 12)
)
def test_sum_pool_has_max_pooling_geometry(kernel, stride, padding, dilation, ceil, size):
    if padding > kernel // 2:
        return
    pool = nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil)
    x = torch.ones(1, 2, size, size + 1)
    try:
        expected = pool(x).shape
    except RuntimeError:
        return
    assert SumPool2d(kernel, stride, padding, dilation, ceil)(x).shape == expected


# -- the reference values, as `cnnc summary` prints them ------------------------------------

# (example, which layer, (size, jump, padding)): the figures of the issue and of Araujo et al.
REFERENCE_FIELDS = [
    ("quiz", "the last pooling, before flatten", (26, 8, 8)),
    ("alexnet", "the last max pooling (torchvision's features)", (195, 32, 66)),
    ("vgg16", "the last max pooling", (212, 32, 90)),
    ("zoo/resnet50", "the end of layer3 (the last unit of jump 16)", (267, 16, 133)),
    ("zoo/resnet50", "the end of layer4 (before the average pooling)", (427, 32, 213)),
]


def summary_json(name: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "summary", "--format", "json", f"examples/{name}.cnn"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def reference_node(program, where: str):
    """The top-level node the reference figure is about (a block's layers are top-level once expanded)."""
    nodes = [node for node in program.features if node.receptive_field is not None]
    if "jump 16" in where:
        return [node for node in nodes if node.receptive_field.height.jump == 16][-1]
    if "max pooling" in where or "last pooling" in where:
        return [node for node in nodes if getattr(node, "kind", None) is not None and node.kind.name == "pool"][-1]
    return [node for node in nodes if node.receptive_field.height.form == ALIGNED][-1]


def program_of(name: str):
    text = (ROOT / "examples" / f"{name}.cnn").read_text()
    return text, cnndsl.check_program(text, f"{name}.cnn")


@pytest.mark.parametrize(("name", "where", "reference"), REFERENCE_FIELDS, ids=[f"{n}: {w}" for n, w, _ in REFERENCE_FIELDS])
def test_summary_prints_the_reference_fields(name, where, reference):
    _, program = program_of(name)
    node = reference_node(program, where)
    layer = summary_json(name)["layers"][program.layers.index(node)]  # a top-level layer: its JSON entry
    size, jump, padding = reference
    assert layer["receptive_field"] == {"size": [size] * 2, "jump": [jump] * 2, "padding": [padding] * 2, "form": [ALIGNED] * 2}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "where", "reference"), REFERENCE_FIELDS, ids=[f"{n}: {w}" for n, w, _ in REFERENCE_FIELDS])
def test_the_oracle_measures_the_reference_fields(name, where, reference):
    """The gradient oracle measures the published figures on the generated modules, cut after the layer.

    Only the height is measured for the large networks (every window in them
    is square, so the width is the same computation).
    """
    text, program = program_of(name)
    module = cnndsl.compile_source(text, f"{name}.cnn").module_class()().features
    depth = program.features.index(reference_node(program, where)) + 1
    start = (3, 32, 32) if name == "quiz" else (3, 64, 64)
    measured = measured_receptive_field(module[:depth], start, axes=(0,) if name != "quiz" else (0, 1))
    assert (measured.height.size, measured.height.stride, measured.height.padding) == reference


def test_a_symbolic_input_has_the_fields_of_every_instance():
    path = ROOT / "examples" / "zoo" / "resnet50.cnn"
    program = cnndsl.check_program(path.read_text(), str(path))
    fields = [layer.receptive_field for layer in program.layers]
    for size in (64, 97, 224):
        instance = instantiate(program, size, size)
        assert [layer.receptive_field for layer in instance.layers] == fields


# -- the static fields against the oracle ------------------------------------------------------


@settings(max_examples=draws(6, 80), **SETTINGS)
@given(programs())
def test_fields_of_random_programs_unit_by_unit(text):
    assert_unit_fields_agree(text)


@settings(max_examples=draws(5, 40), **SETTINGS)
@given(programs(adaptive=False, odd_paths=False, classifier=False, min_size=12, max_size=20))
def test_static_field_is_what_the_oracle_measures(text):
    """Aligned fields: the static size, jump and padding equal the oracle's, at whatever size it needs."""
    program, field, module = features_of(text)
    if field is None or any(axis.form != ALIGNED for axis in field.axes):
        return
    output = program.features[-1].output
    if min(output.height, output.width) < 2:
        return  # one unit: no jump to measure at this size
    try:
        measured = measured_receptive_field(module, program.input.torch_shape, max_size=1024)
    except ValueError as error:  # what the oracle cannot measure: say which, and compare nothing
        assert "no output unit near the centre" in str(error) or "still clipped" in str(error)
        return
    for static, oracle in zip(field.axes, measured.axes()):
        assert (static.size, static.jump, static.padding) == (oracle.size, oracle.stride, oracle.padding)


def test_paths_of_different_jumps_give_each_unit_its_own_extent():
    # On 4x4: `pool 2` (jump 2) and `conv k3` (jump 1) both give 2x2.
    text = "input 4x4x2\nresidual { pool 2 } shortcut { conv 2 k3 }\n"
    assert assert_unit_fields_agree(text) > 0
    _, field, _ = features_of(text)
    assert field.height.form == MISALIGNED and field.height.size is None
    assert [field.height.extent(k) for k in (0, 1)] == [(0, 2), (1, 3)]
    assert field.height.largest(2) == 3


def test_a_strided_projection_shortcut_lies_inside_the_body():
    """ResNet's downsampling: a 3x3 stride-2 body and a 1x1 stride-2 shortcut, aligned (the same jump)."""
    text = "input 16x16x2\nconv 2 k3 p1\nresidual { conv 4 k3 s2 p1 } shortcut { conv 4 k1 s2 }\n"
    assert assert_unit_fields_agree(text) > 0
    _, field, _ = features_of(text)
    assert (field.height.size, field.height.jump, field.height.padding) == (5, 2, 2)


def test_global_pooling_and_a_linear_layer_see_the_whole_input():
    program = cnndsl.check_program("input 12x10x2\nconv 2 k3\navgpool to 1\nflatten\nlinear 3\n")
    assert [layer.receptive_field.height.form for layer in program.layers] == [ALIGNED, WHOLE_INPUT, WHOLE_INPUT, WHOLE_INPUT]
    assert assert_unit_fields_agree("input 12x10x2\nconv 2 k3\navgpool to 1\n") == 0
    program = cnndsl.check_program("input 12x10x2\nconv 2 k3\nflatten\nlinear 3\n")
    assert [layer.receptive_field.width.form for layer in program.layers] == [ALIGNED, ALIGNED, WHOLE_INPUT]


def test_joins_in_a_row_keep_their_paths_few():
    """Thirty squeeze-and-excitation gates, each joining a whole field to the input's: the union keeps one
    path, not 2**30 (the zoo's RegNet took 25 s to check before this was so)."""
    text = "input 32x32x8\n" + "gate { avgpool to 1; conv 2 k1 relu; conv 8 k1; sigmoid }\nconv 8 k3 p1\n" * 30
    program = cnndsl.check_program(text)
    assert program.ok
    assert max(len(axis.paths) for node in program.nodes for axis in node.receptive_field.axes) == 1
