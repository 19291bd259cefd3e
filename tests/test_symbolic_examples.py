"""The symbolic examples of issue 8: ResNet-18 for any size >= 32, and a fully convolutional net."""

from pathlib import Path

import pytest

import cnndsl
from cnndsl.cli.main import main
from cnndsl.backend.verify import default_sizes, verify
from cnndsl.compiler import instantiate

torch = pytest.importorskip("torch")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_resnet18_takes_any_size_from_32():
    program = cnndsl.check_program((EXAMPLES / "resnet18.cnn").read_text(), "resnet18.cnn")
    assert program.ok and program.diagnostics == []  # no W0001 for any size: the padding covers it
    assert program.symbolic and {s.name: (s.bound, s.given) for s in program.symbols.values()} == {"H": (32, True), "W": (32, True)}
    assert str(program.input) == "HxWx3" and str(program.output) == "1000"
    assert program.total_params == 11_689_512
    stem, last_stage = program.layers[0], program.layers[-4]  # the stem conv; the last basic block's relu
    assert str(stem.output) == "(H+1)//2 x (W+1)//2 x 64"
    assert str(last_stage.output) == "(H+31)//32 x (W+31)//32 x 512"
    # At ImageNet's size the instance is the ResNet-18 everyone knows.
    at_224 = instantiate(program, 224, 224)
    assert str(at_224.layers[-4].output) == "7x7x512" and at_224.total_macs == 1_814_073_344


def test_resnet18_verifies_at_the_sizes_of_the_issue(capsys):
    # 32x32 (the bound: the last stage is 1x1), 224x224, and an odd, non-square 97x131.
    assert main(["verify", str(EXAMPLES / "resnet18.cnn"), "--device", "cpu", "--batch", "1", "--size", "32x32", "224x224", "97x131"]) == 0
    out = capsys.readouterr().out
    assert "verified on cpu, batch 1, at 3 input sizes (32x32, 224x224, 97x131): 61 layers, 11,689,512 parameters" in out
    assert "(512, (H+31)//32, (W+31)//32)" in out and "(512, 1, 1)" in out and "(512, 7, 7)" in out and "(512, 4, 5)" in out


def test_a_wrong_static_type_at_one_size_fails_verification():
    """The check compares every size: a module that disagrees at one of them is caught."""
    program = cnndsl.compile_file(EXAMPLES / "fcn.cnn")
    wrong = cnndsl.compile_source((EXAMPLES / "fcn.cnn").read_text().replace("conv 21 k1", "conv 21 k1 s2"), "fcn.cnn")
    result = verify(program.typed, wrong.module_class(), device="cpu", batch=1, sizes=[(8, 8), (9, 9)])
    assert not result.ok


def test_fcn_has_computed_bounds_and_a_symbolic_output():
    compiled = cnndsl.compile_file(EXAMPLES / "fcn.cnn")
    program = compiled.typed
    assert program.ok and program.diagnostics == []
    assert [(s.name, s.bound, s.given) for s in program.symbols.values()] == [("H", 1, False), ("W", 1, False)]
    assert str(program.output) == "(H+7)//8 x (W+7)//8 x 21"
    cls = compiled.module_class()
    assert cls.input_shape == (3, None, None) and cls.output_shape == (21, None, None) and cls.smallest_input_shape == (3, 1, 1)
    assert default_sizes(program) == [(1, 1), (2, 2), (33, 34)]
    result = verify(program, cls, device="cpu", batch=2)
    assert result.ok and result.sizes == [(1, 1), (2, 2), (33, 34)]
    with torch.no_grad():
        assert cls().eval()(torch.randn(1, 3, 100, 61)).shape == (1, 21, 13, 8)  # (100+7)//8, (61+7)//8
