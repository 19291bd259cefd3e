"""The encoder-decoder layers (issue 18) against PyTorch: types, parameters, MACs, and the DCGAN generator."""

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = [
    ("input 7x9x6", "upconv 8 k2 s2"),
    ("input 7x9x6", "upconv 8 k4 s2 p1"),
    ("input 7x9x6", "upconv 8 k3 s2 p1 o1"),
    ("input 7x9x6", "upconv 8 k3x2 s3x2 p1x0 o2x1 nobias"),
    ("input 7x9x6", "deconv 9 k3 d2 g3 relu"),
    ("input 7x9x6", "upconv 6 k3 s2 d2 o1"),
    ("input 7x9x6", "upsample 2"),
    ("input 7x9x6", "upsample 3x2 bilinear"),
    ("input 7x9x6", "upsample 2 bilinear aligned"),
    ("input 7x9x6", "upsample to 20x11"),
    ("input 7x9x6", "upsample to 4 bilinear"),
    ("input 96", "unflatten 4x4x6"),
    ("input 7x9x6", "flatten; unflatten 7x9x6"),
    ("input 7x9x6", "groupnorm 3"),
    ("input 7x9x6", "gn 1"),
    ("input 7x9x6", "instancenorm"),
    ("input 7x9x6", "instancenorm affine"),
    ("input 7x9x6", "dropout2d 0.3"),
    ("input 7x9x6", "prelu"),
    ("input 7x9x6", "prelu perchannel"),
    ("input 7x9x6", "conv 4 k3 prelu"),
    ("input 96", "prelu perchannel"),
    ("input 7x9x6", "pad 2"),
    ("input 7x9x6", "pad 1x3 reflect"),
    ("input 7x9x6", "pad 6 reflect"),
    ("input 7x9x6", "pad 2 replicate"),
    ("input 7x9x6", "pad 7 circular"),
]


@pytest.mark.parametrize("header, body", CASES)
def test_static_types_parameters_and_macs_equal_pytorchs(header, body):
    program = cnndsl.compile_source(f"network T\n{header}\n" + body.replace("; ", "\n"))
    assert program.typed.ok, program.typed.diagnostics
    model = program.module_class()().eval()
    typed = program.typed
    x = torch.randn(2, *typed.input.torch_shape)
    with FlopCounterMode(display=False) as counter:
        out = model(x)
    assert tuple(out.shape[1:]) == typed.output.torch_shape
    assert sum(p.numel() for p in model.parameters()) == typed.total_params
    assert counter.get_total_flops() == 2 * 2 * typed.total_macs  # a batch of 2, two FLOPs per MAC


@pytest.mark.parametrize(
    "body, code",
    [
        ("upconv 8 k2 p3", "E0081"),
        ("upconv 8 k2 s2 o2", "E0035"),
        ("upconv 8 k2", None),
        ("pad 2 reflect", "E0081"),
        ("pad 3 circular", "E0081"),
        ("pad 2 circular", None),
        ("groupnorm 3", "E0033"),
        ("upsample 2 nearest bilinear", "E0015"),
        ("upsample 2 aligned", "E0015"),
        ("upsample 0", "E0035"),
        ("flatten; unflatten 3x3x2", "E0080"),
        ("flatten; dropout2d 0.5", "E0031"),
        ("dropout2d 1.5", "E0035"),
    ],
)
def test_impossible_settings_are_diagnostics(body, code):
    diagnostics = cnndsl.check_source("network T\ninput 2x2x4\n" + body.replace("; ", "\n"))
    assert [d.code for d in diagnostics if d.is_error] == ([code] if code else [])


@pytest.mark.parametrize("size, refused", [("1x1", True), ("2x1", False), ("1x2", False)])
def test_instancenorm_on_one_position_is_refused_as_pytorch_refuses_it(size, refused):
    diagnostics = cnndsl.check_source(f"network T\ninput {size}x4\ninstancenorm\n")
    assert [d.code for d in diagnostics if d.is_error] == (["E0085"] if refused else [])
    height, width = map(int, size.split("x"))
    for module in (nn.InstanceNorm2d(4), nn.InstanceNorm2d(4).eval()):  # eval too: no running statistics
        if refused:
            with pytest.raises(ValueError, match="more than 1 spatial element"):
                module(torch.randn(2, 4, height, width))
        else:
            module(torch.randn(2, 4, height, width))


@pytest.mark.parametrize(
    "text, bounds, refused, errors",
    [
        # one symbol: a computed bound is raised to the smallest size with two positions, which PyTorch takes,
        # and the admissible size below it (without the raise) is one PyTorch refuses
        ("input Hx1x4\ninstancenorm", {"H": 2}, (1, 1), []),
        ("input HxHx4\npool 4\ninstancenorm", {"H": 8}, (7, 7), []),
        ("input Hx1x4 where H % 16 == 0\npool 16x1\ninstancenorm", {"H": 32}, (16, 1), []),
        ("input HxWx4 where H >= 8\npool 4\ninstancenorm", {"H": 8, "W": 4}, None, []),
        # two symbols: the computed bounds are raised (both when both are), as PyTorch refuses 4x4 and takes 8x8, 4x8
        ("input HxWx4\npool 4\ninstancenorm", {"H": 8, "W": 8}, (4, 4), []),
        ("input HxWx4 where H >= 4\npool 4\ninstancenorm", {"H": 4, "W": 8}, (4, 4), []),
        # written bounds that admit a 1x1 map
        ("input HxHx4 where H >= 4\npool 4\ninstancenorm", None, None, ["for H = 7 its input is 1x1", "require H >= 8"]),
        ("input HxWx4 where H >= 4, W >= 4\npool 4\ninstancenorm", None, None,
         ["for H = 4, W = 4 its input is 1x1", "require H >= 8 or W >= 8"]),
    ],
)
def test_instancenorm_on_a_symbolic_map_has_two_positions_at_every_admissible_size(text, bounds, refused, errors):
    program = cnndsl.check_program(f"network T\n{text}\n")
    found = [d for d in program.diagnostics if d.is_error]
    assert [d.code for d in found] == (["E0085"] if errors else [])
    for words in errors:
        assert words in found[0].message + found[0].help
    if not bounds:
        return
    assert {symbol.name: symbol.bound for symbol in program.symbols.values()} == bounds
    model = cnndsl.compile_source(f"network T\n{text}\n").module_class()().eval()
    smallest = (bounds["H"], bounds.get("W", bounds["H"] if "HxH" in text else 1))
    model(torch.randn(1, 4, *smallest))
    if refused:
        with pytest.raises(ValueError, match="more than 1 spatial element"):
            model(torch.randn(1, 4, *refused))


def test_symbolic_growth_is_checked_at_every_admissible_size():
    text = "network T\ninput HxWx3 where H >= 2, W >= 2\nconv 4 k3\nupconv 4 k2 s2 p2\npad 3 reflect\n"
    diagnostics = cnndsl.check_source(text)
    errors = [d for d in diagnostics if d.is_error]
    # conv: H-2 >= 1 needs H >= 3; upconv: (H-3)*2 - 4 + 2 = 2H-8 >= 1 needs H >= 5; reflect 3: 2H-8 > 3 needs H >= 6
    assert [(d.code, d.line) for d in errors] == [("E0071", 3)] * 2 + [("E0071", 4)] * 2 + [("E0071", 5)] * 2
    assert "for H = 4" in errors[2].message and "H >= 6" in errors[4].help
    program = cnndsl.compile_source(text.replace("H >= 2, W >= 2", "H >= 8, W >= 8"))
    assert str(program.typed.output) == "2*H-2 x 2*W-2 x 4"
    model = program.module_class()().eval()
    for size in (8, 9, 13):
        assert model(torch.randn(1, 3, size, size)).shape[-1] == 2 * size - 2


class HandDCGANGenerator(nn.Module):
    """The PyTorch DCGAN tutorial's generator (nz=100, ngf=64, nc=3), input (N, 100, 1, 1)."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


def test_the_dcgan_generator_equals_the_tutorials():
    program = cnndsl.compile_file(EXAMPLES / "dcgan_generator.cnn")
    assert program.typed.total_params == 3_576_704
    assert program.typed.output.torch_shape == (3, 64, 64)
    generated = program.module_class()().eval()
    hand = HandDCGANGenerator().eval()
    with torch.no_grad():  # random running statistics, so that eval mode uses them
        for module in hand.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    assert sum(p.numel() for p in hand.parameters()) == 3_576_704
    generated.load_state_dict(dict(zip(generated.state_dict(), hand.state_dict().values())))
    z = torch.randn(3, 100)
    torch.testing.assert_close(generated(z), hand(z.view(3, 100, 1, 1)))
