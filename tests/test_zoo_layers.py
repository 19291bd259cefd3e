"""The layers and options the torchvision zoo needs compute what PyTorch and torchvision compute, bit for bit.

One test per kind: the generated module (its own classes for the layers
PyTorch has no module for: LayerNorm2d, PixelwiseLinear, LayerScale,
StochasticDepth) against the reference op of torch or torchvision, with the
same weights, in eval mode (and in training mode where randomness or running
statistics are involved, under one seed). Then a ConvNeXt block written in
.cnn against torchvision's own `CNBlock`. torchvision is a test dependency
(tests/zoo_reference.py imports it); the generated code never imports it.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import cnndsl

from zoo_reference import torchvision_models


@pytest.fixture(scope="module")
def torchvision():
    torchvision_models()
    import torchvision

    import torchvision.models.convnext  # noqa: F401
    import torchvision.models.shufflenetv2  # noqa: F401
    import torchvision.ops  # noqa: F401

    return torchvision


def build(text: str):
    """The generated module for a program, its source, and its typed program."""
    program = cnndsl.compile_source(text, "layers.cnn")
    torch.manual_seed(0)
    return program.module_class()(), program.python_source, program.typed


def leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def randomise(model: nn.Module, seed: int = 1) -> None:
    """Every parameter random, so that no weight or bias is left at its identity value."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))


def test_the_generated_file_defines_only_the_helper_classes_it_uses_and_imports_only_torch():
    _, source, _ = build("input 8x8x4\nconv 8 k3 p1\nlayernorm eps=1e-6\nflatten\nlayernorm\n")
    assert "class LayerNorm2d(nn.LayerNorm)" in source
    assert source.count("class LayerNorm2d") == 1
    for other in ("PixelwiseLinear", "LayerScale", "StochasticDepth", "Residual"):
        assert f"class {other}" not in source
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import torch", "from torch import nn"]
    _, plain, _ = build("input 8x8x4\nconv 8 k3 p1\nbn\nflatten\nlayernorm\n")
    assert "class LayerNorm2d" not in plain


def test_every_helper_class_is_emitted_once_when_all_are_used():
    text = (
        "input 8x8x4\n"
        "residual { conv 4 k3 p1; layernorm; linear 8 pixelwise gelu; linear 4 pixelwise; layerscale 1e-6; stochdepth 0.1 }\n"
        "residual { layernorm; layerscale 0.5; stochdepth 0.2 batch }\n"
    )
    _, source, _ = build(text)
    for name in ("LayerNorm2d", "PixelwiseLinear", "LayerScale", "StochasticDepth", "Residual"):
        assert source.count(f"class {name}(") == 1, name
    assert "import torchvision" not in source and "from torchvision" not in source


# -- activations -------------------------------------------------------------


@pytest.mark.parametrize("name,reference", [("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid)])
def test_hard_activations_equal_torchs_and_run_in_place_after_a_conv(name, reference):
    model, source, typed = build(f"input 8x8x3\nconv 4 k3 {name}\n{name}\n")
    modules = [layer.module for layer in typed.layers]
    module = {"hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid"}[name]
    assert modules[1] == f"nn.{module}(inplace=True)"  # after the conv, as torchvision writes it
    assert modules[2] == f"nn.{module}()"  # after an activation: its output is still needed
    model.eval()
    x = torch.randn(2, 3, 8, 8) * 4
    conv = leaves(model)[0]
    assert torch.equal(model(x), reference(reference(conv(x))))
    # Training through the in-place activation works (autograd accepts it).
    model.train()
    model(x.requires_grad_()).sum().backward()


# -- batchnorm options -----------------------------------------------------------------


@pytest.mark.parametrize("options,eps,momentum", [("", 1e-5, 0.1), ("eps=0.001", 1e-3, 0.1), ("eps=1e-3 momentum=0.01", 1e-3, 0.01)])
def test_bn_options_are_pytorchs_and_written_only_when_not_the_defaults(options, eps, momentum):
    model, _, typed = build(f"input 6x6x5\nbn {options}\nflatten\nbn {options}\n")
    written = "".join(
        f", {key}={value!r}" for key, value, default in (("eps", eps, 1e-5), ("momentum", momentum, 0.1)) if value != default
    )
    assert [typed.layers[0].module, typed.layers[2].module] == [f"nn.BatchNorm2d(5{written})", f"nn.BatchNorm1d(180{written})"]
    norm, _, vector_norm = leaves(model)
    assert (norm.eps, norm.momentum, vector_norm.eps, vector_norm.momentum) == (eps, momentum, eps, momentum)
    reference = nn.BatchNorm2d(5, eps=eps, momentum=momentum)
    randomise(reference)
    norm.load_state_dict(reference.state_dict())
    x = torch.randn(4, 5, 6, 6)
    for mode in (True, False):  # training: the running statistics move by `momentum`
        reference.train(mode)
        norm.train(mode)
        assert torch.equal(norm(x), reference(x))
    assert torch.equal(norm.running_mean, reference.running_mean)
    assert torch.equal(norm.running_var, reference.running_var)


# -- layernorm -------------------------------------------------------------------


def test_layernorm_on_a_map_is_torchvisions_layernorm2d(torchvision):
    model, _, typed = build("input 7x5x6\nlayernorm eps=1e-6\n")
    assert typed.layers[0].module == "LayerNorm2d(6, eps=1e-06)"
    assert typed.total_params == 2 * 6
    ours = leaves(model)[0]
    reference = torchvision.models.convnext.LayerNorm2d(6, eps=1e-6)
    randomise(reference)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(3, 6, 7, 5)
    assert torch.equal(model.eval()(x), reference.eval()(x))


def test_layernorm_on_a_vector_is_nn_layernorm():
    model, _, typed = build("input 4x4x2\nflatten\nlayernorm\n")
    assert typed.layers[1].module == "nn.LayerNorm(32)"
    reference = nn.LayerNorm(32)
    randomise(reference)
    next(m for m in leaves(model) if isinstance(m, nn.LayerNorm)).load_state_dict(reference.state_dict())
    x = torch.randn(3, 2, 4, 4)
    assert torch.equal(model.eval()(x), reference(x.flatten(1)))


# -- linear pixelwise ------------------------------------------------------------


def test_pixelwise_linear_is_nn_linear_at_every_position():
    model, _, typed = build("input 5x3x6\nlinear 10 pixelwise\n")
    layer = typed.layers[0]
    assert layer.module == "PixelwiseLinear(6, 10)"
    assert str(layer.output) == "5x3x10"
    assert (layer.params, layer.macs) == (6 * 10 + 10, 5 * 3 * 6 * 10)
    ours = leaves(model)[0]
    assert ours.weight.shape == (10, 6)  # nn.Linear's, not a 1x1 convolution's (10, 6, 1, 1)
    reference = nn.Linear(6, 10)
    randomise(reference)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(2, 6, 5, 3)
    assert torch.equal(model.eval()(x), reference(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


# -- layerscale ------------------------------------------------------------------


def test_layerscale_is_a_learnable_per_channel_scale_initialised_to_init():
    model, _, typed = build("input 4x4x5\nlayerscale 1e-6\n")
    assert typed.layers[0].module == "LayerScale(5, 1e-06)" and typed.total_params == 5
    (scale,) = model.parameters()
    assert scale.shape == (5, 1, 1) and scale.requires_grad
    assert torch.equal(scale, torch.ones(5, 1, 1) * 1e-6)  # torchvision's ConvNeXt initialisation
    randomise(model)
    x = torch.randn(2, 5, 4, 4)
    assert torch.equal(model.eval()(x), scale * x)


# -- stochastic depth -------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochdepth_draws_as_torchvision_does(torchvision, p, mode):
    model, _, typed = build(f"input 3x3x4\nresidual {{ conv 4 k1; stochdepth {p} {mode} }}\n")
    ours = leaves(model)[-1]
    assert typed.layers[-1].module == f'StochasticDepth({p!r}, "{mode}")'
    x = torch.randn(64, 4, 3, 3)
    model.train()
    for seed in range(3):
        torch.manual_seed(seed)
        got = ours(x)
        after = torch.rand(1)  # the random state after the layer: the same draws were made
        torch.manual_seed(seed)
        expected = torchvision.ops.stochastic_depth(x, p, mode, training=True)
        assert torch.equal(got, expected)
        assert torch.equal(after, torch.rand(1))
    if 0 < p:
        torch.manual_seed(0)
        dropped = (ours(x).flatten(1) == 0).all(dim=1)
        assert dropped.any() and (mode == "batch") == dropped.all()  # whole samples (row) or the whole batch
    model.eval()
    assert ours(x) is x


def test_stochdepth_is_identity_in_eval_and_its_residual_is_torchvisions():
    model, _, _ = build("input 3x3x4\nresidual { conv 4 k3 p1; droppath 0.2 }\n")
    x = torch.randn(2, 4, 3, 3)
    conv = leaves(model)[0]
    assert torch.equal(model.eval()(x), conv(x) + x)


# -- shuffle ----------------------------------------------------------------------


@pytest.mark.parametrize("groups", [2, 3, 6])
def test_shuffle_is_torchvisions_channel_shuffle(torchvision, groups):
    model, _, typed = build(f"input 5x4x12\nshuffle {groups}\n")
    assert typed.layers[0].module == f"nn.ChannelShuffle({groups})"
    x = torch.randn(2, 12, 5, 4)
    assert torch.equal(model.eval()(x), torchvision.models.shufflenetv2.channel_shuffle(x, groups))


# -- a whole ConvNeXt block --------------------------------------------------------

CONVNEXT_BLOCKS = """\
input 14x14x{c}
repeat 2 {{
  residual {{
    conv {c} k7 p3 g{c}
    layernorm eps=1e-6
    linear {h} pixelwise gelu
    linear {c} pixelwise
    layerscale 1e-6
    stochdepth 0.1
  }}
}}
"""


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_convnext_blocks_equal_torchvisions_cnblocks_bit_for_bit(torchvision, layout):
    """Ours permutes around each layer, torchvision once around the group: the same numbers, bit for bit,
    in eval and in training (one seed), from either memory layout (ConvNeXt's stem leaves channels-last)."""
    channels = 16
    model, _, typed = build(CONVNEXT_BLOCKS.format(c=channels, h=4 * channels))
    reference = nn.Sequential(*(torchvision.models.convnext.CNBlock(channels, 1e-6, 0.1) for _ in range(2)))
    assert typed.total_params == sum(p.numel() for p in reference.parameters())
    randomise(reference)
    # torchvision registers each block's layer scale before its layers; the .cnn writes it last.
    theirs = []
    for block in reference:
        tensors = list(block.state_dict().values())
        theirs += tensors[1:] + tensors[:1]
    ours = model.state_dict()
    assert [tuple(t.shape) for t in theirs] == [tuple(t.shape) for t in ours.values()]
    model.load_state_dict(dict(zip(ours, theirs)))
    x = torch.randn(3, channels, 14, 14).contiguous(memory_format=layout)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), reference.eval()(x))
        model.train()
        reference.train()
        torch.manual_seed(5)
        trained = model(x)
        torch.manual_seed(5)
        assert torch.equal(trained, reference(x))


# -- the types -----------------------------------------------------------------


def test_static_parameters_and_macs_equal_pytorchs():
    from torch.utils.flop_counter import FlopCounterMode

    text = (
        "input 9x7x6\n"
        "conv 12 k3 p1 nobias; bn eps=0.001 momentum=0.01; hardswish\n"
        "shuffle 3\n"
        "residual { conv 12 k3 p1 g12; layernorm eps=1e-6; linear 24 pixelwise gelu; linear 12 pixelwise; layerscale 1e-6; stochdepth 0.1 }\n"
        "hardsigmoid\n"
        "avgpool to 1\nflatten\nlayernorm\nlinear 5\n"
    )
    model, _, typed = build(text)
    assert typed.ok
    assert sum(p.numel() for p in model.parameters()) == typed.total_params
    x = torch.randn(1, 6, 9, 7)
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            output = model.eval()(x)
    assert counter.get_total_flops() == 2 * typed.total_macs
    assert tuple(output.shape[1:]) == typed.output.torch_shape
