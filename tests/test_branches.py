"""concat, split, branch and gate: types, diagnostics, generated code, tools.

The hand-written modules are what a PyTorch user writes for each construct
(torchvision's SqueezeNet Fire, DenseNet _DenseLayer, GoogLeNet Inception,
MobileNet v3 SqueezeExcitation, ShuffleNet v2 InvertedResidual); the
generated module, with the same weights copied in order, gives bit-equal
outputs.
"""

from __future__ import annotations

import re

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cnndsl
from cnndsl.check.typed import TypedBranch, TypedConcat, TypedGate
from cnndsl.formatter import format_source
from cnndsl.reports.summary import render_table, summarize
from cnndsl.syntax.incremental import ParseCache
from cnndsl.diagnostics.model import Reporter
from cnndsl.syntax.parser import parse
from cnndsl.syntax.source import SourceText


def check(text: str):
    return cnndsl.check_program(text, "net.cnn")


def codes(text: str) -> list[str]:
    return [d.code for d in check(text).diagnostics]


def only(text: str, code: str):
    program = check(text)
    found = [d for d in program.diagnostics if d.code == code]
    assert len(found) == 1, program.diagnostics
    return found[0]


# -- types ------------------------------------------------------------------


def test_concat_adds_channels_and_keeps_the_size():
    program = check("input 28x28x192\nconcat {\n branch { conv 64 k1 }\n branch { conv 128 k3 p1 }\n branch { }\n}\n")
    assert program.ok
    join = program.nodes[0]
    assert isinstance(join, TypedConcat) and not join.split
    assert str(join.output) == "28x28x384"
    assert join.channels == [64, 128, 192]
    assert [str(b.output) for b in join.branches] == ["28x28x64", "28x28x128", "28x28x192"]
    assert all(isinstance(b, TypedBranch) for b in join.branches)
    assert program.total_params == 192 * 64 + 64 + 192 * 128 * 9 + 128


def test_split_gives_each_branch_an_equal_part():
    program = check("input 8x8x12\nsplit { branch { } branch { conv 5 k1 } branch { conv 2 k1 } }\n")
    assert program.ok
    join = program.nodes[0]
    assert join.split and [str(b.input) for b in join.branches] == ["8x8x4"] * 3
    assert str(join.output) == "8x8x11"
    assert program.layers[0].params == 4 * 5 + 5


def test_gate_keeps_the_input_type_and_records_the_gate():
    program = check("input 14x14x32\ngate { avgpool to 1; conv 8 k1 relu; conv 32 k1; hardtanh }\n".replace("hardtanh", "sigmoid"))
    assert program.ok
    gate = program.nodes[0]
    assert isinstance(gate, TypedGate)
    assert str(gate.gate) == "1x1x32" and str(gate.output) == "14x14x32"


def test_gates_broadcast_per_channel_per_position_and_per_element():
    for body in ("avgpool to 1; conv 16 k1; sigmoid", "conv 1 k3 p1; sigmoid", "conv 16 k1; sigmoid", "avgpool to 1; conv 1 k1"):
        assert check(f"input 8x8x16\ngate {{ {body} }}\n").ok, body


def test_branches_nest_with_blocks_repeats_residuals_and_gates():
    text = """input 16x16x8
block unit(c) {
  concat {
    branch { residual { conv c k3 p1 } }
    branch { split { branch { } branch { conv 4 k1 } } }
    branch { gate { avgpool to 1; conv c k1; sigmoid } }
  }
  conv c k1
}
repeat 2 { unit 8 }
concat { branch { concat { branch { } branch { } } } branch { pool 3 s1 p1 } }
"""
    program = check(text)
    assert program.ok, program.diagnostics
    assert str(program.output) == "16x16x24"


def test_symbolic_branches_are_equal_for_every_size():
    program = check("input HxWx8\nconcat { branch { conv 8 k3 s2 p1 } branch { pool 3 s2 p1 } }\n")
    assert program.ok, program.diagnostics
    assert str(program.output) == "(H+1)//2 x (W+1)//2 x 16"


# -- diagnostics --------------------------------------------------------------


def test_mismatched_branch_is_pointed_at_with_every_type_and_a_fix():
    text = "input 28x28x32\nconcat {\n  branch { conv 16 k1 }\n  branch { conv 16 k5 }\n  branch { conv 8 k1 }\n}\n"
    error = only(text, "E0051")
    assert text[error.span.start : error.span.end] == "branch" and error.line == 4
    assert "branch 2 of the concat gives 24x24, but branch 1 gives 28x28" in error.message
    assert any("branch 3 (line 5) gives 28x28x8" in note for note in error.notes)
    assert error.help == "give `conv 16 k5` (line 4) p2 so that it keeps 28x28 like branch 1"


def test_symbolic_mismatch_names_the_smallest_size_where_branches_differ():
    error = only("input HxWx8 where H >= 8, W >= 8\nconcat { branch { pool 2 } branch { conv 8 k3 s2 p1 } }\n", "E0051")
    assert any("for H = 9 (the smallest size where they differ) branch 2's height is 5 and branch 1's 4" in n for n in error.notes)


def test_a_branch_ending_in_a_vector_is_an_error():
    error = only("input 4x4x2\nconcat { branch { flatten } branch { } }\n", "E0051")
    assert "ends in the 32 vector" in error.message


def test_split_of_an_indivisible_channel_count():
    error = only("input 8x8x9\nsplit { branch { } branch { } }\n", "E0052")
    assert "9 is not divisible by 2" in error.message
    assert error.help == "give the split's input 8 or 10 channels, or 3 branches"


def test_gate_that_does_not_broadcast_says_which_axis():
    error = only("input 28x28x32\ngate { avgpool to 1; conv 16 k1; sigmoid }\n", "E0053")
    assert error.message == "the gate's output 1x1x16 does not broadcast onto the 28x28x32 feature map: channels 16 vs 32"
    assert error.help == "end the gate with conv 32 k1"
    error = only("input 28x28x32\ngate { pool 2; conv 32 k1; sigmoid }\n", "E0053")
    assert "height 14 vs 28" in error.message and "width 14 vs 28" in error.message


def test_misplaced_statements_and_stray_branches():
    error = only("input 8x8x4\nconcat { conv 4 k1; branch { } }\n", "E0024")
    assert error.help == "wrap it in branch { }: branch { conv 4 k1 }"
    error = only("input 8x8x4\nbranch { relu }\n", "E0024")
    assert "inside concat { } or split { }" in error.message
    assert codes("input 8x8x4\nconcat { }\n") == ["E0054"]
    assert codes("input 8x8x4\nsplit { branch { relu } }\n") == ["W0002"]
    assert codes("input 8x8x4\ngate { }\n") == ["W0005"]
    assert codes("input 4x4x1\nflatten\nconcat { branch { } branch { } }\n") == ["E0031"]


def test_mistakes_inside_branches_are_reported_once_each():
    found = codes("input 8x8x4\nconcat {\n branch { conv }\n branch { frobnicate }\n}\ngate { conv 3 k9 }\n")
    assert found == ["E0012", "E0010"]  # after them the type is unknown: the gate is read, not typed
    assert codes("input 8x8x4\nconcat {\n branch { }\n branch { }\n}\ngate { conv 3 k9 }\n") == ["E0030"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["concat", "split", "branch", "gate", "{", "}", "{ }", "conv 8 k1", "relu", ";", "\n", "pool 2", "flatten"]), max_size=30))
def test_random_broken_structures_give_diagnostics_never_tracebacks(words):
    text = "input 8x8x8\n" + " ".join(words) + "\n"
    program = check(text)
    for diagnostic in program.diagnostics:
        assert diagnostic.code and 0 <= diagnostic.span.start <= diagnostic.span.end <= len(text)


# -- generated code -------------------------------------------------------------


def test_only_the_helpers_used_are_generated():
    source = cnndsl.compile_source("input 8x8x4\ngate { conv 4 k1; sigmoid }\n", "g.cnn").python_source
    assert "class Gate(nn.Module)" in source and "class Concat" not in source and "class Split" not in source
    source = cnndsl.compile_source("input 8x8x4\nresidual { concat { branch { } branch { } } ; conv 4 k1 }\n", "c.cnn").python_source
    assert "class Concat(nn.Module)" in source and "class Residual(nn.Module)" in source and "class Gate" not in source


def test_state_dict_follows_the_order_of_the_text():
    program = cnndsl.compile_source(
        "input 8x8x4\nconv 6 k1\nconcat { branch { conv 2 k1 } branch { } branch { bn; conv 3 k3 p1 } }\ngate { conv 9 k1 }\n".replace(
            "conv 9 k1", "conv 9 k1".replace("9", "9")
        ).replace("gate { conv 9 k1 }", "gate { conv 11 k1 }"),
        "order.cnn",
    )
    names = list(program.module_class()().state_dict())
    assert names == [
        "features.0.weight", "features.0.bias",
        "features.1.branches.0.0.weight", "features.1.branches.0.0.bias",
        "features.1.branches.2.0.weight", "features.1.branches.2.0.bias", "features.1.branches.2.0.running_mean",
        "features.1.branches.2.0.running_var", "features.1.branches.2.0.num_batches_tracked",
        "features.1.branches.2.1.weight", "features.1.branches.2.1.bias",
        "features.2.body.0.weight", "features.2.body.0.bias",
    ]


# -- bit-equal with hand-written PyTorch -------------------------------------


def _copy_in_order(source: nn.Module, target: nn.Module) -> None:
    theirs = list(source.state_dict().values())
    mine = target.state_dict()
    assert len(theirs) == len(mine)
    for (name, tensor), value in zip(mine.items(), theirs):
        assert tensor.shape == value.shape, name
    target.load_state_dict({name: value.clone() for name, value in zip(mine, theirs)})


def _randomise_norms(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)


def _assert_bit_equal(text: str, hand: nn.Module, shape: tuple) -> None:
    torch.manual_seed(0)
    hand.eval()
    _randomise_norms(hand)
    generated = cnndsl.compile_source(text, "hand.cnn").module_class()().eval()
    _copy_in_order(hand, generated)
    x = torch.randn(*shape)
    with torch.no_grad():
        assert torch.equal(generated(x), hand(x))


class Fire(nn.Module):  # torchvision.models.squeezenet.Fire
    def __init__(self, inplanes, squeeze, expand1x1, expand3x3):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1)


def test_fire_module_equals_torchvisions_fire():
    text = "input 27x27x96\nconv 16 k1 relu\nconcat {\n  branch { conv 64 k1 relu }\n  branch { conv 64 k3 p1 relu }\n}\n"
    _assert_bit_equal(text, Fire(96, 16, 64, 64), (2, 96, 27, 27))


class DenseLayer(nn.Module):  # torchvision.models.densenet._DenseLayer (eval, no dropout)
    def __init__(self, inputs, growth, bottleneck):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(inputs)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(inputs, bottleneck * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bottleneck * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        return torch.cat([x, new], 1)


def test_dense_layer_equals_torchvisions_dense_layer():
    text = "input 14x14x64\nconcat { branch { } branch { bn; relu; conv 128 k1 nobias; bn; relu; conv 32 k3 p1 nobias } }\n"
    _assert_bit_equal(text, DenseLayer(64, 32, 4), (2, 64, 14, 14))


def _conv_bn(inputs, outputs, **options):
    return nn.Sequential(nn.Conv2d(inputs, outputs, bias=False, **options), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class Inception(nn.Module):  # torchvision.models.googlenet.Inception (its BasicConv2d: conv, bn, relu)
    def __init__(self, inputs, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = _conv_bn(inputs, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(_conv_bn(inputs, ch3x3red, kernel_size=1), _conv_bn(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(_conv_bn(inputs, ch5x5red, kernel_size=1), _conv_bn(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), _conv_bn(inputs, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def test_inception_module_equals_googlenets_inception():
    text = """input 28x28x192
concat {
  branch { conv 64 k1 nobias; bn; relu }
  branch { conv 96 k1 nobias; bn; relu; conv 128 k3 p1 nobias; bn; relu }
  branch { conv 16 k1 nobias; bn; relu; conv 32 k3 p1 nobias; bn; relu }
  branch { pool 3 s1 p1 ceil; conv 32 k1 nobias; bn; relu }
}
"""
    _assert_bit_equal(text, Inception(192, 64, 96, 128, 16, 32, 32), (2, 192, 28, 28))
    program = check(text)
    assert len(re.findall(r"\n +channels +64 \+ 128 \+ 32 \+ 32 = 256\n", render_table(program, explain=True))) == 1


class SqueezeExcitation(nn.Module):  # torchvision.ops.SqueezeExcitation
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def test_squeeze_and_excitation_equals_torchvisions():
    text = "input 14x14x64\ngate { avgpool to 1; conv 16 k1 relu; conv 64 k1; sigmoid }\n"
    _assert_bit_equal(text, SqueezeExcitation(64, 16), (2, 64, 14, 14))


class ShuffleHalf(nn.Module):  # torchvision.models.shufflenetv2.InvertedResidual, stride 1, without the shuffle
    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
        )

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat((x1, self.branch2(x2)), dim=1)


def test_split_equals_shufflenets_half_and_half():
    text = "input 28x28x116\nsplit {\n  branch { }\n  branch { conv 58 k1 nobias; bn; relu; conv 58 k3 p1 g58 nobias; bn; conv 58 k1 nobias; bn; relu }\n}\n"
    _assert_bit_equal(text, ShuffleHalf(116), (2, 116, 28, 28))


# -- summary, formatter, parse cache, language server ---------------------------


def test_summary_rows_and_json_for_joins_and_gates():
    program = check("input 8x8x4\nconcat { branch { conv 4 k1 } branch { } }\ngate { avgpool to 1; conv 8 k1; sigmoid }\n")
    table = render_table(program, explain=True)
    rows = [line.split() for line in table.splitlines()]
    assert ["2", "concat", "8x8x8", "0", "0"] in rows
    assert ["3", "gate", "8x8x8", "0", "0"] in rows
    assert ["2", "branch", "8x8x4", "(input)"] in rows
    assert "multiplies  8x8x8 * 1x1x8 = 8x8x8" in table
    joins = summarize(program).to_dict()["joins"]
    assert joins == [
        {"line": 2, "kind": "concat", "output": [8, 8, 8], "params": 0, "macs": 0, "branch_channels": [4, 4]},
        {"line": 3, "kind": "gate", "output": [8, 8, 8], "params": 0, "macs": 0, "gate_channels": [8]},
    ]


def test_formatter_indents_branches_and_keeps_one_line_forms():
    text = "input 8x8x4\nconcat {\nbranch {   conv 4 k1 }\n    branch {\nrelu\n}\n}\nconcat { branch { } branch {relu} }\n"
    formatted = format_source(text)
    assert formatted == (
        "input 8x8x4\nconcat {\n  branch { conv 4 k1 }\n  branch {\n    relu\n  }\n}\nconcat { branch { } branch { relu } }\n"
    )
    assert format_source(formatted) == formatted


def test_parse_cache_equals_a_full_parse_after_edits():
    texts = [
        "input 8x8x4\nconcat {\n branch { conv 4 k1 }\n branch { }\n}\ngate { relu }\n",
        "input 8x8x4\nconcat {\n branch { conv 5 k1 }\n branch { }\n}\ngate { relu }\n",
        "input 8x8x4\n# moved\nconcat {\n branch { conv 5 k1 }\n branch { }\n}\ngate { relu }\nsplit { branch { } branch { } }\n",
    ]
    cache = ParseCache()
    for text in texts:
        cached = cache.parse(Reporter(SourceText(text, "a.cnn")))
        assert cached == parse(Reporter(SourceText(text, "a.cnn")))


def test_language_server_hover_hints_and_completion():
    from cnndsl.lsp.completion import complete
    from cnndsl.lsp.document import Document
    from cnndsl.lsp.hover import hover_at
    from cnndsl.lsp.inlay import line_hints

    text = "input 8x8x4\nconcat {\n  branch { conv 4 k1 }\n  branch { }\n}\ngate { avgpool to 1; conv 8 k1; sigmoid }\n"
    doc = Document(text)
    shown = hover_at(doc, text.index("concat") + 2).contents.value
    assert "**concat**" in shown and "`8x8x4` → `8x8x8` (channels 4 + 4)" in shown
    labels = [hint.label for hint in line_hints(doc)]
    assert "-> 8x8x8 (4 + 4)" in labels and "-> 8x8x4 (input)" in labels and "-> 8x8x8 (x * 1x1x8)" in labels
    items = {item.label for item in complete(doc, len(text)).items}
    assert {"concat", "split", "branch", "gate"} <= items
