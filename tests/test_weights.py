"""cnndsl.transfer_weights: weights copied by structure, whatever the registration order.

Every test copies the weights of one module into another that computes the
same function but registers (or combines) its layers differently, then runs
both in eval mode on the same input: PyTorch is the oracle. BatchNorm running
statistics are made non-trivial first (zoo_reference.make_statistics_nontrivial),
so a swapped buffer would show in the outputs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from zoo_reference import make_statistics_nontrivial, torchvision_models

import cnndsl
from cnndsl.backend import weights

ATOL = 1e-5
ROOT = Path(__file__).resolve().parent.parent


def outputs_agree(source: nn.Module, target: nn.Module, size=(64, 64), batch=2, seed=1) -> float:
    """The largest |source(x) - target(x)| in eval mode (asserting the outputs are finite and not all equal)."""
    source.eval()
    target.eval()
    images = torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = source(images.clone())
        actual = target(images.clone())
    assert torch.isfinite(expected).all()
    assert expected.std() > 0, "a constant output would compare equal whatever the weights"
    return (actual - expected).abs().max().item()


def randomise(model: nn.Module, seed: int, size=(32, 32)) -> nn.Module:
    """Every parameter random, then BatchNorm statistics measured on random data (in eval mode after)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    make_statistics_nontrivial(model, seed, size=size)
    return model


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in model.state_dict().items()}


def conv_bn(channels_in: int, channels_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(channels_in, channels_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(channels_out),
    ]


# -- 1. torchvision's ResNet-18 into the zoo's ---------------------------------


def test_resnet18_from_torchvision_into_the_zoo_example():
    source = torchvision_models().resnet18()
    make_statistics_nontrivial(source, seed=0)
    target = cnndsl.load("examples/zoo/resnet18.cnn")()
    before = state_copy(target)

    report = cnndsl.transfer_weights(source, target)

    assert report.copied == len(source.state_dict()) == len(target.state_dict()) == 122
    assert any(not torch.equal(before[key], value) for key, value in target.state_dict().items())
    assert outputs_agree(source, target) <= ATOL


@pytest.mark.parametrize("example", ["examples/zoo/resnet18.cnn", "examples/resnet18.cnn"])
def test_when_the_orders_agree_the_pairs_are_the_positional_ones(example):
    source = torchvision_models().resnet18()
    target = cnndsl.load(example)()
    positional = list(zip(source.state_dict(), target.state_dict()))
    assert cnndsl.match_parameters(source, target) == positional
    assert positional[0] == ("conv1.weight", "features.0.weight")
    assert ("layer2.0.downsample.0.weight", "features.8.shortcut.0.weight") in positional


# The torchvision classification families of issue 13: the ten of examples/zoo and the nine to come.
TORCHVISION_FAMILIES = (
    "alexnet", "vgg11", "vgg16", "vgg16_bn", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
    "mobilenet_v2", "mnasnet1_0", "squeezenet1_1", "densenet121", "googlenet", "inception_v3",
    "shufflenet_v2_x1_0", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny",
)  # fmt: skip


def test_every_torchvision_family_traces_and_pairs_with_itself_entry_for_entry():
    # On the meta device (shapes only: matching never reads values). Two instances, so that no object is shared.
    models = torchvision_models()
    for name in TORCHVISION_FAMILIES:
        options = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
        # RegNet computes its widths with tensors and `.tolist()`, which the meta device cannot: on the CPU.
        with torch.device("cpu" if name == "regnet_y_400mf" else "meta"):
            first, second = getattr(models, name)(**options), getattr(models, name)(**options)
        keys = list(first.state_dict())
        assert cnndsl.match_parameters(first, second) == list(zip(keys, keys)), name


# -- 2. projection first, and a layer scale registered on the block -------------


class ProjectionFirst(nn.Module):
    """A residual block written as torchvision's RegNet writes it: projection registered first, `proj(x) + f(x)`."""

    def __init__(self, proj: nn.Module, f: nn.Module) -> None:
        super().__init__()
        self.proj = proj
        self.f = f
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.proj(x) + self.f(x))


class NestedProjectionFirst(nn.Module):
    """A residual block inside another's body, both projection first."""

    def __init__(self, widths=(8, 16, 24), classes=10) -> None:
        super().__init__()
        stem, inner, outer = widths
        self.stem = nn.Sequential(*conv_bn(3, stem, 3), nn.ReLU())
        block = ProjectionFirst(
            nn.Sequential(*conv_bn(stem, inner, 1, 2)),
            nn.Sequential(*conv_bn(stem, inner, 3, 2), nn.ReLU(), *conv_bn(inner, inner, 3)),
        )
        self.stage = ProjectionFirst(
            nn.Sequential(*conv_bn(stem, outer, 1, 2)), nn.Sequential(block, *conv_bn(inner, outer, 3))
        )
        self.head = nn.Linear(outer, classes)

    def forward(self, x):
        x = self.stage(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# The same network in .cnn: bodies first, as the language writes them.
NESTED_CNN = """
network Nested
input HxWx3
conv 8 k3 p1 nobias; bn; relu
residual {{
  residual {{
    conv {inner} k3 s2 p1 nobias; bn; relu
    conv 16 k3 p1 nobias; bn
  }} shortcut {{
    conv 16 k1 s2 nobias; bn
  }}
  relu
  conv 24 k3 p1 nobias{outer_bn}{extra}
}} shortcut {{
  conv 24 k1 s2 nobias; bn
}}
relu
avgpool to 1
flatten
linear 10
"""


def nested_cnn(inner: int = 16, outer_bn: bool = True, extra: bool = False) -> nn.Module:
    text = NESTED_CNN.format(
        inner=inner, outer_bn="; bn" if outer_bn else "", extra="\n  conv 24 k1 nobias" if extra else ""
    )
    return cnndsl.compile_source(text, filename="nested.cnn").module_class()()


def test_projection_first_blocks_nested_two_deep_into_a_cnn_program():
    source = randomise(NestedProjectionFirst(), seed=2)
    target = nested_cnn()
    positional = list(zip(source.state_dict(), target.state_dict()))
    pairs = cnndsl.match_parameters(source, target)

    # Registration orders differ (projection first against body first): position matching pairs wrongly.
    assert pairs != positional
    assert ("stage.proj.0.weight", "features.3.shortcut.0.weight") in pairs
    assert ("stage.f.0.proj.1.running_var", "features.3.body.0.shortcut.1.running_var") in pairs
    assert ("stage.f.0.f.0.weight", "features.3.body.0.body.0.weight") in pairs
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(16, 16)) <= ATOL


class ScaleFirst(nn.Module):
    """A ConvNeXt-like block: its own per-channel scale registered before its layers, `x + scale * f(x)`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.randn(channels, 1, 1))
        self.f = nn.Sequential(*conv_bn(channels, channels, 3), nn.GELU(), nn.Conv2d(channels, channels, 1))

    def forward(self, x):
        return x + self.layer_scale * self.f(x)


class ScaleLast(nn.Module):
    """The same function: layers first, the scale registered last, `f(x) * scale + x`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_bn(channels, channels, 3), nn.GELU(), nn.Conv2d(channels, channels, 1))
        self.gamma = nn.Parameter(torch.ones(channels, 1, 1))

    def forward(self, x):
        return self.body(x) * self.gamma + x


class LayerScale(nn.Module):
    """A per-channel scale as a module of its own (as a generated `layerscale` layer could be)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels, 1, 1))

    def forward(self, x):
        return x * self.scale


class ScaleModule(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(channels, channels, 3), nn.GELU(), nn.Conv2d(channels, channels, 1), LayerScale(channels)
        )

    def forward(self, x):
        return self.body(x) + x


def scaled_network(block: type[nn.Module]) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), block(8), nn.MaxPool2d(2), nn.Conv2d(8, 16, 1), block(16),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5),
    )  # fmt: skip


@pytest.mark.parametrize("target_block", [ScaleLast, ScaleModule])
def test_a_layer_scale_registered_on_the_block_goes_to_the_scale_used_at_the_same_place(target_block):
    source = randomise(scaled_network(ScaleFirst), seed=3)
    target = scaled_network(target_block)
    pairs = dict(cnndsl.match_parameters(source, target))
    scale = "1.gamma" if target_block is ScaleLast else "1.body.4.scale"
    assert pairs["1.layer_scale"] == scale
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(16, 16)) <= ATOL


class ReorderedCNBlock(nn.Module):
    """torchvision's ConvNeXt block, written again: layer scale last and a module of its own, `block(x) + x`."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.expand = nn.Linear(dim, 4 * dim)
        self.project = nn.Linear(4 * dim, dim)
        self.scale = LayerScale(dim)

    def forward(self, x):
        y = self.depthwise(x).permute(0, 2, 3, 1)
        y = self.project(F.gelu(self.expand(self.norm(y))))
        return self.scale(y.permute(0, 3, 1, 2)) + x


def test_torchvision_convnext_block_into_a_reordered_one():
    convnext = torchvision_models().convnext
    source = nn.Sequential(nn.Conv2d(3, 16, 4, 4), convnext.CNBlock(16, layer_scale=0.5, stochastic_depth_prob=0.0))
    randomise(source, seed=4)
    target = nn.Sequential(nn.Conv2d(3, 16, 4, 4), ReorderedCNBlock(16))
    assert next(iter(source[1].state_dict())) == "layer_scale"  # registered before the block's layers
    assert dict(cnndsl.match_parameters(source, target))["1.layer_scale"] == "1.scale.scale"
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(32, 32)) <= ATOL


# -- 3. torchvision's RegNetY-400MF into a re-implementation with other orders -------


class SqueezeExcite(nn.Module):
    """torchvision's SqueezeExcitation, its layers registered in the other order and `x * gate`."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.reduce = nn.Conv2d(channels, squeezed, 1)

    def forward(self, x):
        gate = self.expand(F.relu(self.reduce(F.adaptive_avg_pool2d(x, 1))))
        return x * torch.sigmoid(gate)


class Bottleneck(nn.Module):
    """torchvision's ResBottleneckBlock with the body registered before the projection, and `f(x) + proj(x)`."""

    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int, se_ratio: float) -> None:
        super().__init__()
        groups = width_out // group_width
        self.f = nn.Sequential(
            *conv_bn(width_in, width_out, 1), nn.ReLU(),
            *conv_bn(width_out, width_out, 3, stride, groups), nn.ReLU(),
            SqueezeExcite(width_out, int(round(se_ratio * width_in))),
            *conv_bn(width_out, width_out, 1),
        )  # fmt: skip
        self.proj = (
            nn.Sequential(*conv_bn(width_in, width_out, 1, stride)) if stride != 1 or width_in != width_out else None
        )

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return F.relu(self.f(x) + shortcut)


class RegNetY400MF(nn.Module):
    """RegNetY-400MF as torchvision builds it (widths, depths, groups, SE), classifier registered first."""

    WIDTHS = (48, 104, 208, 440)
    DEPTHS = (1, 3, 6, 6)

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.classifier = nn.Linear(self.WIDTHS[-1], classes)
        blocks = []
        width = 32
        for width_out, depth in zip(self.WIDTHS, self.DEPTHS):
            for index in range(depth):
                blocks.append(Bottleneck(width, width_out, 2 if index == 0 else 1, group_width=8, se_ratio=0.25))
                width = width_out
        self.blocks = nn.Sequential(*blocks)
        self.stem = nn.Sequential(*conv_bn(3, 32, 3, 2), nn.ReLU())

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def test_regnet_y_400mf_into_a_reimplementation_with_body_before_projection():
    source = torchvision_models().regnet_y_400mf()
    make_statistics_nontrivial(source, seed=5)
    target = RegNetY400MF()
    pairs = dict(cnndsl.match_parameters(source, target))
    assert pairs["trunk_output.block1.block1-0.proj.0.weight"] == "blocks.0.proj.0.weight"
    assert pairs["trunk_output.block1.block1-0.f.se.fc1.weight"] == "blocks.0.f.6.reduce.weight"
    assert pairs["fc.bias"] == "classifier.bias"
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, batch=1) <= ATOL


# -- 4. differences are errors, and nothing is copied ------------------------------


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            {"inner": 12},
            "source `stage.f.0.f.0` (Conv2d: weight (16, 8, 3, 3)) vs target `features.3.body.0.body.0` "
            "(Conv2d: weight (12, 8, 3, 3))",
        ),
        ({"outer_bn": False}, "source `stage.f.2` (BatchNorm2d: weight (24,), bias (24,)"),
        (
            {"extra": True},
            "target `features.3.body.4` (Conv2d: weight (24, 24, 1, 1)) has no counterpart in the source",
        ),
    ],
    ids=["other channel count", "missing layer", "extra layer"],
)
def test_a_different_structure_is_refused_with_the_first_difference_and_the_target_untouched(variant, expected):
    source = randomise(NestedProjectionFirst(), seed=6)
    target = nested_cnn(**variant)
    before = state_copy(target)
    with pytest.raises(cnndsl.WeightTransferError) as caught:
        cnndsl.transfer_weights(source, target)
    message = str(caught.value)
    assert "differ in structure" in message and "nothing was copied" in message
    assert expected in caught.value.problems[0], message
    after = target.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_the_error_lists_every_difference_and_shows_the_first_few():
    source = randomise(NestedProjectionFirst(), seed=6)
    target = NestedProjectionFirst(widths=(8, 12, 20))
    with pytest.raises(weights.WeightTransferError) as caught:
        cnndsl.transfer_weights(source, target)
    problems = caught.value.problems
    assert len(problems) > weights.SHOWN
    assert str(caught.value).count("\n  ") == weights.SHOWN + 1  # the first SHOWN, then "... and N more"
    assert f"and {len(problems) - weights.SHOWN} more" in str(caught.value)


def test_the_differences_are_a_shortest_edit_script():
    # ResNet-34 is ResNet-18 with more blocks: the report names the first extra block, not a shifted run.
    models = torchvision_models()
    with pytest.raises(cnndsl.WeightTransferError) as caught:
        cnndsl.match_parameters(models.resnet18(), models.resnet34())
    problems = caught.value.problems
    assert problems[0].startswith("target `layer1.2.conv1` (Conv2d: weight (64, 64, 3, 3)) has no counterpart")
    assert len(problems) == 32  # 8 more blocks of 2 convolutions and 2 BatchNorms
    assert all("has no counterpart in the source" in problem for problem in problems)


def test_very_long_differences_are_aligned_by_difflib(monkeypatch):
    monkeypatch.setattr(weights, "EDIT_CELLS", 0)
    with pytest.raises(cnndsl.WeightTransferError) as caught:
        cnndsl.match_parameters(NestedProjectionFirst(), nested_cnn(outer_bn=False))
    assert caught.value.problems[0].startswith("source `stage.f.2` (BatchNorm2d: weight (24,)")


class Twice(nn.Module):
    """One convolution applied twice (`shared`), or two convolutions of the same shape."""

    def __init__(self, shared: bool) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 3, 3, padding=1)
        self.second = self.first if shared else nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


@pytest.mark.parametrize(("source_shared", "target_shared"), [(True, False), (False, True)])
def test_weights_shared_on_one_side_only_are_refused(source_shared, target_shared):
    target = Twice(target_shared)
    before = state_copy(target)
    with pytest.raises(cnndsl.WeightTransferError, match="shared differently"):
        cnndsl.transfer_weights(Twice(source_shared), target)
    assert all(torch.equal(before[key], value) for key, value in target.state_dict().items())


def test_weights_shared_on_both_sides_transfer():
    source, target = Twice(shared=True), Twice(shared=True)
    # state_dict lists the shared convolution under both names; each target name is paired.
    assert cnndsl.match_parameters(source, target) == [
        ("first.weight", "first.weight"),
        ("first.bias", "first.bias"),
        ("first.weight", "second.weight"),
        ("first.bias", "second.bias"),
    ]
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(8, 8)) == 0


def test_units_connected_differently_are_refused_with_where():
    class Chain(nn.Module):
        def __init__(self, residual: bool) -> None:
            super().__init__()
            self.residual = residual
            self.c = nn.Conv2d(3, 3, 3, padding=1)
            self.d = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            y = self.c(x)
            return self.d(y + x if self.residual else y)

    with pytest.raises(cnndsl.WeightTransferError) as caught:
        cnndsl.match_parameters(Chain(residual=True), Chain(residual=False))
    assert caught.value.problems == (
        "the units agree but are connected differently: `d` takes an add of 2 paths in the source "
        "and `c` (Conv2d: weight (3, 3, 3, 3), bias (3,)) in the target",
    )


def test_joins_connected_differently_are_refused():
    class Cat(nn.Module):
        def __init__(self, swapped: bool) -> None:
            super().__init__()
            self.swapped = swapped
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            parts = [self.b(x), self.a(x)] if self.swapped else [self.a(x), self.b(x)]
            return torch.cat(parts, dim=1)

    with pytest.raises(cnndsl.WeightTransferError) as caught:
        cnndsl.match_parameters(Cat(swapped=False), Cat(swapped=True))
    (problem,) = caught.value.problems
    assert "have the same shapes but are connected at different places" in problem
    assert "source `a` (Conv2d: weight (4, 3, 1, 1), bias (4,)) and target `a`" in problem
    assert cnndsl.match_parameters(Cat(swapped=False), Cat(swapped=False))[0] == ("a.weight", "a.weight")


class Affine(nn.Module):
    """A per-channel affine map with its own names for its two same-shaped parameters (kept whole: a unit)."""

    def __init__(self, channels: int, names: tuple[str, str]) -> None:
        super().__init__()
        self.names = names
        for name in names:
            setattr(self, name, nn.Parameter(torch.randn(channels, 1, 1)))

    def forward(self, x):
        return x * getattr(self, self.names[0]) + getattr(self, self.names[1])


def test_tensors_whose_names_and_shapes_do_not_tell_which_is_which_are_refused():
    source = nn.Sequential(nn.Conv2d(3, 4, 1), Affine(4, ("gain", "shift")))
    target = nn.Sequential(nn.Conv2d(3, 4, 1), Affine(4, ("weight", "bias")))
    with pytest.raises(cnndsl.WeightTransferError, match="names do not say which is which") as caught:
        cnndsl.transfer_weights(source, target)
    assert "source `1` (Affine: gain (4, 1, 1), shift (4, 1, 1))" in caught.value.problems[0]
    same_names = nn.Sequential(nn.Conv2d(3, 4, 1), Affine(4, ("gain", "shift")))
    assert ("1.shift", "1.shift") in cnndsl.match_parameters(source, same_names)


class ThreePaths(nn.Module):
    """Three convolutions of the input summed, grouped as `grouping` says."""

    def __init__(self, grouping: str) -> None:
        super().__init__()
        self.grouping = grouping
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1)
        self.c = nn.Conv2d(3, 4, 5, padding=2)

    def forward(self, x):
        a, b, c = self.a(x), self.b(x), self.c(x)
        if self.grouping == "(a+b)+c":
            return (a + b) + c
        if self.grouping == "c+(b+a)":
            return c + (b + a)
        if self.grouping == "relu(a+b)+c":
            return torch.relu(a + b) + c
        return a + torch.relu(b + c)


def test_a_sum_is_one_join_however_it_is_grouped():
    source = randomise(ThreePaths("(a+b)+c"), seed=10, size=(8, 8))
    target = ThreePaths("c+(b+a)")
    assert [(s, t) for s, t in cnndsl.match_parameters(source, target) if s != t] == []
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL


def test_a_sum_through_an_activation_is_not_regrouped():
    with pytest.raises(cnndsl.WeightTransferError):
        cnndsl.match_parameters(ThreePaths("relu(a+b)+c"), ThreePaths("a+relu(b+c)"))


class Bilinear(nn.Module):
    """Two paths combined by a stateless torch.nn module (PairwiseDistance: a leaf of fx), under a given attribute name."""

    def __init__(self, name: str, swapped: bool = False) -> None:
        super().__init__()
        self.name, self.swapped = name, swapped
        self.p = nn.Conv2d(3, 4, 1)
        self.q = nn.Conv2d(3, 4, 3, padding=1)
        setattr(self, name, nn.PairwiseDistance())

    def forward(self, x):
        p, q = self.p(x), self.q(x)
        return getattr(self, self.name)(q, p) if self.swapped else getattr(self, self.name)(p, q)


def test_an_operation_combining_two_paths_keeps_its_operand_order():
    source = randomise(Bilinear("distance"), seed=11, size=(8, 8))
    target = Bilinear("measure")
    assert cnndsl.match_parameters(source, target)[0] == ("p.weight", "p.weight")
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL
    with pytest.raises(cnndsl.WeightTransferError):
        cnndsl.match_parameters(source, Bilinear("distance", swapped=True))


class WithUnusedHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(*conv_bn(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.auxiliary = nn.Linear(4, 7)  # never called
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.features(x))


def test_unused_weights_are_an_error_unless_strict_is_false():
    source = randomise(WithUnusedHead(), seed=7)
    target = nn.Sequential(*conv_bn(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    before = state_copy(target)
    with pytest.raises(cnndsl.WeightTransferError, match="source `auxiliary.weight` is not used"):
        cnndsl.transfer_weights(source, target)
    assert all(torch.equal(before[key], value) for key, value in target.state_dict().items())
    report = cnndsl.transfer_weights(source, target, strict=False)
    assert report.unused_source == ("auxiliary.weight", "auxiliary.bias")
    assert report.unused_target == ()
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL


def test_a_module_that_cannot_be_traced_is_refused_with_the_reason():
    class DataDependent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.conv(x) if x.sum() > 0 else x

    target = DataDependent()
    with pytest.raises(cnndsl.WeightTransferError, match="cannot trace the source") as caught:
        cnndsl.transfer_weights(DataDependent(), target)
    assert "control flow depends on tensor values" in str(caught.value)


# -- ties: structurally identical paths --------------------------------------------


class SharedPaths(nn.Module):
    """`cat(a(u) + b(v), u)`: a and b look alike, but only one of them reads u, which the output reads too.

    Pairing the two added paths the wrong way round pairs u with v and then
    u again with u: the matcher must try the other assignment.
    """

    def __init__(self, added_in_order: bool) -> None:
        super().__init__()
        self.added_in_order = added_in_order
        self.u = nn.Conv2d(3, 4, 3, padding=1)
        self.v = nn.Conv2d(3, 4, 3, padding=1)
        self.a = nn.Conv2d(4, 4, 1)
        self.b = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        u, v = self.u(x), self.v(x)
        total = self.a(u) + self.b(v) if self.added_in_order else self.b(v) + self.a(u)
        return torch.cat([total, u], dim=1).mean(dim=(2, 3))


def test_identical_paths_that_share_an_input_are_paired_consistently():
    source = randomise(SharedPaths(added_in_order=True), seed=8)
    target = SharedPaths(added_in_order=False)
    assert {pair[0]: pair[1] for pair in cnndsl.match_parameters(source, target)}["a.weight"] == "a.weight"
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL


# -- 5. property: any registration order ----------------------------------------


class Block(nn.Module):
    """A residual block whose parts are registered in a given order and whose joins take a given operand order.

    parts: "f" (conv-bn-relu-conv-bn), optionally "proj" (1x1 conv-bn), "scale"
    (a per-channel parameter on the block) and "twin" (a second body of the
    same shape, added to the first: a tie).
    """

    def __init__(
        self, channels_in: int, channels: int, stride: int, scale: bool, twin: bool, order: list[str], flips: list[bool]
    ) -> None:
        super().__init__()
        self.flips = flips
        parts = {
            "f": lambda: nn.Sequential(
                *conv_bn(channels_in, channels, 3, stride), nn.ReLU(), *conv_bn(channels, channels, 3)
            ),
            "proj": lambda: nn.Sequential(*conv_bn(channels_in, channels, 1, stride)),
            "twin": lambda: nn.Sequential(
                *conv_bn(channels_in, channels, 3, stride), nn.ReLU(), *conv_bn(channels, channels, 3)
            ),
            "scale": lambda: nn.Parameter(torch.ones(channels, 1, 1)),
        }
        wanted = {"f", "proj"} if stride != 1 or channels_in != channels else {"f"}
        wanted |= {"scale"} if scale else set()
        wanted |= {"twin"} if twin else set()
        for name in order:
            if name in wanted:
                setattr(self, name, parts[name]())
        for name in ("proj", "scale", "twin"):
            if name not in wanted:
                setattr(self, name, None)

    def forward(self, x):
        body = self.f(x)
        if self.twin is not None:
            body = self.twin(x) + body if self.flips[0] else body + self.twin(x)
        if self.scale is not None:
            body = self.scale * body if self.flips[1] else body * self.scale
        shortcut = x if self.proj is None else self.proj(x)
        return F.relu(shortcut + body if self.flips[2] else body + shortcut)


class Family(nn.Module):
    def __init__(self, design, layout) -> None:
        super().__init__()
        orders, flips, head_first = layout
        if head_first:
            self.head = nn.Linear(design[-1][0], 3)
        self.stem = nn.Sequential(*conv_bn(3, 4, 3), nn.ReLU())
        blocks, channels = [], 4
        for index, (width, stride, scale, twin) in enumerate(design):
            blocks.append(Block(channels, width, stride, scale, twin, orders[index], flips[index]))
            channels = width
        self.blocks = nn.Sequential(*blocks)
        if not head_first:
            self.head = nn.Linear(channels, 3)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


designs = st.lists(
    st.tuples(st.sampled_from([4, 6, 8]), st.sampled_from([1, 2]), st.booleans(), st.booleans()), min_size=1, max_size=3
)


def layouts(count: int):
    order = st.permutations(["f", "proj", "scale", "twin"])
    flips = st.lists(st.booleans(), min_size=3, max_size=3)
    return st.tuples(
        st.lists(order, min_size=count, max_size=count), st.lists(flips, min_size=count, max_size=count), st.booleans()
    )


@settings(max_examples=25)
@given(data=st.data(), design=designs, seed=st.integers(0, 2**16))
def test_property_any_registration_and_operand_order_transfers(data, design, seed):
    source = Family(design, data.draw(layouts(len(design)), label="source layout"))
    target = Family(design, data.draw(layouts(len(design)), label="target layout"))
    randomise(source, seed, size=(8, 8))
    report = cnndsl.transfer_weights(source, target)
    assert report.copied == len(source.state_dict())
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL


def test_the_property_oracle_sees_one_swapped_pair():
    # The outputs tell a right transfer from one with two same-shaped tensors swapped.
    design = [(6, 2, True, True)]
    source = randomise(
        Family(design, ([["scale", "twin", "proj", "f"]], [[True, False, True]], True)), seed=9, size=(8, 8)
    )
    target = Family(design, ([["f", "proj", "twin", "scale"]], [[False, True, False]], False))
    cnndsl.transfer_weights(source, target)
    assert outputs_agree(source, target, size=(8, 8)) <= ATOL
    block = target.blocks[0]
    with torch.no_grad():
        first, second = block.f[1].running_mean, block.f[4].running_mean
        first_value = first.clone()
        first.copy_(second)
        second.copy_(first_value)
    assert outputs_agree(source, target, size=(8, 8)) > 100 * ATOL


# -- the interface ----------------------------------------------------------------


def test_the_package_exports_it_lazily():
    assert cnndsl.transfer_weights is weights.transfer_weights
    assert cnndsl.match_parameters is weights.match_parameters
    assert issubclass(cnndsl.WeightTransferError, ValueError)
    assert {"transfer_weights", "match_parameters", "WeightTransferError", "TransferReport"} <= set(cnndsl.__all__)


def test_the_readme_example_runs_and_shows_the_pairs_it_gives(monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "transfer_weights" in block]
    # Without downloading: the same model, randomly initialised.
    assert 'weights="DEFAULT"' in snippet
    snippet = snippet.replace('weights="DEFAULT"', "weights=None")
    torchvision_models()  # imports torchvision on this machine (see zoo_reference)
    monkeypatch.chdir(ROOT)
    namespace = {"cnndsl": cnndsl}
    exec(compile(snippet, "README.md", "exec"), namespace)
    last = snippet.strip().splitlines()[-1]
    shown = ast.literal_eval(last.split("#", 1)[1].strip())
    assert eval(last.split("#", 1)[0], namespace) == shown
    assert namespace["report"].copied == 122
