"""Reference harness: examples/zoo/*.cnn against torchvision's own classifiers.

Each `examples/zoo/NAME.cnn` claims to be `torchvision.models.NAME`, exactly.
This module gives the tests (tests/test_zoo.py) what they need to hold it to
that claim:

- `torchvision_models()`: `torchvision.models`, imported so that it works
  with any torchvision build (see its docstring). torchvision is a test
  dependency (the `dev` extra); the product, `cnndsl/`, never imports it. If
  it is missing, this raises: the zoo tests fail, they never skip.
- `build_reference(name)` and `build_ours(name)`: torchvision's model with
  `weights=None`, and ours from `cnndsl.load`.
- `make_statistics_nontrivial(model, seed)`: random biases and BatchNorm
  affine parameters, and running statistics measured on random data, so that
  an eval-mode comparison exercises every parameter and buffer.
- `transfer_weights(source, target)`: copies torchvision's parameters and
  buffers into ours by structure (state_dict order), refusing any mismatch.
- `compare_outputs(name, sizes)`: all of the above, then the largest absolute
  difference between the two models' outputs in eval mode at each size.
- `static_summary(name, size)` and `runtime_layers(model, size)`: the layer
  types `cnnc summary --format json --size HxW` states, and the shapes
  torchvision's layers produce at run time (on the meta device: no compute).

Everything here goes through cnndsl's public interface (`cnndsl.load` and
the `cnnc` command), never its internals.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

import cnndsl

ROOT = Path(__file__).resolve().parent.parent
ZOO_DIR = ROOT / "examples" / "zoo"

# The torchvision.models functions that the language expresses exactly; each
# is examples/zoo/<name>.cnn.
FAMILIES = (
    "alexnet",
    "vgg11",
    "vgg16",
    "vgg16_bn",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "mobilenet_v2",
    "mnasnet1_0",
    "squeezenet1_1",
    "densenet121",
    "googlenet",
    "inception_v3",
    "shufflenet_v2_x1_0",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "regnet_y_400mf",
    "convnext_tiny",
)

# Arguments torchvision's builder needs to build the network the file
# describes: GoogLeNet's and Inception v3's auxiliary classifiers run only in
# training and are left out (as `aux_logits=False` does); their slow default
# initialisation is skipped (it changes no structure).
BUILD_ARGUMENTS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}

# Families whose builder computes its widths with tensor arithmetic
# (RegNet's BlockParams), which fails on the meta device: built on the CPU
# (4 million parameters: cheap), then moved to the device asked for.
BUILT_ON_CPU = frozenset({"regnet_y_400mf"})

# Families whose parameters torchvision registers in another order than the
# one its forward pass uses them in (RegNet: a block's projection before its
# body; ConvNeXt: a block's layer scale before its layers). Their weights are
# copied with cnndsl.transfer_weights, which matches by structure; the others
# also entry by entry, in state_dict order.
ORDER_DIFFERS = frozenset({"regnet_y_400mf", "convnext_tiny"})

# The largest difference allowed between torchvision's output and ours.
ATOL = 1e-5

# torchvision's detection ops, which its Python code registers fake (meta)
# kernels for at import time; all take and return the same.
_TORCHVISION_OPS = ("nms", "qnms")
_TORCHVISION_OP_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


def cnn_path(name: str) -> Path:
    """examples/zoo/NAME.cnn."""
    return ZOO_DIR / f"{name}.cnn"


# -- torchvision --------------------------------------------------------------


@functools.cache
def torchvision_models() -> ModuleType:
    """Import and return `torchvision.models`, whichever torchvision is installed.

    `import torchvision` registers fake kernels for its compiled operators
    `torchvision::nms` and `torchvision::qnms`. When its compiled extension
    does not load (a CUDA build of torchvision next to a CPU build of torch,
    as on the project machines), those operators do not exist and the import
    fails with "operator torchvision::nms does not exist". Declaring the two
    schemas first lets the import through; the classification models use no
    compiled operator, so nothing else is missing.

    A torchvision whose extension loads defines the operators itself, and
    declaring them first could clash with it; so the plain import comes first
    and the schemas are declared only when it fails for that reason.

    A missing torchvision raises ImportError, with how to install it: the zoo
    tests must fail without it, not skip.
    """
    try:
        import torchvision.models
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("torchvision"):
            raise
        raise ImportError(
            "the zoo tests need torchvision (a test dependency): "
            'python -m pip install -e ".[dev]" or python -m pip install torchvision'
        ) from error
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        _forget_torchvision()
        for op in _TORCHVISION_OPS:
            if not hasattr(torch.ops.torchvision, op):
                torch.library.define(f"torchvision::{op}", _TORCHVISION_OP_SCHEMA)
        import torchvision.models
    return torchvision.models


def _forget_torchvision() -> None:
    """Drop a half-imported torchvision from sys.modules, so that it imports afresh."""
    for module in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
        del sys.modules[module]


def build_reference(name: str) -> nn.Module:
    """`torchvision.models.NAME(weights=None)`: randomly initialised, nothing downloaded.

    Under `with torch.device("meta"):` it is built without memory or
    initialisation cost, for counting and shapes.
    """
    build = getattr(torchvision_models(), name)
    if name in BUILT_ON_CPU:
        device = torch.get_default_device()
        with torch.device("cpu"):
            return build(weights=None, **BUILD_ARGUMENTS.get(name, {})).to(device)
    return build(weights=None, **BUILD_ARGUMENTS.get(name, {}))


def min_size(name: str) -> tuple[int, int]:
    """The smallest input (height, width) torchvision documents for NAME: its weights' `min_size`."""
    weights = torchvision_models().get_model_weights(name)
    sizes = {member.meta["min_size"] for member in weights}
    assert len(sizes) == 1, f"{name}: its weights disagree on min_size: {sizes}"
    return sizes.pop()


# -- ours ---------------------------------------------------------------------


@functools.cache
def our_class(name: str) -> type[nn.Module]:
    """The module class compiled from examples/zoo/NAME.cnn."""
    return cnndsl.load(cnn_path(name))


def build_ours(name: str) -> nn.Module:
    """An instance of our module for NAME (under `torch.device("meta")` if wanted)."""
    return our_class(name)()


def stated_parameters(name: str) -> int:
    """The parameter count that examples/zoo/NAME.cnn's header comment states (`# 11,689,512 parameters`)."""
    header = []
    for line in cnn_path(name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    found = re.findall(r"(\d{1,3}(?:,\d{3})*) parameters", " ".join(header))
    assert len(found) == 1, f"{name}.cnn: the header comment should state the parameter total once, found {found}"
    return int(found[0].replace(",", ""))


def cnnc(*args: object) -> subprocess.CompletedProcess:
    """Run the `cnnc` command (as `python -m cnndsl`, so that it is this checkout's)."""
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def static_summary(name: str, size: tuple[int, int] | None = None) -> dict:
    """`cnnc summary NAME.cnn --format json [--size HxW]`, parsed; with a size, that size's instance."""
    args: list[object] = ["summary", cnn_path(name), "--format", "json"]
    if size is not None:
        args += ["--size", f"{size[0]}x{size[1]}"]
    result = cnnc(*args)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    if size is None:
        return summary
    (instance,) = summary["instances"]
    assert instance["sizes"] == {"H": size[0], "W": size[1]}, instance["sizes"]
    return instance


# -- comparing ----------------------------------------------------------------


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def make_statistics_nontrivial(model: nn.Module, seed: int, size: tuple[int, int] = (64, 64), batch: int = 4) -> None:
    """Make every value that an eval-mode forward pass reads differ from its default.

    torchvision initialises biases (of VGG, MobileNet v2, ...) to 0, BatchNorm
    weights to 1 and biases to 0, and running statistics are 0 and 1 until
    trained: a copy that swapped two of them would go unnoticed. So:

    - every convolution and linear bias becomes uniform in [-0.05, 0.05];
    - every BatchNorm weight uniform in [0.5, 1.5], every bias in [-0.2, 0.2];
    - the running statistics are measured in train mode on one random batch
      (BATCH images of SIZE) with momentum None, i.e. they become that batch's
      exact mean and variance whatever the layer's momentum (MNASNet's is
      0.0003, which would barely move them); the momenta are restored after.
      Real statistics keep the activations of deep networks in a sane range,
      where random ones would blow them up or flatten them. Each layer's
      num_batches_tracked becomes 1.

    The model is left in eval mode. Deterministic for a given seed.
    """
    generator = torch.Generator().manual_seed(seed)
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.uniform_(-0.05, 0.05, generator=generator)
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5, generator=generator)
            norm.bias.uniform_(-0.2, 0.2, generator=generator)
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.2, 0.2, generator=generator)
        for key, parameter in model.named_parameters():
            if key.endswith("layer_scale"):  # ConvNeXt's, 1e-6 at first: the blocks would barely count
                parameter.uniform_(0.5, 1.5, generator=generator)
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        model.train()
        torch.manual_seed(seed)  # the dropout masks
        model(torch.randn(batch, 3, *size, generator=generator))
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
    model.eval()


def transfer_weights(source: nn.Module, target: nn.Module) -> int:
    """Copy every parameter and buffer of `source` (torchvision's) into `target` (ours), by structure.

    The i-th entry of `source.state_dict()` goes to the i-th entry of
    `target.state_dict()`, whatever the two are called (`layer1.0.conv1.weight`
    against `features.4.body.0.weight`). Returns how many were copied.

    Why order is enough: a state_dict lists a module's own parameters, then
    its own buffers (in the order it registered them), then its submodules'
    entries recursively, in the order the submodules were registered. For these
    ten families torchvision registers every submodule in the order its
    forward pass runs it: `features` before `classifier`, `conv1, bn1, relu,
    maxpool, layer1...layer4, avgpool, fc`, and in a Bottleneck `conv1, bn1,
    conv2, bn2, conv3, bn3` before `downsample`, which forward runs last. A
    module compiled by cnnc registers its layers in source order, and a
    Residual its body before its shortcut, which is how the .cnn files are
    written. Layers without state (activations, pooling, dropout, flatten,
    torchvision's functional pooling) contribute nothing, so they need not
    line up. Hence the two lists pair each tensor with its counterpart.

    Order matching could be fooled only by two adjacent tensors of the same
    shape swapped by a structural difference, so it is checked on three
    fronts and any mismatch raises ValueError naming both entries: the two
    lists have the same length; each pair has the same shape and dtype; each
    pair has the same kind (the last component of its name: `weight`, `bias`,
    `running_mean`, `running_var`, `num_batches_tracked`, the last an int64
    buffer that is copied like the others). A swap that survived all of that
    would still show in the outputs, which the tests compare.
    """
    source_state = source.state_dict()
    target_state = target.state_dict()
    if len(source_state) != len(target_state):
        raise ValueError(
            f"torchvision's model has {len(source_state)} parameters and buffers, ours {len(target_state)}: "
            "the structures differ"
        )
    copied = {}
    for (source_key, source_value), (target_key, target_value) in zip(source_state.items(), target_state.items()):
        source_kind = source_key.rsplit(".", 1)[-1]
        target_kind = target_key.rsplit(".", 1)[-1]
        if (
            source_kind != target_kind
            or source_value.shape != target_value.shape
            or source_value.dtype != target_value.dtype
        ):
            raise ValueError(
                f"structure mismatch: torchvision's {source_key} {tuple(source_value.shape)} {source_value.dtype} "
                f"against our {target_key} {tuple(target_value.shape)} {target_value.dtype}"
            )
        copied[target_key] = source_value.detach().clone()
    target.load_state_dict(copied, strict=True)
    return len(copied)


def copy_weights(name: str, source: nn.Module, target: nn.Module) -> None:
    """torchvision's weights into ours: entry by entry, or by structure for the ORDER_DIFFERS families."""
    if name in ORDER_DIFFERS:
        cnndsl.transfer_weights(source, target)
    else:
        transfer_weights(source, target)


def compare_outputs(name: str, sizes: Iterable[tuple[int, int]], seed: int = 0, batch: int = 2) -> dict[tuple[int, int], float]:
    """The largest |torchvision - ours| over the outputs at each (height, width), in eval mode.

    Builds torchvision's NAME, makes its statistics non-trivial, copies it
    into ours, checks that the parameter counts are equal and that both
    outputs have the same shape, then runs both on the same random batch at
    each size. No gradients, CPU, float32.
    """
    torch.manual_seed(seed)
    reference = build_reference(name)
    make_statistics_nontrivial(reference, seed, size=tuple(max(64, side) for side in min_size(name)))
    ours = build_ours(name)
    copy_weights(name, reference, ours)
    assert count_parameters(ours) == count_parameters(reference)
    reference.eval()
    ours.eval()
    generator = torch.Generator().manual_seed(seed + 1)
    differences = {}
    with torch.no_grad():
        for height, width in sizes:
            images = torch.randn(batch, 3, height, width, generator=generator)
            expected = reference(images.clone())
            actual = ours(images.clone())
            assert actual.shape == expected.shape, f"{name} at {height}x{width}: {actual.shape} != {expected.shape}"
            assert torch.isfinite(expected).all(), f"{name} at {height}x{width}: torchvision's output is not finite"
            differences[(height, width)] = (actual - expected).abs().max().item()
    return differences


# What `cnnc summary` calls each torchvision module that has a row of its own.
_KINDS = {
    nn.Conv2d: "conv",
    nn.BatchNorm2d: "batchnorm",
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.MaxPool2d: "pool",
    nn.Linear: "linear",
}
COMPARED_KINDS = frozenset(_KINDS.values())


def runtime_layers(model: nn.Module, size: tuple[int, int]) -> tuple[list[tuple[str, tuple[int, ...]]], tuple[int, ...]]:
    """Each convolution, BatchNorm, ReLU, max pooling and linear layer of `model`, as it runs on a HxW input.

    Returns ([(kind, output shape per sample), ...] in the order the layers
    run, a module called twice appearing twice; the model's output shape per
    sample). The other layers are left out because torchvision computes some
    of them without a module (ResNet's torch.flatten, MobileNet v2's
    adaptive_avg_pool2d, MNASNet's mean), so they cannot be hooked. Meant for
    a model on the meta device: the shapes come without any arithmetic.
    """
    device = next(model.parameters()).device
    seen: list[tuple[str, tuple[int, ...]]] = []
    handles = []
    for module in model.modules():
        kind = _KINDS.get(type(module))
        if kind is not None:
            handles.append(
                module.register_forward_hook(
                    lambda _module, _inputs, output, kind=kind: seen.append((kind, _channels_first(kind, output)))
                )
            )
    try:
        with torch.no_grad():
            output = model.eval()(torch.empty(1, 3, *size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return seen, tuple(output.shape[1:])


def _channels_first(kind: str, output: torch.Tensor) -> tuple[int, ...]:
    """A layer's output shape per sample, channels first.

    ConvNeXt applies its linear layers to a channels-last map (N, H, W, C);
    cnnc's types, like every other layer's output, are channels first.
    """
    shape = tuple(output.shape[1:])
    if kind == "linear" and len(shape) == 3:
        return (shape[2], shape[0], shape[1])
    return shape


def static_layers(instance: dict, kinds: frozenset[str] = COMPARED_KINDS) -> list[tuple[str, tuple[int, ...]]]:
    """The rows of a `cnnc summary --format json --size` instance that `runtime_layers` can see."""
    return [(layer["kind"], tuple(layer["output"])) for layer in instance["layers"] if layer["kind"] in kinds]
