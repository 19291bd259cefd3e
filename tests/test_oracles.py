"""The oracles of tests/oracles.py, and the phase-1 prototypes held to them.

PyTorch is the oracle: receptive fields are the support of an input gradient,
saved bytes what `saved_tensors_hooks` sees, peaks what the profiler's memory
events add up to, mult-adds what torchinfo prints, FLOPs what
FlopCounterMode counts. The prototypes (prototypes/) compute the same from
the typed facts alone; tests/prototype_adapter.py reads those facts off the
module until the compiler provides them.
"""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnndsl
import model_parts as parts
from oracles import (
    SumPool2d,
    input_gradient_support,
    linearised,
    measured_peak_bytes,
    measured_receptive_field,
    measured_saved_bytes,
)
from prototype_adapter import describe
from random_networks import networks
from test_property import programs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # prototypes/ lives at the top level, outside the package
    sys.path.insert(0, str(ROOT))

from prototypes import network as net  # noqa: E402
from prototypes.compute import flops, macs, mult_adds  # noqa: E402
from prototypes.peak_bytes import peak_bytes  # noqa: E402
from prototypes.receptive_field import receptive_fields  # noqa: E402
from prototypes.saved_bytes import saved_bytes  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.cnn")) + sorted((ROOT / "examples" / "zoo").glob("*.cnn"))
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def load(path: Path) -> nn.Module:
    torch.manual_seed(0)
    return cnndsl.load(path)()


def concrete_shape(model: nn.Module, size: int = 64) -> tuple[int, ...]:
    """The module's input shape per sample, `size` for a symbolic height or width (at least its smallest)."""
    smallest = getattr(model, "smallest_input_shape", model.input_shape)
    return tuple(s if s is not None else max(size, low) for s, low in zip(model.input_shape, smallest))


def assert_saved_bytes_agree(model: nn.Module, shape, batch: int, dtype: str = "float32") -> int:
    model = model.to(DTYPES[dtype])
    x = torch.rand((batch, *shape), dtype=DTYPES[dtype])
    measured = measured_saved_bytes(model, x)
    predicted = saved_bytes(describe(model, shape), shape, batch, dtype)
    assert predicted.total == measured.total, (predicted.by_layer(), measured.by_node)
    return measured.total


# -- the oracles themselves, on cases computed by hand ----------------------------------


def test_saved_bytes_oracle_counts_distinct_storages_without_parameters():
    # Conv2d saves its input (2*3*8*8 floats), the in-place ReLU its output,
    # the convolution's own 2*4*6*6 floats; the weight is saved too, and excluded.
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    measured = measured_saved_bytes(model, torch.rand(2, 3, 8, 8))
    assert measured.total == 4 * (2 * 3 * 8 * 8) + 4 * (2 * 4 * 6 * 6)
    assert measured.parameter_bytes == 4 * 4 * 3 * 3 * 3
    assert measured.by_node == {"ConvolutionBackward0#1": 1536, "ReluBackward0#1": 1152}


def test_saved_bytes_oracle_counts_a_storage_saved_twice_once():
    # x * x saves x for each operand: one storage.
    model = nn.Sequential(nn.Conv2d(2, 2, 1), parts.Gate(nn.Identity()))
    measured = measured_saved_bytes(model, torch.rand(1, 2, 5, 5))
    activations = measured.storages("activation")
    assert len(activations) == 2 and measured.total == 2 * 4 * 2 * 5 * 5
    assert max(len(saved) for saved in activations.values()) == 2


def test_saved_bytes_oracle_reports_batchnorm_running_statistics_as_buffers():
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    measured = measured_saved_bytes(model, torch.rand(2, 2, 4, 4))
    assert measured.buffer_bytes == 2 * 3 * 4  # running_mean and running_var
    # the convolution's input, BatchNorm's input, save_mean and save_invstd
    assert measured.total == 4 * (2 * 2 * 16) + 4 * (2 * 3 * 16) + 2 * 3 * 4


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


@settings(max_examples=60, **SETTINGS)
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


# -- saved bytes: op by op -------------------------------------------------------------

C = 4


def op_cases():
    """(name, op, shape): each op after a 1x1 convolution (so its input requires grad), then a consumer."""
    maps = {
        "conv": nn.Conv2d(C, 6, 3),
        "conv nobias groups dilation": nn.Conv2d(C, 6, 3, dilation=2, groups=2, bias=False),
        "conv same even": nn.Conv2d(C, 6, 2, padding="same"),
        "conv transpose": nn.ConvTranspose2d(C, 6, 2, stride=2),
        "batchnorm": nn.BatchNorm2d(C),
        "groupnorm": nn.GroupNorm(2, C),
        "instancenorm": nn.InstanceNorm2d(C),
        "instancenorm affine": nn.InstanceNorm2d(C, affine=True),
        "layernorm2d": parts.LayerNorm2d(C),
        "pixelwise linear": parts.PixelwiseLinear(C, 6),
        "maxpool": nn.MaxPool2d(2),
        "maxpool ceil pad dilation": nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
        "avgpool": nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        "adaptive avg to 1": nn.AdaptiveAvgPool2d(1),
        "adaptive avg to 2": nn.AdaptiveAvgPool2d(2),
        "adaptive max to 2": nn.AdaptiveMaxPool2d(2),
        "dropout": nn.Dropout(0.5),
        "dropout p=0": nn.Dropout(0.0),
        "dropout p=1": nn.Dropout(1.0),
        "dropout2d": nn.Dropout2d(0.5),
        "flatten": nn.Flatten(),
        "channel shuffle": nn.ChannelShuffle(2),
        "upsample nearest": nn.Upsample(scale_factor=2),
        "upsample bilinear": nn.Upsample(scale_factor=2, mode="bilinear"),
        "layer scale": parts.LayerScale(C),
        "stochastic depth row": parts.StochasticDepth(0.2),
        "stochastic depth batch": parts.StochasticDepth(0.2, "batch"),
        "residual": parts.Residual(nn.Sequential(nn.Conv2d(C, C, 3, padding=1))),
        "concat": parts.Concat(nn.Identity(), nn.MaxPool2d(3, 1, 1)),
        "split": parts.Split(nn.Identity(), nn.Conv2d(C // 2, C // 2, 1)),
        "gate": parts.Gate(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(C, C, 1), nn.Hardsigmoid())),
    }
    for name in ("relu", "relu6", "leakyrelu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "prelu"):
        maps[name] = activation_module(name, False)
        if name not in ("gelu", "sigmoid", "tanh", "prelu"):
            maps[f"{name} in place"] = activation_module(name, True)
    vectors = {
        "linear": nn.Linear(C, 6),
        "batchnorm1d": nn.BatchNorm1d(C),
        "layernorm": nn.LayerNorm(C),
        "softmax": nn.Softmax(dim=1),
        "logsoftmax": nn.LogSoftmax(dim=1),
        "relu in place (vector)": nn.ReLU(inplace=True),
        "dropout (vector)": nn.Dropout(0.3),
    }
    return [(name, op, (C, 6, 5)) for name, op in maps.items()] + [(name, op, (C,)) for name, op in vectors.items()]


def activation_module(name: str, inplace: bool) -> nn.Module:
    from random_networks import activation

    return activation(name, inplace)


def harness(op: nn.Module, shape, first: bool) -> nn.Sequential:
    """op after a 1x1 convolution (or first, on the input that needs no grad), then a consumer."""
    op = copy.deepcopy(op).float()  # the cases are shared between tests, and some convert dtypes
    pre = nn.Conv2d(C, C, 1) if len(shape) == 3 else nn.Linear(C, C)
    out_shape = op(torch.rand(2, *shape)).shape[1:]
    post = nn.Conv2d(out_shape[0], 3, 1) if len(out_shape) == 3 else nn.Linear(out_shape[0], 3)
    return nn.Sequential(op, post) if first else nn.Sequential(pre, op, post)


@pytest.mark.parametrize(("name", "op", "shape"), op_cases(), ids=[case[0] for case in op_cases()])
@pytest.mark.parametrize("first", [False, True], ids=["after-conv", "on-input"])
def test_each_op_saves_what_the_model_says(name, op, shape, first):
    for batch in (1, 3) if len(shape) == 3 else (2, 3):  # BatchNorm1d needs two samples
        torch.manual_seed(0)
        assert_saved_bytes_agree(harness(op, shape, first), shape, batch)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize(("name", "op", "shape"), op_cases(), ids=[case[0] for case in op_cases()])
def test_each_op_saves_what_the_model_says_in_half_precision(name, op, shape, dtype):
    assert_saved_bytes_agree(harness(op, shape, False), shape, 2, dtype)


def test_what_the_table_says_for_the_main_ops():
    """The figures docs/memory-model-draft.md states, measured directly (batch 2, float32, 4x6x5 maps)."""
    n, elements = 2, 2 * C * 6 * 5

    def increment(op):  # bytes the op adds to a 1x1 convolution that saves only the input
        return measured_saved_bytes(harness(op, (C, 6, 5), False), torch.rand(n, C, 6, 5)).total

    base = 4 * elements  # the first convolution's input; the consumer saves the op's output
    assert increment(nn.MaxPool2d(2)) == base + 4 * elements + 8 * (2 * C * 3 * 2) + 4 * (2 * C * 3 * 2)
    assert increment(nn.BatchNorm2d(C)) == base + 4 * elements + 2 * 4 * C + 4 * elements
    assert increment(nn.Dropout(0.5)) == base + 4 * elements + 4 * elements  # a float mask, not bool
    assert increment(nn.ReLU(inplace=True)) == base + 4 * elements  # one storage: conv's output
    assert increment(nn.ReLU6(inplace=True)) == base + 4 * elements + 4 * elements  # a clone
    assert increment(nn.Flatten()) == base + 4 * elements  # a view


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("channels_last", [False, True])
def test_pixelwise_linear_copies_only_nchw_memory_with_several_samples(batch, channels_last):
    before = [nn.Conv2d(C, C, 1)] + ([parts.LayerNorm2d(C)] if channels_last else [])
    model = nn.Sequential(*before, parts.PixelwiseLinear(C, 5), nn.GELU(), parts.PixelwiseLinear(5, C))
    assert_saved_bytes_agree(model, (C, 6, 5), batch)


# -- saved bytes: whole networks --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_saved_bytes_of_every_example(path):
    model = load(path)
    shape = concrete_shape(model)
    assert_saved_bytes_agree(model, shape, 2)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ["quiz", "zoo/resnet18", "zoo/mobilenet_v2"])
def test_saved_bytes_by_batch_and_dtype(name, dtype, batch):
    model = load(ROOT / "examples" / f"{name}.cnn")
    shape = concrete_shape(model, 40)
    total = assert_saved_bytes_agree(model, shape, batch, dtype)
    assert total > 0


def test_saved_bytes_are_linear_in_the_batch_for_batchnorm_free_networks():
    model = load(ROOT / "examples" / "quiz.cnn")
    shape = concrete_shape(model)
    one, five = (saved_bytes(describe(model, shape), shape, b).total for b in (1, 5))
    assert five == 5 * one


@settings(max_examples=40, **SETTINGS)
@given(networks())
def test_saved_bytes_of_random_networks_with_branches_and_gates(drawn):
    model, shape = drawn
    for batch in (1, 2):
        try:
            assert_saved_bytes_agree(model, shape, batch)
        except ValueError as error:  # BatchNorm in train mode refuses one value per channel
            assert "Expected more than 1 value per channel" in str(error)


@settings(max_examples=30, **SETTINGS)
@given(st.data())
def test_saved_bytes_of_random_cnn_programs(data):
    text = data.draw(programs())
    typed = cnndsl.check_program(text, "random.cnn")
    if not typed.ok:
        return
    model = cnndsl.compile_source(text, "random.cnn").module_class()()
    shape = typed.input.torch_shape
    try:
        assert_saved_bytes_agree(model, shape, 2)
    except ValueError as error:
        assert "Expected more than 1 value per channel" in str(error)


# -- receptive fields --------------------------------------------------------------------

# (example, layers of `features` up to the measured point, reference (size, stride, padding))
REFERENCE_FIELDS = [
    ("quiz", 4, (26, 8, 8)),  # before flatten
    ("zoo/alexnet", 13, (195, 32, 66)),  # torchvision's features, before the adaptive pooling
    ("zoo/vgg16", 31, (212, 32, 90)),  # the last max pooling (Araujo et al.)
    ("zoo/resnet50", 30, (267, 16, 133)),  # the end of layer3
    ("zoo/resnet50", 36, (427, 32, 213)),  # the end of layer4
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "depth", "reference"), REFERENCE_FIELDS, ids=lambda v: str(v))
def test_reference_receptive_fields(name, depth, reference):
    """The gradient oracle measures the published figures, and the prototype computes them.

    Only the height is measured for the large networks (every window in them
    is square, so the width is the same computation); the search starts from
    32 wide, the smallest width every one of them accepts.
    """
    model = load(ROOT / "examples" / f"{name}.cnn")
    features = model.features[:depth]
    channels = model.input_shape[0]
    start = (channels, 64, 64) if name != "quiz" else (channels, 32, 32)
    if name == "zoo/alexnet":
        start = (channels, 64, 64)
    measured = measured_receptive_field(features, start, axes=(0,) if name != "quiz" else (0, 1))
    assert (measured.height.size, measured.height.stride, measured.height.padding) == reference
    field, _ = receptive_fields(describe(features, (channels, 224, 224)))
    for axis in field.axes():
        assert (axis.size, axis.stride, axis.padding) == reference


def assert_unit_fields_agree(model: nn.Module, shape, limit: int = 40):
    """Every sampled output unit's gradient support has the extent the prototype computes.

    A unit whose computed extent lies inside the input must have exactly that
    first and last pixel; one whose extent crosses the border (padding, ceil
    mode) must have its support inside the extent's visible part.
    """
    field, _ = receptive_fields(describe(model, shape))
    model_ = linearised(model)
    with torch.no_grad():
        out = model_(torch.ones(1, *shape, dtype=torch.float64))
    height, width = out.shape[2:]
    units = [(i, j) for i in range(height) for j in range(width)]
    units = units[:: max(1, len(units) // limit)]
    supports, _ = input_gradient_support(model_, shape, units)
    exact = 0
    for unit, support in zip(units, supports):
        extents = [field.axes()[axis].extent(unit[axis]) for axis in (0, 1)]
        inside = [0 <= first and last <= shape[1 + axis] - 1 for axis, (first, last) in enumerate(extents)]
        if not support[0]:  # the unit sees only padding along some axis
            assert not all(inside)
            continue
        for axis in (0, 1):
            seen, (first, last) = support[axis], extents[axis]
            if field.axes()[axis].irregular:
                continue
            if inside[axis]:
                assert (seen[0], seen[-1]) == (first, last), (unit, axis)
                exact += 1
            else:
                assert max(first, 0) <= seen[0] and seen[-1] <= min(last, shape[1 + axis] - 1), (unit, axis)
    return field, exact


@settings(max_examples=30, **SETTINGS)
@given(networks())
def test_receptive_fields_of_random_networks_with_branches_and_gates(drawn):
    model, shape = drawn
    assert_unit_fields_agree(model, shape)


@settings(max_examples=20, **SETTINGS)
@given(networks(extras=False, same=False, adaptive=False, min_size=12, max_size=20))
def test_static_receptive_field_is_what_the_oracle_measures(drawn):
    """Aligned, not global: the static (size, stride, padding) equal the oracle's, at any size it needs."""
    model, shape = drawn
    field, _ = receptive_fields(describe(model, shape))
    if any(axis.whole or axis.irregular or not axis.aligned for axis in field.axes()):
        return
    with torch.no_grad():
        out = model.eval()(torch.rand(1, *shape))
    if any(size < 2 for size in out.shape[2:]):
        return  # one unit: no stride to measure at this size
    try:
        measured = measured_receptive_field(model, shape, max_size=512)
    except (ValueError, RuntimeError):
        return  # an adaptive pooling whose windows change with the size
    for static, oracle in zip(field.axes(), measured.axes()):
        assert (static.size, static.stride, static.padding) == (oracle.size, oracle.stride, oracle.padding)


@settings(max_examples=20, **SETTINGS)
@given(st.data())
def test_receptive_fields_of_random_cnn_programs(data):
    text = data.draw(programs())
    typed = cnndsl.check_program(text, "random.cnn")
    if not typed.ok:
        return
    model = cnndsl.compile_source(text, "random.cnn").module_class()()
    assert_unit_fields_agree(model.features, typed.input.torch_shape)


def test_misaligned_paths_give_each_unit_its_own_extent():
    # On 4x4: `pool 2` (jump 2) and `conv k3` (jump 1) both give 2x2; concatenated.
    model = nn.Sequential(parts.Concat(nn.MaxPool2d(2), nn.Conv2d(2, 2, 3)))
    field, exact = assert_unit_fields_agree(model, (2, 4, 4))
    assert not field.height.aligned and field.height.size is None
    assert [field.height.extent(k) for k in (0, 1)] == [(0, 2), (1, 3)]
    assert field.height.largest_extent(2) == 3 and exact > 0


def test_a_spatial_gate_joins_the_identity_and_its_body():
    model = nn.Sequential(nn.Conv2d(2, 2, 3), parts.Gate(nn.Sequential(nn.Conv2d(2, 1, 5, padding=2), nn.Sigmoid())))
    field, _ = assert_unit_fields_agree(model, (2, 16, 16))
    assert (field.height.size, field.height.stride, field.height.padding) == (7, 1, 2)


def test_a_squeeze_and_excitation_gate_sees_the_whole_input():
    gate = parts.Gate(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(2, 2, 1), nn.Sigmoid()))
    field, _ = assert_unit_fields_agree(nn.Sequential(nn.Conv2d(2, 2, 3), gate), (2, 12, 12))
    assert field.height.whole and field.width.whole


def test_a_strided_projection_shortcut_lies_inside_the_body():
    """ResNet's downsampling: body 3x3 stride 2 and 1x1 stride 2 shortcut, aligned (same jump)."""
    body = nn.Sequential(nn.Conv2d(2, 4, 3, 2, 1))
    model = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), parts.Residual(body, nn.Conv2d(2, 4, 1, 2)))
    field, _ = assert_unit_fields_agree(model, (2, 16, 16))
    assert (field.height.size, field.height.stride, field.height.padding) == (5, 2, 2)


# -- compute conventions ------------------------------------------------------------------


def leaf_modules(model: nn.Module):
    return [m for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Sequential)]


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.stem in ("quiz", "lenet5", "resnet18", "mobilenet_v2")])
def test_flops_and_mult_adds_of_examples(path):
    torchinfo = pytest.importorskip("torchinfo")
    model = load(path)
    shape = concrete_shape(model, 64)
    layers = list(net.layers(describe(model, shape)))
    batch = 2
    with torch.device("meta"):
        meta = cnndsl.load(path)()
    stats = torchinfo.summary(meta, input_size=(batch, *shape), device="meta", verbose=0)
    assert stats.total_mult_adds == batch * sum(mult_adds(layer) for layer in layers)
    with FlopCounterMode(display=False) as counter:
        meta(torch.empty((1, *shape), device="meta"))
    assert counter.get_total_flops() == sum(flops(layer) for layer in layers) == 2 * sum(macs(layer) for layer in layers)


@settings(max_examples=25, **SETTINGS)
@given(networks())
def test_flops_and_mult_adds_of_random_networks(drawn):
    torchinfo = pytest.importorskip("torchinfo")
    model, shape = drawn
    layers = list(net.layers(describe(model, shape)))
    stats = torchinfo.summary(model, input_size=(3, *shape), verbose=0, mode="eval")
    names = {}
    for layer, module in zip(layers, leaf_modules(model)):
        names[layer] = tuple(name for name, _ in module.named_parameters()) or None
    assert stats.total_mult_adds == 3 * sum(mult_adds(layer, names[layer]) for layer in layers)
    with FlopCounterMode(display=False) as counter:
        model.eval()(torch.rand(1, *shape))
    assert counter.get_total_flops() == sum(flops(layer) for layer in layers)


def test_torchinfo_counts_a_convolutions_bias_per_position_and_a_linear_layers_once():
    torchinfo = pytest.importorskip("torchinfo")
    conv = nn.Sequential(nn.Conv2d(3, 8, 3))
    assert torchinfo.summary(conv, input_size=(1, 3, 10, 10), verbose=0).total_mult_adds == 8 * 8 * (8 * 27 + 8)
    pixelwise = nn.Sequential(parts.PixelwiseLinear(3, 8))
    # torchinfo multiplies by the batch only, not by the pixels
    assert torchinfo.summary(pixelwise, input_size=(1, 3, 10, 10), verbose=0).total_mult_adds == 3 * 8 + 8


# -- peak memory ---------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p),
    "adamw": lambda p: torch.optim.AdamW(p),
}

# The measured ratios model/measured on CPU (docs/memory-model-draft.md): the
# model leaves out kernels' scratch space, which weighs most in small networks.
PEAK_CASES = [("quiz", 0.84), ("lenet5", 0.88), ("zoo/resnet18", 0.97), ("zoo/mobilenet_v2", 0.97)]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize(("name", "lowest"), PEAK_CASES, ids=[c[0] for c in PEAK_CASES])
def test_peak_model_against_the_cpu_profiler(name, lowest, optimizer):
    model = load(ROOT / "examples" / f"{name}.cnn")
    shape = concrete_shape(model, 64)
    batch = 4
    x = torch.rand(batch, *shape)
    y = torch.randint(0, model.output_shape[0], (batch,))
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    measured = measured_peak_bytes(model, x, y, OPTIMIZERS[optimizer])
    estimate = peak_bytes(describe(model, shape), shape, batch, optimizer, buffers=buffers)
    assert lowest <= estimate.peak / measured["peak"] <= 1.0, (estimate, measured)


def test_peak_model_is_exact_where_adams_step_dominates():
    """VGG-like: a large linear layer; the peak is the optimizer step, which the model counts exactly but for
    a few bytes (the loss's scalars)."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(8 * 16 * 16, 512))
    x, y = torch.rand(2, 3, 16, 16), torch.randint(0, 512, (2,))
    measured = measured_peak_bytes(model, x, y, OPTIMIZERS["adam"])
    estimate = peak_bytes(describe(model, (3, 16, 16)), (3, 16, 16), 2, "adam")
    assert estimate.phase == "optimizer step"
    assert 0 <= measured["peak"] - estimate.peak <= 4096


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_peak_model_against_cuda_max_memory_allocated():  # pragma: no cover - needs a GPU
    model = load(ROOT / "examples" / "zoo" / "resnet18.cnn").cuda()
    shape = (3, 64, 64)
    x, y = torch.rand(4, *shape, device="cuda"), torch.randint(0, 1000, (4,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):
        torch.cuda.reset_peak_memory_stats()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    measured = torch.cuda.max_memory_allocated()
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    estimate = peak_bytes(describe(model.cpu(), shape), shape, 4, "sgd", buffers=buffers)
    assert 0.8 <= estimate.peak / measured <= 1.2


def test_peak_model_parts_add_up():
    model = load(ROOT / "examples" / "quiz.cnn")
    shape = concrete_shape(model)
    estimate = peak_bytes(describe(model, shape), shape, 2, "adamw")
    assert estimate.parameters == 4 * 56_510 and estimate.gradients == estimate.parameters
    assert estimate.optimizer_state == 2 * estimate.parameters + 4 * 6  # exp_avg, exp_avg_sq, 6 step counters
    assert estimate.peak == (
        estimate.parameters + estimate.optimizer_state + estimate.inputs + 8 * 2
        + max(estimate.backward_peak, estimate.optimizer_peak)
    )  # fmt: skip
    assert estimate.inputs == 4 * 2 * math.prod(shape)


def test_channels_last_strides_survive_a_one_channel_map():
    """A 1-channel LayerNorm2d output keeps channels-last strides; the convolution after it follows them,
    and the pixel-wise linear layer further on reads its input without a copy (found by hypothesis)."""
    model = nn.Sequential(
        parts.Residual(nn.Sequential(nn.Conv2d(2, 1, 1), parts.LayerNorm2d(1), nn.Conv2d(1, 2, 1))),
        nn.ReLU(),
        parts.Concat(nn.Identity(), parts.PixelwiseLinear(2, 1)),
    )
    assert_saved_bytes_agree(model, (2, 6, 6), 2)


def test_instance_norm_copies_a_channels_last_input():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), parts.PixelwiseLinear(1, 1), nn.Conv2d(1, 2, 1), nn.InstanceNorm2d(2))
    assert_saved_bytes_agree(model, (1, 6, 6), 1)
    model = nn.Sequential(nn.Conv2d(2, 2, 1), parts.LayerNorm2d(2), nn.InstanceNorm2d(2, affine=True))
    assert_saved_bytes_agree(model, (2, 6, 6), 2)
    # ... and returns a contiguous map, which a pixel-wise linear layer must copy (found by hypothesis)
    model = nn.Sequential(nn.Conv2d(2, 2, 1), parts.LayerNorm2d(2), nn.InstanceNorm2d(2), parts.PixelwiseLinear(2, 3))
    assert_saved_bytes_agree(model, (2, 6, 6), 2)


def test_receptive_field_oracle_skips_units_that_see_only_padding():
    """Stride 3 after stride 3 with padding 1: unit 0 sees only padding; the oracle measures unit 1 (found by
    hypothesis)."""
    model = nn.Sequential(nn.Conv2d(1, 1, 1, stride=(1, 3)), nn.Conv2d(1, 1, 1, stride=(1, 3), padding=(0, 1)))
    measured = measured_receptive_field(model, (1, 12, 12))
    assert (measured.width.size, measured.width.stride, measured.width.padding) == (1, 9, 3)
    field, _ = receptive_fields(describe(model, (1, 12, 12)))
    assert (field.width.size, field.width.stride, field.width.padding) == (1, 9, 3)
