"""Tables of programs with the static types, parameters and MACs they must get.

The expected numbers are worked out by hand from PyTorch's rules (and, for
the architectures, from torchvision's published parameter counts); the
property tests in test_property.py check the same rules against PyTorch.
"""

from pathlib import Path

import pytest

import cnndsl
from cnndsl.types.shapes import Window

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def typed(text: str):
    program = cnndsl.check_program(text, "t.cnn")
    errors = [d for d in program.diagnostics if d.is_error]
    assert not errors, errors
    return program


def types_of(text: str) -> list[str]:
    return [str(layer.output) for layer in typed(text).layers]


QUIZ = """
input 130x130x3
conv 10 k3; pool 4
conv 20 k5 p2; pool 2
flatten
linear 10
"""


def test_the_quiz_has_5120_features_and_56510_parameters():
    program = typed(QUIZ)
    assert [str(l.output) for l in program.layers] == ["128x128x10", "32x32x10", "32x32x20", "16x16x20", "5120", "10"]
    assert [l.params for l in program.layers] == [280, 0, 5020, 0, 0, 51210]
    assert program.total_params == 56_510
    linear = program.layers[-1]
    assert linear.module == "nn.Linear(5120, 10)"


def test_lesson_examples_and_the_parameter_formula():
    program = typed("input 200x200x1\nconv 16 k2 s2\nconv 32 k3 p1\n")
    first, second = program.layers
    assert str(first.output) == "100x100x16"
    assert str(second.output) == "100x100x32"
    # K*F*F*D_in + K
    assert first.params == 16 * 2 * 2 * 1 + 16 == 80
    assert second.params == 32 * 3 * 3 * 16 + 32 == 4640
    assert first.module == "nn.Conv2d(1, 16, 2, stride=2)"
    assert second.module == "nn.Conv2d(16, 32, 3, padding=1)"


@pytest.mark.parametrize(
    "statement, output, params, macs",
    [
        ("conv 8 k3", "30x30x8", 8 * 27 + 8, 30 * 30 * 8 * 27),
        ("conv 8 k3 nobias", "30x30x8", 8 * 27, 30 * 30 * 8 * 27),
        ("conv 8 k3x5", "30x28x8", 8 * 45 + 8, 30 * 28 * 8 * 45),
        ("conv 8 kernel=3x5 stride=2 padding=1", "16x15x8", 8 * 45 + 8, 16 * 15 * 8 * 45),
        ("conv 8 k3 s2x1 p1x0", "16x30x8", 8 * 27 + 8, 16 * 30 * 8 * 27),
        ("conv 8 k3 d2", "28x28x8", 8 * 27 + 8, 28 * 28 * 8 * 27),
        ("conv 8 k3 same", "32x32x8", 8 * 27 + 8, 32 * 32 * 8 * 27),
        ("conv 8 k4 same", "32x32x8", 8 * 48 + 8, 32 * 32 * 8 * 48),
        ("conv 6 k3 g3", "30x30x6", 6 * 9 + 6, 30 * 30 * 6 * 9),
        ("conv 8 p1 k3 relu", "32x32x8", 8 * 27 + 8, 32 * 32 * 8 * 27),
        ("pool 2", "16x16x3", 0, 0),
        ("maxpool 3 s2", "15x15x3", 0, 0),
        ("pool 3 s2 p1", "16x16x3", 0, 0),
        ("avgpool 2", "16x16x3", 0, 0),
        ("avgpool 4 s3 ceil", "11x11x3", 0, 0),
        ("avgpool to 7x7", "7x7x3", 0, 0),
        ("maxpool to 1", "1x1x3", 0, 0),
        ("pool to 2x4", "2x4x3", 0, 0),
        ("batchnorm", "32x32x3", 6, 0),
        ("bn", "32x32x3", 6, 0),
        ("dropout 0.25", "32x32x3", 0, 0),
        ("flatten", "3072", 0, 0),
        ("relu", "32x32x3", 0, 0),
        ("leakyrelu 0.2", "32x32x3", 0, 0),
        ("gelu", "32x32x3", 0, 0),
    ],
)
def test_layer_rules_on_a_32x32x3_map(statement, output, params, macs):
    layer = typed(f"input 32x32x3\n{statement}\n").layers[0]
    assert str(layer.output) == output
    assert layer.params == params
    assert layer.macs == macs


@pytest.mark.parametrize(
    "statements, output, params",
    [
        ("flatten\nlinear 10", "10", 3072 * 10 + 10),
        ("flatten\nfc 10 nobias", "10", 3072 * 10),
        ("flatten\ndense 10 relu", "10", 3072 * 10 + 10),
        ("flatten\nlinear 10\nbatchnorm", "10", 30730 + 20),
        ("flatten\nlinear 10\nsoftmax", "10", 30730),
        ("flatten\nlinear 10\nlogsoftmax", "10", 30730),
    ],
)
def test_vector_layers(statements, output, params):
    program = typed(f"input 32x32x3\n{statements}\n")
    assert str(program.output) == output
    assert program.total_params == params


@pytest.mark.parametrize(
    "size, kernel, stride, padding, dilation, ceil, expected",
    [
        (130, 3, 1, 0, 1, False, 128),
        (5, 2, 2, 1, 1, True, 3),  # LANGUAGE.md: pool 2 s2 p1 ceil on 5 gives 3, not 4
        (5, 2, 2, 0, 1, True, 3),
        (6, 3, 2, 1, 1, True, 4),
        (7, 3, 2, 0, 1, False, 3),
        (7, 3, 2, 0, 1, True, 3),
        (8, 3, 2, 0, 1, True, 4),
        (10, 3, 1, 0, 2, False, 6),
    ],
)
def test_window_rule(size, kernel, stride, padding, dilation, ceil, expected):
    assert Window(size, kernel, stride, padding, dilation, ceil).output == expected


def test_ceil_mode_drops_a_window_starting_in_the_padding():
    layer = typed("input 5x5x1\npool 2 s2 p1 ceil\n").layers[0]
    assert str(layer.output) == "3x3x1"
    assert layer.module == "nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)"


def test_activation_suffix_is_its_own_leaf_layer():
    program = typed("input 28x28x1\nconv 16 k2 s2 relu\n")
    assert [l.module for l in program.layers] == ["nn.Conv2d(1, 16, 2, stride=2)", "nn.ReLU(inplace=True)"]


def test_inplace_only_where_safe():
    program = typed(
        "input 8x8x4\nrelu\nconv 4 k1 relu\nsigmoid\nbn\nrelu6\n"
        "residual { relu; conv 4 k1 }\nrelu\nflatten\nlinear 4 leakyrelu -0.1\n"
    )
    modules = [l.module for l in program.layers]
    assert modules == [
        "nn.ReLU()",  # first layer: reads the caller's input
        "nn.Conv2d(4, 4, 1)",
        "nn.ReLU(inplace=True)",
        "nn.Sigmoid()",
        "nn.BatchNorm2d(4)",
        "nn.ReLU6(inplace=True)",
        "nn.ReLU()",  # first layer of a residual body: the shortcut still needs its input
        "nn.Conv2d(4, 4, 1)",
        "nn.ReLU()",  # after a residual, not after conv/linear/batchnorm
        "nn.Flatten()",
        "nn.Linear(256, 4)",
        "nn.LeakyReLU(-0.1)",  # autograd rejects in-place leaky_relu with a negative slope
    ]


def test_options_in_any_order_and_long_forms_agree():
    a = typed("input 32x32x3\nconv 16 k3 s2 p1 d1 g1\n").layers[0]
    b = typed("input 32x32x3\nconv 16 groups=1 padding=1 stride=2 kernel=3 dilation=1\n").layers[0]
    c = typed("input 32x32x3\nconv 16 p1 s2 k3\n").layers[0]
    assert a.output == b.output == c.output
    assert a.module == b.module == c.module == "nn.Conv2d(3, 16, 3, stride=2, padding=1)"


def test_batchnorm_on_maps_and_vectors_emits_2d_and_1d():
    program = typed("input 4x4x8\nbn\nflatten\nbn\n")
    assert [l.module for l in program.layers] == ["nn.BatchNorm2d(8)", "nn.Flatten()", "nn.BatchNorm1d(128)"]


def test_comments_semicolons_and_blank_lines():
    text = "# a comment\n\ninput 8x8x1 # trailing\n\n;conv 2 k3;; relu # x\n\n"
    assert types_of(text) == ["6x6x2", "6x6x2"]


def test_network_name_defaults_to_the_file_name_in_camel_case():
    assert cnndsl.check_program("input 4x4x1\n", "examples/my_small-net.cnn").name == "MySmallNet"
    assert cnndsl.check_program("input 4x4x1\n", "lenet5.cnn").name == "Lenet5"
    assert cnndsl.check_program("input 4x4x1\n", "3d.cnn").name == "Net3d"
    assert cnndsl.check_program("network Foo\ninput 4x4x1\n", "lenet5.cnn").name == "Foo"


EXAMPLES = {
    # example: (output, parameters) — torchvision's published counts where they exist
    "quiz": ("10", 56_510),
    "lesson": ("100x100x32", 4_720),
    "lenet5": ("10", 61_706),
    "alexnet": ("1000", 61_100_840),
    "vgg11": ("1000", 132_863_336),
    "vgg16": ("1000", 138_357_544),
    "resnet18": ("1000", 11_689_512),
    "resnet34": ("1000", 21_797_672),
    "mobilenet": ("1000", 4_231_976),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_have_the_published_parameter_counts(name):
    program = cnndsl.check_program((EXAMPLES_DIR / f"{name}.cnn").read_text(), f"{name}.cnn")
    assert program.ok, program.diagnostics
    output, params = EXAMPLES[name]
    assert str(program.output) == output
    assert program.total_params == params


def test_summary_json_shape():
    program = cnndsl.compile_file(EXAMPLES_DIR / "quiz.cnn")
    data = program.summary.to_dict()
    assert data["network"] == "Quiz"
    assert data["input"] == [3, 130, 130]
    assert data["output"] == [10]
    assert [l["output"] for l in data["layers"]] == [[10, 128, 128], [10, 32, 32], [20, 32, 32], [20, 16, 16], [5120], [10]]
    assert [l["line"] for l in data["layers"]] == [6, 7, 8, 9, 10, 11]
    assert [l["kind"] for l in data["layers"]] == ["conv", "pool", "conv", "pool", "flatten", "linear"]
    assert data["total_params"] == 56_510
    assert data["total_macs"] == sum(l["macs"] for l in data["layers"])
