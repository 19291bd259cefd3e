"""examples/zoo/NAME.cnn is torchvision.models.NAME, exactly.

For each of the nineteen families (tests/zoo_reference.py has the harness):

- the parameter count: torchvision's = ours at run time = cnnc's static total
  = the one the file's header comment states (on the meta device: free);
- the structure: torchvision's state_dict copies into ours entry by entry,
  every shape, dtype and kind agreeing (meta device);
- the sizes: cnnc's computed smallest input is torchvision's documented
  `min_size`, and at an odd size (97x131) every convolution, BatchNorm,
  activation, max pooling and linear layer has, in cnnc's static types
  (`cnnc summary --format json --size`), the shape torchvision's layer
  produces at run time, and so has the output (meta device);
- the numbers: with torchvision's weights, non-trivial BatchNorm statistics
  and all, our module's outputs equal torchvision's within 1e-5 in eval mode
  at 224x224, at 97x131 and at the smallest size.

torchvision is a test dependency: without it these tests fail (they do not
skip). The comparisons of the largest models (VGG, Wide ResNet) are marked
slow; they still run in the default suite, `-m "not slow"` leaves them out
locally (about 22 s instead of 32-41 s on two cores; peak memory about 2 GB,
two copies of VGG-16).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch
from zoo_reference import (
    ATOL,
    FAMILIES,
    ZOO_DIR,
    build_ours,
    build_reference,
    COMPARED_KINDS,
    ORDER_DIFFERS,
    cnn_path,
    cnnc,
    compare_outputs,
    count_parameters,
    min_size,
    our_class,
    runtime_layers,
    stated_parameters,
    static_layers,
    static_summary,
    torchvision_models,
    transfer_weights,
)

# A size that is odd in both axes and not square, so that every rounding
# (floor division, padded strides, adaptive pooling's uneven windows) shows.
ODD_SIZE = (97, 131)

# The families whose output comparison takes seconds (two copies of 60-140
# million parameters); the others take a fraction of a second each.
HEAVY = {"vgg11", "vgg16", "vgg16_bn", "wide_resnet50_2", "densenet121", "inception_v3", "convnext_tiny"}

# Layers that some families compute with a function rather than a module
# (GoogLeNet's and Inception v3's F.relu, Inception v3's F.max_pool2d,
# DenseNet's last F.relu): no hook sees them, so they are left out of the
# comparison of static and runtime shapes for that family.
FUNCTIONAL = {
    "googlenet": {"relu"},
    "inception_v3": {"relu", "pool"},
    "densenet121": {"relu"},
}

# The warnings a family's file gets because torchvision's network has the
# same property, each explained in the file: strides that leave rows unread
# at some sizes (W0001), ConvNeXt's first block's stochastic depth of
# probability 0 (W0002). Every other file checks without a diagnostic.
INHERENT_WARNINGS = {
    "alexnet": {"W0001"},
    "vgg11": {"W0001"},
    "vgg16": {"W0001"},
    "vgg16_bn": {"W0001"},
    "squeezenet1_1": {"W0001"},
    "densenet121": {"W0001"},
    "inception_v3": {"W0001"},
    "convnext_tiny": {"W0001", "W0002"},
}


def heavy_marked(names):
    return [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in names]


def test_torchvision_is_importable():
    """The zoo tests need torchvision: if this fails, install the dev extra (they never skip)."""
    models = torchvision_models()
    assert all(callable(getattr(models, name)) for name in FAMILIES)


def test_the_product_never_imports_torchvision():
    code = (
        "import sys, cnndsl\n"
        f"Net = cnndsl.load({str(cnn_path('resnet18'))!r})\n"
        "Net()\n"
        f"cnndsl.check_source(open({str(cnn_path('vgg16_bn'))!r}).read(), filename='vgg16_bn.cnn')\n"
        "assert not [m for m in sys.modules if m.startswith('torchvision')], 'cnndsl imported torchvision'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_zoo_holds_exactly_the_families():
    assert sorted(path.stem for path in ZOO_DIR.glob("*.cnn")) == sorted(FAMILIES)


def test_the_examples_check_and_are_canonical():
    """`cnnc check` finds no error, and no warning but those the file itself explains; `cnnc fmt --check` passes."""
    paths = [cnn_path(name) for name in FAMILIES]
    result = cnnc("check", "--format", "json", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    seen: dict[str, set[str]] = {}
    for diagnostic in json.loads(result.stdout):
        seen.setdefault(diagnostic["file"].rsplit("/", 1)[-1].removesuffix(".cnn"), set()).add(diagnostic["code"])
    assert seen == INHERENT_WARNINGS
    for name, codes in INHERENT_WARNINGS.items():
        for code in codes:
            assert code in cnn_path(name).read_text(encoding="utf-8"), f"{name}.cnn should say why it warns {code}"
    result = cnnc("fmt", "--check", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", FAMILIES)
def test_parameter_count_is_torchvisions(name):
    with torch.device("meta"):
        reference = count_parameters(build_reference(name))
        ours = count_parameters(build_ours(name))
    assert ours == reference
    assert static_summary(name)["total_params"] == reference
    assert stated_parameters(name) == reference


@pytest.mark.parametrize("name", [name for name in FAMILIES if name not in ORDER_DIFFERS])
def test_torchvisions_state_transfers_entry_by_entry(name):
    with torch.device("meta"):
        reference = build_reference(name)
        ours = build_ours(name)
    copied = transfer_weights(reference, ours)
    assert copied == len(reference.state_dict()) == len(ours.state_dict())
    buffers = sum(1 for key in ours.state_dict() if key.endswith("num_batches_tracked"))
    assert buffers == sum(1 for module in reference.modules() if isinstance(module, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("name", sorted(ORDER_DIFFERS))
def test_torchvisions_state_transfers_by_structure(name):
    """RegNet and ConvNeXt register parameters in another order than ours: cnndsl.transfer_weights pairs them all."""
    import cnndsl

    with torch.device("meta"):
        reference = build_reference(name)
        ours = build_ours(name)
    with pytest.raises(ValueError, match="structure mismatch"):
        transfer_weights(reference, ours)  # entry by entry: the orders differ
    report = cnndsl.transfer_weights(reference, ours)
    assert len(report.pairs) == len(reference.state_dict()) == len(ours.state_dict())


def test_a_structure_mismatch_is_refused():
    with torch.device("meta"):
        with pytest.raises(ValueError, match="the structures differ"):
            transfer_weights(build_reference("resnet18"), build_ours("resnet50"))
        with pytest.raises(ValueError, match="structure mismatch: torchvision's layer1.0.conv1.weight"):
            transfer_weights(build_reference("resnext50_32x4d"), build_ours("resnet50"))


@pytest.mark.parametrize("name", FAMILIES)
def test_smallest_size_is_torchvisions_min_size(name):
    height, width = min_size(name)
    symbols = static_summary(name)["symbols"]
    assert (symbols["H"]["bound"], symbols["W"]["bound"]) == (height, width)
    assert not symbols["H"]["given"] and not symbols["W"]["given"]  # computed by cnnc, not written in the file
    assert our_class(name).smallest_input_shape == (3, height, width)


@pytest.mark.parametrize("name", FAMILIES)
def test_static_shapes_are_torchvisions_runtime_shapes(name):
    instance = static_summary(name, ODD_SIZE)
    with torch.device("meta"):
        reference = build_reference(name)
    layers, output = runtime_layers(reference, ODD_SIZE)
    kinds = COMPARED_KINDS - FUNCTIONAL.get(name, set())
    layers = [layer for layer in layers if layer[0] in kinds]
    if name in ORDER_DIFFERS:  # RegNet runs a block's projection before its body; we write it after
        assert sorted(static_layers(instance, kinds)) == sorted(layers)
    else:
        assert static_layers(instance, kinds) == layers
    assert tuple(instance["output"]) == output == (1000,)


@pytest.mark.parametrize("name", heavy_marked(FAMILIES))
def test_outputs_are_torchvisions(name):
    sizes = [(224, 224), ODD_SIZE, min_size(name)]
    if name == "inception_v3":
        sizes.append((299, 299))  # the size it was trained at
    differences = compare_outputs(name, sizes)
    assert max(differences.values()) <= ATOL, differences


@pytest.mark.parametrize("name", ["resnext50_32x4d", "mobilenet_v2", "mnasnet1_0", "vgg16_bn"])
def test_cnnc_build_writes_the_same_module(name, tmp_path):
    """`cnnc build --no-verify -o OUT.py` writes a module that imports alone and has torchvision's structure."""
    out = tmp_path / f"zoo_{name}.py"
    result = cnnc("build", cnn_path(name), "--no-verify", "-o", out)
    assert result.returncode == 0, result.stderr
    spec = importlib.util.spec_from_file_location(out.stem, out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = getattr(module, our_class(name).__name__)
    with torch.device("meta"):
        reference = build_reference(name)
        ours = built()
    assert transfer_weights(reference, ours) == len(reference.state_dict())
    assert count_parameters(ours) == count_parameters(reference)
