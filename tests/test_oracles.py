"""The memory and compute analyses against PyTorch, the oracle.

- Saved bytes (cnndsl/check/saved.py) against what
  `saved_tensors_hooks` observes, storages deduplicated (tests/oracles.py):
  op by op on CPU (two batches, three data types), on every example, on
  random programs with residuals of every shape and on the property tests'
  programs (blocks, repeats).
- The training step's peak (cnndsl/check/training.py) against the CPU
  profiler's high-water mark (and CUDA's max_memory_allocated where a GPU is
  present).
- FLOPs and mult-adds (cnndsl/check/compute.py) against FlopCounterMode and
  torchinfo.

The receptive fields are in tests/test_receptive_fields.py. The default run
draws a few random programs per property; `HYPOTHESIS_PROFILE=campaign` and
the slow-marked tests run the full sweep.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnndsl
from cnndsl.check.compute import flops, mult_adds
from cnndsl.check.saved import saved_bytes
from cnndsl.check.training import OPTIMIZERS, training_step
from cnndsl.compiler import instantiate
from cnndsl.types.shapes import MapType
from oracles import measured_peak_bytes, measured_saved_bytes
from random_programs import programs
from test_property import programs as property_programs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn")) + sorted((ROOT / "examples" / "zoo").glob("*.cnn"))
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# A few draws per property by default; the campaign profile runs the full sweep.
SWEEP = os.environ.get("HYPOTHESIS_PROFILE") == "campaign"


def draws(default: int, sweep: int) -> int:
    return sweep if SWEEP else default


def typed_at(text: str, filename: str = "program.cnn", size: int = 64):
    """The typed program, an instance at `size` (at least the smallest admitted) when it is symbolic."""
    program = cnndsl.check_program(text, filename)
    assert program.ok, [d.message for d in program.diagnostics if d.is_error]
    if program.symbolic:
        height, width = (max(size, low) for low in program.smallest_size())
        program = instantiate(program, height, width)
    return program


def module_for(text: str, filename: str = "program.cnn", device: str = "cpu", dtype: str = "float32") -> nn.Module:
    torch.manual_seed(0)
    with torch.device(device):
        return cnndsl.compile_source(text, filename).module_class()().to(DTYPES[dtype])


def assert_saved_bytes_agree(text: str, batch: int, dtype: str = "float32", device: str = "cpu", filename: str = "program.cnn") -> int:
    """The static saved bytes of `text` equal the hooks' figure for a batch; returns it."""
    program = typed_at(text, filename)
    model = module_for(text, filename, device, dtype)
    x = torch.rand((batch, *program.input.torch_shape), dtype=DTYPES[dtype], device=device)
    measured = measured_saved_bytes(model, x)
    static = saved_bytes(program, batch, dtype)
    by_layer = {f"line {s.node.line} {getattr(s.node, 'module', 'residual')}: {s.what}": s.nbytes for s in static.saved}
    assert static.total == measured.total, (by_layer, measured.by_node)
    return measured.total


def train_mode_refuses(error: ValueError) -> bool:
    """In train mode BatchNorm refuses one value per channel (a 1x1 map or a vector at batch 1), and
    InstanceNorm a map of one position."""
    return any(words in str(error) for words in ("Expected more than 1 value per channel", "Expected more than 1 spatial element"))


# -- the oracle itself, on cases computed by hand --------------------------------------


class Square(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


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
    measured = measured_saved_bytes(nn.Sequential(nn.Conv2d(2, 2, 1), Square()), torch.rand(1, 2, 5, 5))
    activations = measured.storages("activation")
    assert len(activations) == 2 and measured.total == 2 * 4 * 2 * 5 * 5
    assert max(len(saved) for saved in activations.values()) == 2


def test_saved_bytes_oracle_reports_batchnorm_running_statistics_as_buffers():
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    measured = measured_saved_bytes(model, torch.rand(2, 2, 4, 4))
    assert measured.buffer_bytes == 2 * 3 * 4  # running_mean and running_var
    # the convolution's input, BatchNorm's input, save_mean and save_invstd
    assert measured.total == 4 * (2 * 2 * 16) + 4 * (2 * 3 * 16) + 2 * 3 * 4


def test_saved_bytes_oracle_agrees_on_the_meta_device():
    """On meta (shapes only, no memory) storages are told apart by object: the same figure as on CPU."""
    text = "input 12x10x3\nconv 4 k3 relu\npool 2\nresidual { conv 4 k3 p1; bn; relu }\ndropout 0.5\nflatten\nlinear 5"
    on_cpu = measured_saved_bytes(module_for(text), torch.rand(2, 3, 12, 10)).total
    with torch.device("meta"):
        on_meta = measured_saved_bytes(module_for(text, device="meta"), torch.rand(2, 3, 12, 10)).total
    assert on_cpu == on_meta > 0


# -- saved bytes, op by op -----------------------------------------------------------------

# Each op after a 1x1 convolution (its input requires grad) or on the input
# (which does not), with a consumer after it. `{}` is where the op goes.
MAPS = "input 6x5x4\n{}\nconv 3 k1\n"
AFTER_CONV = "input 6x5x4\nconv 4 k1\n{}\nconv 3 k1\n"
NOT_IN_PLACE = "input 6x5x4\nconv 4 k1\navgpool 1\n{}\nconv 3 k1\n"  # an activation not right after conv/bn
VECTOR = "input 1x1x4\nflatten\n{}\nlinear 3\n"
AFTER_LINEAR = "input 1x1x4\nflatten\nlinear 4\n{}\nlinear 3\n"
MAP_OPS = {
    "conv": "conv 6 k3",
    "conv strided padded": "conv 6 k3 s2 p1",
    "conv nobias groups dilation": "conv 6 k3 d2 g2 nobias",
    "conv same, even total": "conv 6 k3 same",
    "conv same, odd total": "conv 6 k2 same",  # PyTorch pads a copy of the input itself
    "conv same, odd total dilated": "conv 6 k2x3 d3 same",
    "batchnorm": "bn",
    "maxpool": "pool 2",
    "maxpool ceil padded": "pool 3 s2 p1 ceil",
    "avgpool": "avgpool 3 s2 p1 ceil",
    "adaptive avg to 1": "avgpool to 1",
    "adaptive avg to 2": "avgpool to 2",
    "adaptive avg to its own size": "avgpool to 6x5",
    "adaptive max to 2": "pool to 2",
    "dropout": "dropout 0.5",
    "dropout 0": "dropout 0",
    "residual, identity": "residual { conv 4 k3 p1 }",
    "residual, identity, in-place end": "residual { conv 4 k3 p1; bn; relu }",
    "residual, projection": "residual { conv 8 k3 s2 p1 nobias; bn } shortcut { conv 8 k1 s2 nobias; bn }",
    "residual, paths of different jumps": "residual { pool 2 } shortcut { conv 4 k4 }",
    "residual, empty body": "residual { }",
    "residual, stochastic depth": "residual { conv 4 k3 p1; stochdepth 0.2 }",
    "residual, stochastic depth per batch": "residual { conv 4 k3 p1; stochdepth 0.2 batch }",
    "residual, stochastic depth 0": "residual { conv 4 k3 p1; stochdepth 0 }",
    "layernorm": "layernorm",
    "layerscale": "layerscale 0.5",
    "shuffle": "shuffle 2",
    "linear pixelwise": "linear 5 pixelwise",
    "linear pixelwise, gelu": "linear 5 pixelwise gelu",
    "linear pixelwise, relu in place": "linear 5 pixelwise relu",
    "linear pixelwise after layernorm": "layernorm\nlinear 5 pixelwise gelu\nlinear 4 pixelwise",
    "concat": "concat { branch { } branch { pool 3 s1 p1 } branch { conv 2 k3 p1 relu } }",
    "split": "split { branch { } branch { conv 2 k1; bn; relu } }",
    "gate, squeeze and excitation": "gate { avgpool to 1; conv 2 k1 relu; conv 4 k1; hardsigmoid }",
    "gate, per position": "gate { conv 1 k3 p1; sigmoid }",
    "gate, the input squared": "gate { }",
    "dropout2d": "dropout2d 0.3",
    "groupnorm": "groupnorm 2",
    "instancenorm": "instancenorm",
    "instancenorm affine, channels-last input": "layernorm\ninstancenorm affine",
    "pad": "pad 1",
    "pad reflect": "pad 2x1 reflect",
    "pad replicate": "pad 1 replicate",
    "pad circular, channels-last input": "layernorm\npad 1 circular",
    "prelu": "prelu",
    "prelu per channel": "prelu perchannel",
    "upconv": "upconv 3 k2 s2",
    "upconv stride 1": "upconv 3 k3 p1",
    "upsample": "upsample 2",
    "upsample bilinear aligned, channels-last input": "layernorm\nupsample 2 bilinear aligned",
    "upsample to a size": "upsample to 9x7",
    "keep and cat": "keep a\nconv 4 k3 p1 relu\ncat a",
    "keep and add, cropped": "keep a\nconv 4 k3 relu\nadd a crop",
    "keep and cat, cropped, channels-last": "layernorm\nkeep a\nconv 2 k3\ncat a crop",
}
ACTIVATIONS = ["relu", "relu6", "leakyrelu", "leakyrelu 0.2", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]
VECTOR_OPS = ["linear 4", "bn", "layernorm", "softmax", "logsoftmax", "relu", "dropout 0.3", "sigmoid"]


def op_cases():
    """(id, program text, batches)."""
    cases = []
    for name, op in MAP_OPS.items():
        cases.append((f"{name}, after conv", AFTER_CONV.format(op), (1, 3)))
        cases.append((f"{name}, on the input", MAPS.format(op), (1, 3)))
    for name in ACTIVATIONS:
        cases.append((f"{name}, in place after conv", AFTER_CONV.format(name), (1, 3)))
        cases.append((f"{name}, not in place", NOT_IN_PLACE.format(name), (1, 3)))
    for name in ("relu", "relu6", "gelu"):  # an in-place output, an in-place clone, not in place
        cases.append((f"{name}, after bn", AFTER_CONV.format(f"bn\n{name}"), (1, 3)))
        cases.append((f"{name}, on the input", MAPS.format(name), (1, 3)))
    cases.append(("flatten", "input 6x5x4\nconv 4 k1\nflatten\nlinear 3\n", (1, 3)))
    cases.append(("flatten on the input", "input 6x5x4\nflatten\nlinear 3\n", (1, 3)))
    cases.append(("unflatten", "input 1x1x4\nflatten\nlinear 24\nunflatten 2x3x4\nconv 3 k1\n", (1, 3)))
    cases.append(("unflatten of the input", "input 2x3x4\nflatten\nunflatten 2x3x4\nconv 3 k1\n", (1, 3)))
    for op in VECTOR_OPS:
        cases.append((f"{op} (vector), after linear", AFTER_LINEAR.format(op), (2, 3)))  # BatchNorm1d: two samples
        cases.append((f"{op} (vector), on the input", VECTOR.format(op), (2, 3)))
    return cases


OP_CASES = op_cases()


@pytest.mark.parametrize(("name", "text", "batches"), OP_CASES, ids=[case[0] for case in OP_CASES])
def test_each_op_saves_what_the_analysis_says(name, text, batches):
    for batch in batches:
        assert_saved_bytes_agree(text, batch)


HALF_CASES = [case for case in OP_CASES if "after" in case[0] or "in place" in case[0]]


@pytest.mark.parametrize("dtype", ["float16", pytest.param("bfloat16", marks=pytest.mark.slow)])
@pytest.mark.parametrize(("name", "text", "batches"), HALF_CASES, ids=[case[0] for case in HALF_CASES])
def test_each_op_saves_what_the_analysis_says_in_half_precision(name, text, batches, dtype):
    assert_saved_bytes_agree(text, 2, dtype)


def map_examples():
    """The docs' example of every kind that takes a map, as a statement after a map (`a; b`: the last)."""
    from cnndsl.layers import LAYERS

    found = []
    for kind in LAYERS:
        for example in kind.examples or (kind.example,):
            text = f"input 8x6x4\n{example.replace('; ', chr(10))}\n"
            program = cnndsl.check_program(text)
            if program.ok and all(isinstance(layer.input, MapType) for layer in program.layers) and isinstance(program.output, MapType):
                found.append(example.replace("; ", "\n"))
    return found


@pytest.mark.parametrize("before", ["conv 4 k1", "conv 4 k1\nlayernorm"], ids=["default layout", "channels-last"])
@pytest.mark.parametrize("example", map_examples())
def test_every_kind_lays_out_its_output_as_pytorch_does(example, before):
    """A pixel-wise linear layer after the kind copies its input or reads a view of it, by the strides the kind
    left: the saved bytes say whether the walk's layout is PyTorch's (a default-layout and a channels-last input)."""
    assert_saved_bytes_agree(f"input 8x6x4\n{before}\n{example}\nlinear 3 pixelwise\n", 2)


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("before", ["", "layernorm"])
def test_a_pixelwise_linear_layer_copies_only_nchw_memory_with_several_samples(batch, before):
    assert_saved_bytes_agree(f"input 6x5x4\nconv 4 k1\n{before}\nlinear 5 pixelwise gelu\nlinear 4 pixelwise\n", batch)


def test_channels_last_strides_survive_a_one_channel_map():
    """A 1-channel LayerNorm2d output keeps channels-last strides; the convolution after it follows them, and
    the pixel-wise linear layer further on reads its input without a copy (found by hypothesis in phase 1)."""
    text = "input 6x6x2\nresidual { conv 1 k1; layernorm; conv 2 k1 }\nrelu\nconcat { branch { } branch { linear 1 pixelwise } }\n"
    assert_saved_bytes_agree(text, 2)


def test_a_sum_of_one_channel_maps_takes_the_default_layout():
    """With one channel a channels-last map and a default one are both contiguous: their sum takes the default
    layout (TensorIterator's fast set-up), the convolution after it too, and flatten is then a view (found by
    hypothesis)."""
    text = "input 6x6x1\nresidual { layernorm; stochdepth 0.2 } shortcut { conv 1 k1 }\nconv 2 k1 relu\nflatten\nlinear 2\n"
    for batch in (1, 2):
        assert_saved_bytes_agree(text, batch)


def test_what_the_table_says_for_the_main_ops():
    """The figures docs/memory.md states, from the analysis (batch 2, float32, 6x5x4 maps)."""
    elements = 2 * 4 * 6 * 5

    def increment(op: str, consumer: str = "conv 3 k1") -> int:  # bytes beyond the first 1x1 convolution's input
        program = typed_at(f"input 6x5x4\nconv 4 k1\n{op}\n{consumer}\n")
        return saved_bytes(program, 2).total - 4 * elements

    after = 4 * elements  # the convolution's output, A
    assert increment("pool 2") == after + 8 * (2 * 4 * 3 * 2) + 4 * (2 * 4 * 3 * 2)  # A, int64 indices, the output
    assert increment("bn") == after + 2 * 4 * 4 + 4 * elements  # A, save_mean and save_invstd, the output
    assert increment("dropout 0.5") == 4 * elements + 4 * elements  # a float mask (not bool), the output; not A
    assert increment("relu") == after  # in place: its output is A, which the next convolution saves too
    assert increment("relu6") == after + 4 * elements  # in place: A, and a clone of it
    assert increment("flatten", "linear 3") == after  # a view of A


# -- saved bytes, whole programs -------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_saved_bytes_of_every_example(path):
    """Every example at batch 2 (symbolic ones at 64x64), measured on the meta device."""
    assert_saved_bytes_agree(path.read_text(), 2, device="meta", filename=str(path))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_saved_bytes_of_every_example_on_cpu(path):
    assert_saved_bytes_agree(path.read_text(), 2, filename=str(path))


# BatchNorm, in-place ReLU and ReLU6, max pooling, dropout, a projection and an identity residual.
SMALL_NETWORK = """input 20x18x3
conv 8 k3 s2 p1 nobias; bn; relu6
pool 3 s2 p1
residual { conv 8 k3 p1 nobias; bn; relu; conv 8 k3 p1 nobias; bn }
relu
residual { conv 16 k3 s2 p1 nobias; bn } shortcut { conv 16 k1 s2 nobias; bn }
dropout 0.2
avgpool to 1
flatten
linear 10
"""


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_saved_bytes_by_batch_and_dtype(dtype, batch):
    assert assert_saved_bytes_agree(SMALL_NETWORK, batch, dtype) > 0


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ["quiz", "zoo/resnet18", "zoo/mobilenet_v2"])
def test_saved_bytes_of_examples_by_batch_and_dtype(name, dtype, batch):
    path = ROOT / "examples" / f"{name}.cnn"
    text = path.read_text().replace("input HxWx3", "input 40x40x3")
    assert assert_saved_bytes_agree(text, batch, dtype, filename=str(path)) > 0


def test_saved_bytes_are_linear_in_the_batch_without_batchnorm():
    program = typed_at((ROOT / "examples" / "quiz.cnn").read_text())
    assert saved_bytes(program, 5).total == 5 * saved_bytes(program, 1).total


@settings(max_examples=draws(8, 150), **SETTINGS)
@given(programs())
# Found by hypothesis: group norm saves a contiguous copy of a split's part (a strided view).
@example("input 6x6x2\nsplit {\n  branch {\n  }\n  branch {\n    groupnorm 1\n  }\n}\n")
def test_saved_bytes_of_random_programs_with_residuals(text):
    for batch in (1, 2):
        try:
            assert_saved_bytes_agree(text, batch)
        except ValueError as error:
            assert train_mode_refuses(error)


@settings(max_examples=draws(8, 60), **SETTINGS)
@given(property_programs())
def test_saved_bytes_of_the_property_tests_programs(text):
    """Blocks, repeats and the generator of tests/test_property.py."""
    if not cnndsl.check_program(text).ok:
        return
    try:
        assert_saved_bytes_agree(text, 2)
    except ValueError as error:
        assert train_mode_refuses(error)


# -- compute conventions -------------------------------------------------------------------


def leaf_modules(model: nn.Module):
    return [m for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Sequential)]


def assert_compute_agrees(text: str, filename: str = "program.cnn") -> None:
    torchinfo = pytest.importorskip("torchinfo")
    program = typed_at(text, filename)
    shape = program.input.torch_shape
    model = module_for(text, filename, device="meta")
    stats = torchinfo.summary(model, input_size=(3, *shape), device="meta", verbose=0, mode="eval")
    assert stats.total_mult_adds == 3 * sum(mult_adds(layer) for layer in program.layers)
    with FlopCounterMode(display=False) as counter:
        model.eval()(torch.empty((1, *shape), device="meta"))
    assert counter.get_total_flops() == sum(flops(layer) for layer in program.layers) == 2 * program.total_macs


COMPUTE_EXAMPLES = ("quiz", "lenet5", "resnet18", "mobilenet_v2")


@pytest.mark.parametrize(
    "path",
    [p if p.stem in COMPUTE_EXAMPLES else pytest.param(p, marks=pytest.mark.slow) for p in EXAMPLES],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_flops_and_mult_adds_of_every_example(path):
    assert_compute_agrees(path.read_text(), str(path))


@settings(max_examples=draws(10, 100), **SETTINGS)
@given(programs())
def test_flops_and_mult_adds_of_random_programs(text):
    assert_compute_agrees(text)


def test_torchinfo_counts_a_convolutions_bias_per_position_and_a_linear_layers_once():
    torchinfo = pytest.importorskip("torchinfo")
    conv = nn.Sequential(nn.Conv2d(3, 8, 3))
    assert torchinfo.summary(conv, input_size=(1, 3, 10, 10), verbose=0).total_mult_adds == 8 * 8 * (8 * 27 + 8)
    program = typed_at("input 10x10x3\nconv 8 k3\nflatten\nlinear 5\n")
    assert [mult_adds(layer) for layer in program.layers] == [8 * 8 * (8 * 27 + 8), 0, 8 * 64 * 5 + 5]


# -- the training step's peak ----------------------------------------------------------------

MAKE_OPTIMIZER = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p),
    "adamw": lambda p: torch.optim.AdamW(p),
}
assert set(MAKE_OPTIMIZER) == set(OPTIMIZERS)

# The measured ratios estimate/measured on CPU (docs/memory.md): the model
# leaves out kernels' scratch space, which weighs most in small networks.
PEAK_CASES = [("quiz", 0.84), ("lenet5", 0.88), ("zoo/resnet18", 0.97), ("zoo/mobilenet_v2", 0.97)]


def peak_ratio(name: str, optimizer: str, batch: int = 4) -> float:
    path = ROOT / "examples" / f"{name}.cnn"
    program = typed_at(path.read_text(), str(path))
    model = module_for(path.read_text(), str(path))
    x = torch.rand(batch, *program.input.torch_shape)
    y = torch.randint(0, program.output.features, (batch,))
    measured = measured_peak_bytes(model, x, y, MAKE_OPTIMIZER[optimizer])
    return training_step(program, batch, optimizer).peak_bytes / measured["peak"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_peak_against_the_cpu_profiler(optimizer):
    assert 0.84 <= peak_ratio("quiz", optimizer) <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize(("name", "lowest"), PEAK_CASES, ids=[c[0] for c in PEAK_CASES])
def test_peak_against_the_cpu_profiler_on_examples(name, lowest, optimizer):
    assert lowest <= peak_ratio(name, optimizer) <= 1.0


def test_peak_is_exact_where_adams_step_dominates():
    """A large linear layer: the peak is the optimizer's step, which the model counts exactly but for a few
    bytes (the loss's scalars)."""
    text = "input 16x16x3\nconv 8 k3 p1 relu\nflatten\nlinear 512\n"
    program = typed_at(text)
    x, y = torch.rand(2, 3, 16, 16), torch.randint(0, 512, (2,))
    measured = measured_peak_bytes(module_for(text), x, y, MAKE_OPTIMIZER["adam"])
    estimate = training_step(program, 2, "adam")
    assert estimate.phase == "optimizer step"
    assert 0 <= measured["peak"] - estimate.peak_bytes <= 4096


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_peak_against_cuda_max_memory_allocated():  # pragma: no cover - needs a GPU
    path = ROOT / "examples" / "zoo" / "resnet18.cnn"
    text = path.read_text().replace("input HxWx3", "input 64x64x3")
    model = module_for(text).cuda()
    x, y = torch.rand(4, 3, 64, 64, device="cuda"), torch.randint(0, 1000, (4,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):
        torch.cuda.reset_peak_memory_stats()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    measured = torch.cuda.max_memory_allocated()
    estimate = training_step(typed_at(text), 4, "sgd")
    assert 0.9 <= estimate.peak_bytes / measured <= 1.1


def test_peak_parts_add_up():
    program = typed_at((ROOT / "examples" / "quiz.cnn").read_text())
    estimate = training_step(program, 2, "adamw")
    assert estimate.parameter_bytes == 4 * 56_510 == estimate.gradient_bytes
    assert estimate.optimizer_bytes == 2 * estimate.parameter_bytes + 4 * 6  # exp_avg, exp_avg_sq, 6 step counters
    assert estimate.input_bytes == 4 * 2 * 3 * 130 * 130 and estimate.target_bytes == 8 * 2
    assert estimate.buffer_bytes == 0
    assert estimate.peak_bytes == estimate.always_bytes + max(estimate.backward_peak, estimate.optimizer_peak)


def test_batchnorm_buffers_count_in_the_peak():
    program = typed_at("input 8x8x3\nconv 4 k3\nbn\nflatten\nlinear 2\n")
    model = module_for("input 8x8x3\nconv 4 k3\nbn\nflatten\nlinear 2\n")
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert training_step(program, 2).buffer_bytes == buffers == 2 * 4 * 4 + 8
