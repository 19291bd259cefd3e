"""`cnnc import`: models in, concise .cnn programs and converted weights out, verified; bad input refused clearly.

torchvision is the reference for real models (tests/zoo_reference.py; the
product never imports it); tests/import_models/custom.py holds models in
styles no example resembles and models the language cannot say.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import cnndsl
from cnndsl.formatter import format_source
from cnndsl.importer import InputSpec, ModelImportError, RoundTripError, SpecError, import_model, load_model
from zoo_reference import FAMILIES, ZOO_DIR, build_reference, make_statistics_nontrivial, min_size, torchvision_models

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
IMPORT_DOC = ROOT / "docs" / "import.md"
CUSTOM = TESTS / "import_models" / "custom.py"
TORCHVISION = TESTS / "import_models" / "torchvision_models.py"
sys.path.insert(0, str(CUSTOM.parent))
import custom  # noqa: E402


def cnnc(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
    )


def statement_lines(text: str) -> int:
    """Lines that hold code: not blank, not only a comment (the measure of conciseness)."""
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def outputs_agree(source: torch.nn.Module, text: str, state_dict: dict, size=(64, 64), channels=3) -> float:
    """Compile the text, load the weights, and return max |source - ours| on a random batch: an oracle apart from verify.py."""
    ours = cnndsl.compile_source(text).module_class()()
    ours.load_state_dict(state_dict)
    source.eval()
    ours.eval()
    images = torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return (source(images) - ours(images)).abs().max().item()


def line_of(text: str) -> int:
    """The line of custom.py that holds `text` (so that the tests do not hard-code line numbers)."""
    for number, line in enumerate(CUSTOM.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(text)


# -- a model in a style no example resembles ------------------------------------------------


def test_nested_custom_classes_round_trip():
    """Classes two deep, Stage made with different arguments, F.relu and torch.flatten in forward."""
    model = custom.Nested()
    make_statistics_nontrivial(model, 1)
    imported = import_model(model, InputSpec(64, 64, None, None), batch=1)
    text = imported.text
    assert imported.verification.ok, text
    assert imported.verification.difference <= 1e-5
    assert imported.verification.params == sum(p.numel() for p in model.parameters())
    # The projecting Stages (made with stride 2) are a block with the channels as its parameter.
    assert "block stage(c) {" in text and "stage 32" in text and "stage 64" in text
    assert "} shortcut {" in text
    assert "input HxWx3" in text  # it takes any size, and says so
    assert "avgpool to 1" in text and "flatten" in text  # F.adaptive_avg_pool2d, torch.flatten
    assert format_source(text) == text
    assert not [d for d in cnndsl.check_source(text) if d.is_error]
    assert outputs_agree(model, text, imported.state_dict) <= 1e-5
    assert outputs_agree(model, text, imported.state_dict, size=(37, 50)) <= 1e-5  # any size


def test_a_fixed_size_model_with_view_and_functional_calls():
    model = custom.LeNet()
    imported = import_model(model, "28x28x1", batch=2)
    text = imported.text
    assert imported.verification.ok, text
    body = text[text.index("network LeNet") :]
    assert body.splitlines()[1] == "input 28x28x1"
    code = [line.split("#")[0].strip() for line in body.splitlines()[2:]]
    assert code == [
        "conv 10 k5",
        "pool 2",
        "relu",
        "conv 20 k5",
        "pool 2",
        "relu",
        "flatten",  # x.view(-1, 320)
        "linear 50 relu; dropout 0.5",  # F.relu, F.dropout(training=self.training)
        "linear 10 logsoftmax",
    ]
    assert outputs_agree(model, text, imported.state_dict, size=(28, 28), channels=1) <= 1e-5


def test_a_model_that_does_not_run_at_the_default_size_says_which_to_give():
    with pytest.raises(ModelImportError) as raised:
        import_model(custom.LeNet())
    (problem,) = raised.value.problems
    assert "does not run on a 224x224x1 input" in problem.message  # the channels come from conv1
    assert "--input" in problem.help
    assert problem.location.line == line_of("x = x.view(-1, 320)")


def test_any_size_is_refused_for_a_model_that_takes_one_size():
    fixed = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 30 * 30, 2))
    with pytest.raises(ModelImportError) as raised:
        import_model(fixed, InputSpec(32, 32, 3, True))
    problem = raised.value.problems[0]
    assert "does not take any input size" in problem.message and "--input 32x32x3" in problem.help
    imported = import_model(fixed, InputSpec(32, 32, None, None))  # left to cnnc: the fixed size, and why
    assert imported.verification.ok and "input 32x32x3" in imported.text
    assert "as written, the model does not take any size" in imported.text


def test_a_model_that_disagrees_at_the_smallest_size_gets_a_fixed_input(monkeypatch):
    """The round trip checks the smallest size a symbolic program claims; a model that fails there is imported at one size."""
    import cnndsl.importer as importer

    original = importer.verify_round_trip
    calls = []

    def failing_at_the_smallest_size(module, conversion, *args, **kwargs):
        result = original(module, conversion, *args, **kwargs)
        calls.append(conversion.symbolic)
        if conversion.symbolic:
            result.problems.append("the program says it takes any size from 1x1, but the source fails there: too small")
        return result

    monkeypatch.setattr(importer, "verify_round_trip", failing_at_the_smallest_size)
    imported = import_model(custom.Nested(), InputSpec(32, 32, None, None))
    assert calls == [True, False] and imported.verification.ok
    assert "input 32x32x3" in imported.text and "the source fails there: too small" in imported.text


def test_the_python_api_returns_text_and_state_dict():
    model = custom.Nested()
    text, state = cnndsl.import_module(model, (32, 32, 3))
    assert "input 32x32x3" in text
    assert outputs_agree(model, text, state, size=(32, 32)) <= 1e-5


# -- what the language cannot say --------------------------------------------------------------

UNSUPPORTED = {
    # name: (words the message must hold, the module path, its class, a piece of the line it comes from)
    "recurrent": ("`nn.LSTM` has no counterpart", "`rnn`", "LSTM", "self.rnn(x)"),
    "sorting": ("`torch.sort` has no counterpart", "the model itself", "Sorting", "torch.sort("),
    "branching": ("depends on tensor values", "the model itself", "Branching", "if y.mean() > 0"),
    "custom_function": ("custom autograd Function `Square`", "the model itself", "CustomFunction", "Square.apply"),
    "two_inputs": ("second input, `mask`", "the model itself", "TwoInputs", "def forward(self, x, mask)"),
    "scaled": ("multiplying by the constant 0.5", "the model itself", "Scaled", "return self.conv(x) * 0.5"),
    "shared": ("called a second time with the same weights", "`conv`", "Conv2d", "self.conv(self.conv(x))"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_operations_are_diagnosed_where_they_are(name):
    words, path, class_name, source_line = UNSUPPORTED[name]
    with pytest.raises(ModelImportError) as raised:
        import_model(getattr(custom, name)())
    problem = raised.value.problems[0]
    rendered = problem.render()
    assert words in problem.message, rendered
    assert problem.location.describe().startswith(f"{path} ({class_name})"), rendered
    assert problem.location.file.endswith("custom.py") and problem.location.line == line_of(source_line), rendered


def test_a_gate_is_a_problem_until_the_language_has_gate():
    """x * sigmoid(f(x)): issue 13's `gate`; until it lands, a problem that says so."""
    from cnndsl.importer import capabilities

    class Gated(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.fc = torch.nn.Conv2d(8, 8, 1)

        def forward(self, x):
            x = self.conv(x)
            return x * torch.sigmoid(self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1)))

    if capabilities.supports(capabilities.GATE):
        imported = import_model(Gated(), "32x32x3")
        assert imported.verification.ok and "gate {" in imported.text
    else:
        with pytest.raises(ModelImportError) as raised:
            import_model(Gated(), "32x32x3")
        assert "issue 13 adds `gate" in raised.value.problems[0].help


ISSUE_13 = [
    # (model, the capability it needs, what the program says, what the diagnostic says before it lands)
    ("Hard", "HARDSWISH", "conv 8 k3 p1 nobias; bn eps=0.001 momentum=0.01; hardswish", "issue 13 adds"),
    ("Shuffled", "SHUFFLE", "shuffle 2", "issue 13 adds `shuffle G`"),
    ("ConvNeXtLike", "PIXELWISE", "linear 32 pixelwise gelu", "issue 13 adds"),
    ("VectorNorm", "LAYERNORM", "layernorm", "issue 13 adds `layernorm`"),
]


@pytest.mark.parametrize("name, capability, statement, diagnostic", ISSUE_13)
def test_issue_13_layers_map_when_the_language_has_them(name, capability, statement, diagnostic):
    """Each mapping asks the compiler whether it accepts the construct: until it lands, a diagnostic that says so."""
    from cnndsl.importer import capabilities

    model = getattr(custom, name)()
    if capabilities.supports(getattr(capabilities, capability)):
        imported = import_model(model, "16x16x3")
        assert imported.verification.ok, imported.text
        assert statement in imported.text
    else:
        with pytest.raises(ModelImportError) as raised:
            import_model(model, "16x16x3")
        assert diagnostic in raised.value.problems[0].help, raised.value.problems[0].render()


def test_a_channels_last_map_takes_only_channel_wise_layers():
    class Pooled(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.max_pool2d(x.permute(0, 2, 3, 1), 2).permute(0, 3, 1, 2)

    with pytest.raises(ModelImportError) as raised:
        import_model(Pooled(), "8x8x3")
    assert "channels-last layout" in raised.value.problems[0].message


# -- issue 18's layers: encoder-decoders and generators -----------------------------------------


def test_an_encoder_decoder_imports_with_issue_18s_layers():
    """Every padding module, GroupNorm, InstanceNorm, PReLU, Dropout2d, ConvTranspose2d and the three upsampling modules."""
    model = custom.EncoderDecoder()
    imported = import_model(model, InputSpec(32, 32, None, None))
    text = imported.text
    assert imported.verification.ok, text
    # Bilinear upsampling is the same nn.Upsample call on both sides: no rounding difference to allow for.
    assert imported.verification.difference == 0, text
    code = [line.split("#")[0].strip() for line in text[text.index("network EncoderDecoder") :].splitlines()[1:]]
    assert [line for line in code if line] == [
        "input HxWx3",
        "pad 1 reflect",
        "conv 16 k3",
        "groupnorm 4",
        "prelu perchannel",  # nn.PReLU(16, init=0.1): the slopes come with the weights
        "pool 2",
        "conv 32 k3 p1",
        "instancenorm affine",
        "prelu",
        "dropout2d 0.2",
        "upconv 16 k4 s2 p1 relu",
        "pad 1 replicate",
        "pad 1 circular",
        "pad 1x2",  # nn.ZeroPad2d((2, 2, 1, 1)): left, right, top, bottom
        "pad 1",  # nn.ConstantPad2d(1, 0.0)
        "conv 16 k3",
        "upsample 2 bilinear",
        "upsample 2",
        "upsample 1x2 bilinear aligned",  # nn.UpsamplingBilinear2d: align_corners=True
        "upconv 3 k3 s2 p1 o1 nobias",
        "instancenorm",
    ]
    assert format_source(text) == text
    assert outputs_agree(model, text, imported.state_dict, size=(32, 32)) == 0
    assert outputs_agree(model, text, imported.state_dict, size=(24, 40)) == 0  # any size


def test_a_generator_unflattens_a_vector_into_a_map():
    model = custom.Generator()
    imported = import_model(model, "1x1x16")
    text = imported.text
    assert imported.verification.ok and imported.verification.difference == 0, text
    for statement in ("linear 512", "unflatten 4x4x32", "upconv 16 k4 s2 p1 nobias", "groupnorm 2", "prelu",
                      "upconv 8 k3 s2 p2 o1 d2 g2", "upsample to 24x20", "upconv 3 k3 p1 tanh"):
        assert f"\n{statement} " in text, statement
    assert outputs_agree(model, text, imported.state_dict, size=(1, 1), channels=16) == 0


def test_a_u_net_skip_becomes_a_concat_with_an_identity_branch():
    imported = import_model(custom.TinyUNet(), "16x16x3")
    assert imported.verification.ok and imported.verification.difference == 0, imported.text
    text = imported.text
    assert "concat {" in text and "  branch { pool 2; conv 8 k3 p1; groupnorm 2; upconv 8 k2 s2 }\n  branch { }\n}" in text, text


def test_the_functional_forms_import_as_the_modules_do():
    """F.pad (reflect, replicate, circular, zeros; four amounts or two), F.interpolate (scale, size, aligned), F.dropout2d."""
    model = custom.FunctionalEncoderDecoder()
    imported = import_model(model, InputSpec(24, 32, None, None))
    text = imported.text
    assert imported.verification.ok and imported.verification.difference == 0, text
    code = [line.split("#")[0].strip() for line in text[text.index("network FunctionalEncoderDecoder") :].splitlines()[1:]]
    assert [line for line in code if line] == [
        "input HxWx3",
        "pad 2x1 reflect",
        "conv 8 k3 relu",
        "pool 2",
        "pad 0x1 replicate",
        "pad 1 circular",
        "conv 8 k3",
        "dropout2d 0.25",
        "upsample 2 bilinear aligned",
        "pad 0x2",
        "upsample 1x2",
        "conv 4 k3",
        "upsample to 20x36 bilinear",
    ]
    assert outputs_agree(model, text, imported.state_dict, size=(24, 32)) == 0
    assert outputs_agree(model, text, imported.state_dict, size=(30, 22)) == 0  # any size


def test_a_u_net_whose_skip_comes_first_imports_with_keep_and_cat():
    """torch.cat([skip, up(...)], 1): the long skips of language.md 6.5, nested as the levels are, every line verified."""
    model = custom.TwoLevelUNet()
    imported = import_model(model, InputSpec(32, 32, None, None))
    assert imported.verification.ok and imported.verification.difference == 0, imported.text
    assert len(imported.verification.rows) == 12 and all(row.ok for row in imported.verification.rows)
    # The levels join only sizes they divide: the checker's constraint (E0083's help) goes on the input line.
    assert "\ninput HxWx3 where H % 4 == 0, W % 4 == 0\n" in imported.text
    assert imported.verification.other_sizes == {(4, 4): 0.0}
    code = [line.split("#")[0].strip() for line in imported.text[imported.text.index("network TwoLevelUNet") :].splitlines()]
    assert [line for line in code if line.startswith(("keep", "cat", "pool", "upconv"))] == [
        "keep skip1", "pool 2", "keep skip2", "pool 2", "upconv 16 k2 s2", "cat skip2", "upconv 8 k2 s2", "cat skip1",
    ]
    assert outputs_agree(model, imported.text, imported.state_dict, size=(32, 32)) == 0
    assert outputs_agree(model, imported.text, imported.state_dict, size=(24, 44)) == 0  # any multiple of 4


ISSUE_18_UNSUPPORTED = {
    # name: (the model, on an 8x8x3 input unless it says, words the one-line message must hold)
    "upconv_output_size": (custom.OutputSize, "called with an output_size has no counterpart"),
    "upsample_bicubic": (lambda: nn.Upsample(scale_factor=2, mode="bicubic"), "mode='bicubic' has no counterpart"),
    "upsample_fraction": (lambda: nn.Upsample(scale_factor=1.5), "scale_factor=1.5 has no counterpart"),
    "groupnorm_not_affine": (lambda: nn.GroupNorm(3, 3, affine=False), "affine=False has no counterpart"),
    "groupnorm_eps": (lambda: nn.GroupNorm(3, 3, eps=1e-3), "eps=0.001 has no counterpart"),
    "instancenorm_running_statistics": (lambda: nn.InstanceNorm2d(3, track_running_stats=True), "track_running_stats=True"),
    "instancenorm_eps": (lambda: nn.InstanceNorm2d(3, eps=1e-3), "eps=0.001 has no counterpart"),
    "prelu_channels_last": (custom.ChannelsLastPReLU, "with 8 slopes on a tensor of shape (1, 8, 8, 3)"),
    "pad_uneven": (lambda: nn.ZeroPad2d((1, 2, 0, 0)), "pads both sides of an axis equally"),
    "pad_constant": (lambda: nn.ConstantPad2d(1, 0.5), "value=0.5 has no counterpart"),
    "unflatten_3d": (lambda: nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 64))), "into (3, 64) has no counterpart"),
    # the functional forms
    "pad_from_sizes": (custom.SizedPadding, "F.pad by amounts read from a tensor's size has no counterpart"),
    "interpolate_to_a_tensor_s_size": (custom.SizedInterpolation, "F.interpolate to a size read from a tensor has no counterpart"),
}


@pytest.mark.parametrize("name", sorted(ISSUE_18_UNSUPPORTED))
def test_issue_18_settings_without_a_counterpart_are_one_line_errors(name):
    make, words = ISSUE_18_UNSUPPORTED[name]
    with pytest.raises(ModelImportError) as raised:
        import_model(nn.Sequential(make()), "8x8x3")  # a leaf module inside: the tracer keeps it whole
    (problem,) = raised.value.problems
    assert words in problem.message and "\n" not in problem.message, problem.render()


def test_every_problem_is_listed_once():
    """Independent problems are all reported; what is computed from a reported one is not reported again."""

    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(8, 8)
            self.conv = torch.nn.Conv2d(3, 3, 3)

        def forward(self, x):
            y = torch.sort(self.conv(x), dim=1).values
            return torch.cumsum(y, dim=1) + torch.nn.functional.relu(y)

    with pytest.raises(ModelImportError) as raised:
        import_model(Two(), "16x16x3")
    assert [p.operation for p in raised.value.problems] == ["torch.sort"]


# -- the command line ----------------------------------------------------------------------------


def doc_block(marker: str) -> str:
    """The fenced block after `<!-- import: MARKER -->` in docs/import.md."""
    text = IMPORT_DOC.read_text()
    after = text.split(f"<!-- import: {marker} -->\n", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def test_cnnc_import_writes_the_program_and_the_weights(tmp_path):
    """The worked example of docs/import.md, as the command writes and prints it today."""
    out, weights = tmp_path / "nested.cnn", tmp_path / "nested.pt"
    result = cnnc("import", "tests/import_models/custom.py:nested", "-o", out, "--weights", weights, "--device", "cpu", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == doc_block("nested"), "docs/import.md's worked example is not what cnnc import writes"
    assert result.stdout == doc_block("nested table"), "docs/import.md's table is not what cnnc import prints"
    assert f"wrote {weights}" in result.stderr and f"wrote {out}" in result.stderr
    assert cnnc("fmt", "--check", out).returncode == 0
    assert cnnc("check", out).returncode == 0
    # The weights belong to the model the spec built (random ones): they load into the compiled program.
    ours = cnndsl.load(out)()
    ours.load_state_dict(torch.load(weights))
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in custom.nested().parameters())
    assert sorted(os.listdir(tmp_path)) == ["nested.cnn", "nested.pt"]  # no temporary file left behind


def test_cnnc_import_without_output_prints_the_program(tmp_path):
    result = cnnc("import", f"{CUSTOM}:lenet", "--input", "28x28x1", "--no-verify", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# LeNet, imported by `cnnc import")
    assert "network LeNet" in result.stdout and "round trip" not in result.stdout + result.stderr
    assert os.listdir(tmp_path) == []


def test_a_failed_import_writes_nothing_and_keeps_old_files(tmp_path):
    out, weights = tmp_path / "model.cnn", tmp_path / "model.pt"
    out.write_text("old program\n")
    weights.write_bytes(b"old weights")
    result = cnnc("import", f"{CUSTOM}:sorting", "-o", out, "--weights", weights)
    assert result.returncode == 1
    assert "error: `torch.sort` has no counterpart" in result.stderr
    assert "nothing was written" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "old program\n" and weights.read_bytes() == b"old weights"
    assert sorted(os.listdir(tmp_path)) == ["model.cnn", "model.pt"]


BAD_SPECS = [
    # (spec, a usage error (exit 2) or not (exit 1), words of the message)
    ("resnet50", True, "should be 'package.module:name'"),
    ("no_such_module_here:make", True, "no module named 'no_such_module_here'"),
    ("missing/file.py:make", True, "no such file"),
    (f"{CUSTOM}:nestd", True, "has no attribute 'nestd' (SPEC"),
    (f"{CUSTOM}:not_callable", False, "'not_callable' is a int, not something that can be called"),
    (f"{CUSTOM}:returns_a_number", False, "returns_a_number() returned a builtins.int, not an nn.Module"),
    (f"{CUSTOM}:raises", False, "calling raises() raised RuntimeError: the weights are missing"),
    (f"{CUSTOM}:needs_arguments", False, "needs arguments (width)"),
    (f"{CUSTOM}:model", False, "is already a model (Nested)"),
]


@pytest.mark.parametrize("spec, usage, words", BAD_SPECS)
def test_bad_specs_are_clear_errors(spec, usage, words):
    with pytest.raises(SpecError) as raised:
        load_model(spec)
    assert raised.value.usage == usage and words in str(raised.value), str(raised.value)


def test_a_misspelt_name_gets_suggestions():
    with pytest.raises(SpecError) as raised:
        load_model(f"{CUSTOM}:nestd")
    assert "did you mean 'nested'" in str(raised.value)


@pytest.mark.parametrize("spec, code", [("missing/file.py:make", 2), (f"{CUSTOM}:raises", 1)])
def test_bad_specs_exit_as_the_interface_says(spec, code, tmp_path):
    """A spec that names nothing is a usage error (2), like an unreadable file; one whose code fails is an error (1)."""
    out = tmp_path / "out.cnn"
    result = cnnc("import", spec, "-o", out)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("cnnc: error: ") and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()


def test_a_spec_whose_import_raises_names_the_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\nraise ValueError('no GPU here')\n")
    result = cnnc("import", f"{broken}:make")
    assert result.returncode == 1
    assert f"running {broken} raised ValueError: no GPU here" in result.stderr and "broken.py:3" in result.stderr


def test_load_model_reads_both_spellings():
    model, spec = load_model(f"{CUSTOM}:nested")
    assert type(model).__name__ == "Nested" and spec.short == "nested"
    model, _ = load_model("torch.nn:Identity")
    assert isinstance(model, torch.nn.Identity)
    with pytest.raises(SpecError) as raised:
        load_model("torch.nn:Conv2d")
    assert not raised.value.usage and "needs arguments (in_channels, out_channels, kernel_size)" in str(raised.value)


@pytest.mark.parametrize("value", ["224x224", "axbx3", "0x5x3", "Hx224x3", "224x224x0", "99999x3x3"])
def test_bad_input_sizes_are_refused(value):
    with pytest.raises(ValueError, match="--input"):
        InputSpec.parse(value)


def test_input_sizes_read():
    assert InputSpec.parse("32x48x1") == InputSpec(32, 48, 1, False)
    assert InputSpec.parse("HxWx3") == InputSpec(224, 224, 3, True)
    assert InputSpec.parse(None) == InputSpec(224, 224, None, None)


def test_a_bad_input_size_is_a_usage_error():
    result = cnnc("import", f"{CUSTOM}:nested", "--input", "224x224")
    assert result.returncode == 2 and "--input takes HEIGHTxWIDTHxCHANNELS" in result.stderr


def test_an_absent_device_is_a_usage_error():
    result = cnnc("import", f"{CUSTOM}:nested", "--input", "32x32x3", "--device", "cuda:7")
    assert result.returncode == 2 and "not available" in result.stderr


# -- torchvision's families -------------------------------------------------------------------


def documented_lines() -> dict[str, int]:
    """family -> statement lines, from the table in docs/import.md."""
    table = IMPORT_DOC.read_text().split("<!-- import: families -->\n", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {cells[0].strip(): int(cells[1]) for cells in rows}


def hand_written_lines(name: str) -> int:
    return statement_lines((ZOO_DIR / f"{name}.cnn").read_text())


# In the default run: one family of each kind (residual blocks with projections, inverted residuals with
# depthwise convolutions, VGG's flat stages, MNASNet's functional mean, SqueezeNet's concat, ShuffleNet's
# split and shuffle, RegNet's gate and reordered projection). The rest are `slow` (each some seconds on a
# 2-core machine: docs/import.md has the times).
REPRESENTATIVE = ("resnet18", "mobilenet_v2", "vgg11", "mnasnet1_0", "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_y_400mf")


@pytest.mark.parametrize(
    "name", [name if name in REPRESENTATIVE else pytest.param(name, marks=pytest.mark.slow) for name in FAMILIES]
)
def test_torchvision_families_import_concisely_and_verify(name, record_property):
    """Equal parameters and outputs with the converted weights, and no more lines than the hand-written example.

    Traced and verified at a small size (the structure does not depend on it;
    the default 224x224 is the command line test below), and at the smallest
    size the program claims.
    """
    model = build_reference(name)
    size = max(32, min_size(name)[0])
    make_statistics_nontrivial(model, 0, size=(size, size), batch=2)
    started = time.perf_counter()
    imported = import_model(model, InputSpec(size, size, None, None), origin=f"torchvision.models:{name}", batch=1)
    record_property("seconds", round(time.perf_counter() - started, 2))
    verification = imported.verification
    assert verification.ok, imported.text
    assert verification.params == sum(p.numel() for p in model.parameters())
    if imported.conversion.program.smallest_size() != (size, size):  # also compared at the smallest size it claims
        assert list(verification.other_sizes) == [imported.conversion.program.smallest_size()]
    assert imported.conversion.symbolic  # each of them takes any size, as the hand-written examples say
    lines = statement_lines(imported.text)
    record_property("statement_lines", lines)
    assert lines <= hand_written_lines(name), imported.text
    assert documented_lines()[name] == lines, "docs/import.md's table of families says otherwise"
    assert format_source(imported.text) == imported.text
    if name != "alexnet":  # AlexNet has no repeated structure worth a block (nor has the hand-written one)
        assert re.search(r"^block \w+\(", imported.text, re.M), "blocks recovered"


def test_resnet50_recovers_its_blocks():
    """torchvision's Bottleneck, with and without its downsample, as two blocks; each layerN on one line."""
    model = torchvision_models().resnet50(weights=None)
    imported = import_model(model, InputSpec(32, 32, None, None), check=False)
    blocks = re.findall(r"^block (\w+)\(([^)]*)\)", imported.text, re.M)
    assert blocks == [("bottleneck", "mid, out"), ("bottleneck_proj", "mid, out, s")]
    body = imported.text[imported.text.index("network ") :]
    assert [line.split("#")[0].strip() for line in body.splitlines() if line.startswith("bottleneck_proj ")] == [
        "bottleneck_proj 64 256 1; repeat 2 { bottleneck 64 256 }",
        "bottleneck_proj 128 512 2; repeat 3 { bottleneck 128 512 }",
        "bottleneck_proj 256 1024 2; repeat 5 { bottleneck 256 1024 }",
        "bottleneck_proj 512 2048 2; repeat 2 { bottleneck 512 2048 }",
    ]
    assert statement_lines(imported.text) <= hand_written_lines("resnet50")


def test_cnnc_import_of_a_torchvision_model_at_the_default_size(tmp_path):
    out, weights = tmp_path / "mobilenet_v2.cnn", tmp_path / "mobilenet_v2.pt"
    result = cnnc("import", f"{TORCHVISION}:mobilenet_v2", "-o", out, "--weights", weights, "--device", "cpu", "--batch", "1")
    assert result.returncode == 0, result.stderr
    assert "round trip verified on cpu, batch 1 at 224x224: 3,504,872 parameters" in result.stdout
    text = out.read_text()
    assert "# 3,504,872 parameters" in text and "input HxWx3" in text
    model = torchvision_models().mobilenet_v2(weights=None)
    ours = cnndsl.load(out)()
    state = torch.load(weights)
    ours.load_state_dict(state)
    # The file holds the spec's model's weights: copy them back into a fresh torchvision model by structure.
    cnndsl.transfer_weights(ours, model)
    assert outputs_agree(model, text, state) <= 1e-5


def test_the_importer_stays_out_of_the_fast_paths():
    code = "import sys, cnndsl.cli.main\nassert 'cnndsl.importer' not in sys.modules and 'torch' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_failed_round_trip_raises_with_the_table(monkeypatch):
    """import_module refuses a result that does not compute what the model does (here: a verification made to fail)."""
    import cnndsl.importer as importer

    original = importer.verify_round_trip

    def spoiled(*args, **kwargs):
        result = original(*args, **kwargs)
        result.difference = 1.0
        return result

    monkeypatch.setattr(importer, "verify_round_trip", spoiled)
    with pytest.raises(RoundTripError) as raised:
        cnndsl.import_module(custom.Nested(), "32x32x3")
    assert "ROUND TRIP FAILED" in str(raised.value) and "line  statement" in str(raised.value)
