"""Static memory figures (cnndsl/memory.py) equal torchinfo's, and the guard uses them."""

import json
import re
import sys
from pathlib import Path

import pytest

import cnndsl
from cnndsl.cli.main import main
from cnndsl.reports.memory import DTYPES, estimate, megabytes
from cnndsl.compiler import instantiate

torch = pytest.importorskip("torch")
torchinfo = pytest.importorskip("torchinfo")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))
QUIZ = ROOT / "examples" / "quiz.cnn"

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def storage_overhead(batch, shape, dtype) -> int:
    """What torchinfo's input size adds to the data: `sys.getsizeof` of the storage object."""
    tensor = torch.empty((batch, *shape), dtype=dtype)
    return sys.getsizeof(tensor.untyped_storage()) - tensor.nelement() * tensor.element_size()


def torchinfo_figures(path: Path, batch: int, dtype: str, device: str = "meta"):
    """torchinfo on the generated module; a symbolic example at an odd-sized instance (65x50 or more)."""
    program = cnndsl.compile_file(path)
    module_class = program.module_class()
    typed = program.typed
    if typed.symbolic:
        height, width = typed.smallest_size()
        sizes = [max(height, 65), max(width, 50)]
        for index, size in enumerate((typed.input.height, typed.input.width)):
            if not isinstance(size, int):  # the next admissible size (`where H % 16 == 0`)
                symbol = typed.symbols[size.symbol]
                sizes[index] += (symbol.residue - sizes[index]) % symbol.modulus
        typed = instantiate(typed, *sizes)
    with torch.device(device):
        model = module_class().to(TORCH_DTYPES[dtype])
    data = torch.rand((batch, *typed.input.torch_shape), device=device).to(TORCH_DTYPES[dtype])
    stats = torchinfo.summary(model, input_data=data, device=device, verbose=0)
    return typed, stats


def printed_mb(stats) -> dict[str, str]:
    """torchinfo's own printed lines: label -> '0.60'."""
    return dict(re.findall(r"^(Input size|Forward/backward pass size|Params size|Estimated Total Size) \(MB\): ([\d.]+)$", str(stats), re.M))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("batch", [1, 3])
def test_float32_figures_equal_torchinfos_on_every_example(path, batch):
    typed, stats = torchinfo_figures(path, batch, "float32")
    memory = estimate(typed, batch, "float32")
    assert memory.forward_backward_bytes == stats.total_output_bytes
    assert memory.params_bytes == stats.total_param_bytes
    assert typed.total_params == stats.total_params
    assert memory.input_bytes == batch * 4 * typed.input.elements
    # torchinfo's input size is the data plus the storage object's own bytes.
    assert stats.total_input == memory.input_bytes + storage_overhead(batch, typed.input.torch_shape, torch.float32)
    # What a user compares: the four printed lines, to torchinfo's two decimals.
    ours = {label: f"{value / 1e6:0.2f}" for _, label, value in memory.figures()}
    assert ours == printed_mb(stats)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["quiz", "resnet18"])
def test_half_precision_figures_equal_torchinfos(name, dtype):
    path = ROOT / "examples" / f"{name}.cnn"
    typed, stats = torchinfo_figures(path, 2, dtype)
    memory = estimate(typed, 2, dtype)
    assert memory.bytes_per_element == 2
    assert memory.forward_backward_bytes == stats.total_output_bytes
    assert memory.params_bytes == stats.total_param_bytes
    assert stats.total_input == memory.input_bytes + storage_overhead(2, typed.input.torch_shape, TORCH_DTYPES[dtype])
    assert memory.total_bytes * 2 == estimate(typed, 2, "float32").total_bytes


def test_a_real_cpu_run_gives_the_same_figures_as_the_meta_device():
    typed, stats = torchinfo_figures(QUIZ, 2, "float32", device="cpu")
    memory = estimate(typed, 2)
    assert (memory.forward_backward_bytes, memory.params_bytes) == (stats.total_output_bytes, stats.total_param_bytes)
    # The lesson's quiz by hand: conv 10x128x128, conv 20x32x32 and linear 10 have
    # parameters; pooling and flatten do not. Twice each, for the gradients.
    assert memory.forward_backward_bytes == 2 * 2 * 4 * (10 * 128 * 128 + 20 * 32 * 32 + 10)


def test_only_layers_with_parameters_count_for_the_forward_backward_size():
    program = cnndsl.check_program("input 8x8x2\nconv 4 k3 p1 relu\npool 2\nbn\nflatten\ndropout 0.5\nlinear 3 nobias\nsoftmax\n")
    memory = estimate(program)
    # conv (4x8x8), bn (4x4x4), linear (3): relu, pool, flatten, dropout, softmax do not count.
    assert memory.forward_backward_bytes == 2 * 4 * (4 * 8 * 8 + 4 * 4 * 4 + 3)
    assert memory.params_bytes == 4 * program.total_params
    assert memory.largest_output_bytes == 4 * 4 * 8 * 8


def test_bad_batch_and_dtype_are_value_errors():
    program = cnndsl.check_program(QUIZ.read_text())
    with pytest.raises(ValueError):
        estimate(program, 0)
    with pytest.raises(ValueError):
        estimate(program, 1, "float64")
    assert set(DTYPES) == {"float32", "float16", "bfloat16"}
    assert megabytes(662_485_984) == 662.49


# -- the command line ---------------------------------------------------------


def test_summary_prints_the_figures_under_the_table(capsys):
    assert main(["summary", str(ROOT / "examples" / "vgg16.cnn")]) == 0
    out = capsys.readouterr().out
    table, _, memory = out.partition("memory (batch 1, float32")
    assert "Linear(4096, 1000)" in table and "total" in table
    # torchinfo's published figures for torchvision's VGG-16 at 224x224.
    for label, mb in [
        ("Input size", "0.60"),
        ("Forward/backward pass size", "108.45"),
        ("Params size", "553.43"),
        ("Estimated Total Size", "662.49"),
    ]:
        assert re.search(rf"^  {re.escape(label)} +[\d,]+ B +{re.escape(mb)} MB$", memory, re.M), label


def test_summary_batch_and_dtype(capsys):
    assert main(["summary", str(QUIZ), "--batch", "4", "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "memory (batch 4, bfloat16" in out
    assert f"{4 * 2 * 3 * 130 * 130:,} B" in out  # the input


def test_summary_json_adds_a_memory_key_and_keeps_the_others(capsys):
    assert main(["summary", "--format", "json", str(QUIZ), "--batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"network", "input", "output", "layers", "total_params", "total_macs", "memory"}
    program = cnndsl.check_program(QUIZ.read_bytes(), str(QUIZ))
    memory = estimate(program, 2)
    assert data["memory"] == {
        "batch": 2,
        "dtype": "float32",
        "bytes_per_element": 4,
        "input_bytes": memory.input_bytes,
        "forward_backward_bytes": memory.forward_backward_bytes,
        "params_bytes": memory.params_bytes,
        "total_bytes": memory.total_bytes,
        "input_mb": 0.41,
        "forward_backward_mb": 2.95,
        "params_mb": 0.23,
        "total_mb": 3.58,
    }
    # The Python API gives the same object (batch 1 by default).
    assert cnndsl.compile_file(QUIZ).summary.to_dict()["memory"] == estimate(program).to_dict()


@pytest.mark.parametrize("argv", [["--batch", "0"], ["--batch", "x"], ["--dtype", "float64"]])
def test_summary_rejects_bad_flags_with_exit_2(argv, capsys):
    try:
        code = main(["summary", str(QUIZ), *argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "Traceback" not in captured.err


# -- the memory guard of build and verify --------------------------------------


def test_the_guard_uses_the_estimated_total_size(tmp_path, capsys):
    program = cnndsl.check_program(QUIZ.read_bytes(), str(QUIZ))
    needed = estimate(program, 2).total_bytes
    assert estimate(program, 2).guard_bytes == needed
    assert main(["verify", str(QUIZ), "--device", "cpu", "--max-memory", str(needed - 1)]) == 1
    err = capsys.readouterr().err
    assert "--max-memory" in err and "estimated total size of `cnnc summary --batch 2`" in err
    assert main(["verify", str(QUIZ), "--device", "cpu", "--max-memory", str(needed)]) == 0


def test_the_guard_counts_big_outputs_of_layers_without_parameters(tmp_path, capsys):
    # Adaptive pooling can enlarge: 4.8 GB per sample that torchinfo's total ignores.
    source = tmp_path / "enlarge.cnn"
    source.write_text("input 1x1x3\navgpool to 20000x20000\n")
    program = cnndsl.check_program(source.read_bytes(), str(source))
    memory = estimate(program, 2)
    assert memory.total_bytes == memory.input_bytes == 24
    assert memory.guard_bytes == 24 + 2 * 2 * 4 * 3 * 20000 * 20000
    output = tmp_path / "enlarge.py"
    assert main(["build", str(source), "-o", str(output), "--device", "cpu"]) == 1
    assert "largest layer output" in capsys.readouterr().err
    assert not output.exists()


ZOO_LAYERS = """\
network ZooLayers
input 20x18x6
conv 12 k3 p1 nobias; bn eps=0.001 momentum=0.01; hardswish
shuffle 3
residual { conv 12 k7 p3 g12; layernorm eps=1e-6; linear 48 pixelwise gelu; linear 12 pixelwise; layerscale 1e-6; stochdepth 0.1 }
hardsigmoid
avgpool to 1
flatten
layernorm
linear 5
"""


@pytest.mark.parametrize("batch", [1, 3])
def test_the_zoo_layers_figures_equal_torchinfos(tmp_path, batch):
    """The layers the torchvision zoo needs, generated classes included (LayerScale's parameter is its own)."""
    path = tmp_path / "zoo_layers.cnn"
    path.write_text(ZOO_LAYERS)
    typed, stats = torchinfo_figures(path, batch, "float32")
    assert typed.ok
    memory = estimate(typed, batch, "float32")
    assert memory.forward_backward_bytes == stats.total_output_bytes
    assert memory.params_bytes == stats.total_param_bytes
    assert typed.total_params == stats.total_params
    ours = {label: f"{value / 1e6:0.2f}" for _, label, value in memory.figures()}
    assert ours == printed_mb(stats)
