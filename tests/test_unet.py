"""U-Nets (issue 18): the paper's network and the padded variant against PyTorch models written by hand."""

from pathlib import Path

import pytest
import torch
from torch import nn

import cnndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def centre_crop(kept: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The paper's copy and crop; refuses a crop that cannot be centred."""
    dh, dw = kept.shape[-2] - size[0], kept.shape[-1] - size[1]
    if dh < 0 or dw < 0 or dh % 2 or dw % 2:
        raise ValueError(f"cannot crop {tuple(kept.shape[-2:])} evenly to {size}")
    return kept[..., dh // 2 : dh // 2 + size[0], dw // 2 : dw // 2 + size[1]]


class PaperUNet(nn.Module):
    """Ronneberger et al. 2015, Fig. 1, written the usual PyTorch way."""

    def __init__(self, channels=1, classes=2, padding=0, batchnorm=False):
        super().__init__()

        def double(cin, cout):
            layers = []
            for c in (cin, cout):
                layers += [nn.Conv2d(c, cout, 3, padding=padding, bias=not batchnorm)]
                layers += [nn.BatchNorm2d(cout)] if batchnorm else []
                layers += [nn.ReLU(inplace=True)]
            return nn.Sequential(*layers)

        widths = [64, 128, 256, 512]
        self.down = nn.ModuleList()
        cin = channels
        for w in widths:
            self.down.append(double(cin, w))
            cin = w
        self.bottom = double(512, 1024)
        self.ups, self.up_convs = nn.ModuleList(), nn.ModuleList()
        cin = 1024
        for w in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.up_convs.append(double(2 * w, w))
            cin = w
        self.head = nn.Conv2d(64, classes, 1)
        self.crop = padding == 0

    def forward(self, x):
        kept = []
        for block in self.down:
            x = block(x)
            kept.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, block in zip(self.ups, self.up_convs):
            x = up(x)
            skip = kept.pop()
            if self.crop:
                skip = centre_crop(skip, x.shape[-2:])
            x = block(torch.cat([skip, x], dim=1))
        return self.head(x)

    def ordered_state(self):
        """Tensors in the .cnn's order: encoder, bottom, then per level the up-conv and its convs, head."""
        modules = [*self.down, self.bottom]
        for up, block in zip(self.ups, self.up_convs):
            modules += [up, block]
        modules.append(self.head)
        return [t for m in modules for t in m.state_dict().values()]


def _copy_into(generated: nn.Module, tensors: list[torch.Tensor]) -> None:
    state = generated.state_dict()
    assert [tuple(t.shape) for t in state.values()] == [tuple(t.shape) for t in tensors]
    generated.load_state_dict(dict(zip(state, tensors)))


def test_the_original_unet_is_the_papers():
    program = cnndsl.compile_file(EXAMPLES / "unet_original.cnn")
    typed = program.typed
    assert typed.total_params == 31_030_658
    assert [(s.name, s.bound, s.modulus, s.residue) for s in typed.symbols.values()] == [("H", 188, 16, 12), ("W", 188, 16, 12)]
    at_572 = cnndsl.instantiate(typed, 572, 572)
    assert at_572.ok and at_572.output.torch_shape == (2, 388, 388)
    hand = PaperUNet().eval()
    assert sum(p.numel() for p in hand.parameters()) == 31_030_658
    generated = program.module_class()().eval()
    _copy_into(generated, hand.ordered_state())
    x = torch.randn(1, 1, 188, 204)  # the smallest admissible height, and the next width
    with torch.no_grad():
        torch.testing.assert_close(generated(x), hand(x))


def test_the_admissible_sizes_are_exactly_those_pytorch_accepts_with_even_crops():
    typed = cnndsl.compile_file(EXAMPLES / "unet_original.cnn").typed
    symbol = typed.symbols["H"]
    hand = PaperUNet().to("meta")
    for size in range(100, 460):
        try:
            hand(torch.empty(1, 1, size, size, device="meta"))
            accepted = True
        except (ValueError, RuntimeError):
            accepted = False
        assert accepted == symbol.admits(size), size


def test_without_the_constraint_the_checker_derives_it():
    text = (EXAMPLES / "unet_original.cnn").read_text().replace("input HxWx1 where H % 16 == 12, W % 16 == 12", "input HxWx1")
    errors = [d for d in cnndsl.check_source(text) if d.is_error]
    assert {d.code for d in errors} == {"E0083"} and len(errors) == 4
    assert all(d.help == "add `where H % 16 == 12, W % 16 == 12` to the input line: every join then fits" for d in errors)
    assert errors[0].notes[0].startswith("height: for H = 196 the kept size is 17 and the current 8")
    # The typed program carries the same constraint (cnnc import writes it on the input line).
    assert cnndsl.check_program(text).join_constraint == "H % 16 == 12, W % 16 == 12"
    assert cnndsl.check_program((EXAMPLES / "unet_original.cnn").read_text()).join_constraint is None


def test_the_padded_unet_equals_a_hand_written_one_at_several_sizes():
    program = cnndsl.compile_file(EXAMPLES / "unet.cnn")
    typed = program.typed
    assert typed.ok and not typed.diagnostics
    assert str(typed.output) == "HxWx21"
    hand = PaperUNet(channels=3, classes=21, padding=1, batchnorm=True).eval()
    with torch.no_grad():
        for module in hand.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    assert typed.total_params == sum(p.numel() for p in hand.parameters())
    generated = program.module_class()().eval()
    _copy_into(generated, hand.ordered_state())
    with torch.no_grad():
        for h, w in ((16, 16), (32, 48), (64, 16)):
            x = torch.randn(1, 3, h, w)
            torch.testing.assert_close(generated(x), hand(x), rtol=1e-4, atol=1e-4)


def test_the_padded_unet_without_constraints_names_the_smallest_failing_size_and_the_fix():
    text = (EXAMPLES / "unet.cnn").read_text().replace(" where H % 16 == 0, W % 16 == 0", "")
    errors = [d for d in cnndsl.check_source(text) if d.is_error]
    assert errors and {d.code for d in errors} == {"E0083"}
    assert errors[0].notes[0].startswith("height: for H = 24 the kept size is 3 and the current 2")
    assert all("`where H % 16 == 0, W % 16 == 0`" in d.help for d in errors)


@pytest.mark.parametrize(
    "body, error",
    [
        ("keep a; conv 8 k3 p1; keep b; conv 8 k3 p1; add b; add a", None),  # nested
        ("keep a; conv 8 k3 p1; add a; conv 8 k3 p1; add a", None),  # one map joined twice
        ("keep a; conv 8 k3 p1; keep b; add a; add b", "E0084"),
        ("keep a; residual { conv 8 k3 p1; cat a }", "E0082"),
        ("keep a; conv 4 k3 p1; add a", "E0083"),
        ("keep a; conv 8 k3; cat a", "E0083"),
        ("keep a; conv 8 k3; cat a crop", None),
        ("keep a; conv 8 k2; cat a crop", "E0083"),  # 32 -> 31: odd
        ("keep a; flatten; cat a", "E0083"),
        ("keep 1a", "E0013"),
        ("cat", "E0012"),
        ("keep a; cat a crop crop", "E0011"),
    ],
)
def test_skip_rules(body, error):
    diagnostics = cnndsl.check_source("network T\ninput 32x32x8\n" + body.replace("; ", "\n"))
    assert [d.code for d in diagnostics if d.is_error] == ([error] if error else [])


def test_skips_inside_blocks_and_repeats_generate_and_run():
    text = """network T
input HxWx4 where H % 4 == 0, W % 4 == 0
block level(c) { keep top; conv c k3 p1 relu; pool 2; conv c k3 p1; upconv c k2 s2; cat top }
level 8
repeat 2 { keep r; conv 12 k3 p1; add r }
conv 2 k1
"""
    program = cnndsl.compile_source(text)
    assert program.typed.ok and not program.typed.diagnostics
    assert str(program.typed.output) == "HxWx2"
    model = program.module_class()().eval()
    for size in (4, 8, 20):
        assert model(torch.randn(2, 4, size, size)).shape == (2, 2, size, size)
