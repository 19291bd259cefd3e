"""Functions and tensor methods (`F.relu`, `torch.flatten`, `x.view(...)`, `a + b`), each with what it is in the .cnn language."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import fx

from . import capabilities
from .activations import ACTIVATIONS, function_mapper, method_mapper
from .ir import Arg, Layer
from .meanings import (
    Alias,
    Chunk,
    Emit,
    Join,
    Meaning,
    NoData,
    Part,
    Reshape,
    Unsupported,
    adaptive,
    bind,
    dropout_layer,
    function_name,
    is_map,
    pool_layer,
    size_dependent,
)
from .modules import layernorm_layer
from .modules_encdec import FUNCTIONAL_PAD_MODES, dropout2d_meaning, pad_meaning, upsample_meaning

METADATA_METHODS = frozenset({"size", "dim", "numel", "ndimension", "nelement", "type", "get_device"})
METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout"})


def max_pool(node, context) -> Meaning:
    v = bind(node, ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
             {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    if v["dilation"] not in (1, (1, 1), [1, 1]) or v["return_indices"]:
        return Unsupported("F.max_pool2d", "max pooling with dilation or return_indices has no counterpart")
    if any(isinstance(x, fx.Node) for x in (v["kernel_size"], v["stride"], v["padding"])):
        return size_dependent("F.max_pool2d")
    return Emit(v["input"], (pool_layer("pool", v["kernel_size"], v["stride"], v["padding"], v["ceil_mode"]),))


def avg_pool(node, context) -> Meaning:
    v = bind(node, ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
             {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None})
    if not v["count_include_pad"] or v["divisor_override"] is not None:
        return Unsupported("F.avg_pool2d", "average pooling with count_include_pad=False or a divisor_override has no counterpart")
    if any(isinstance(x, fx.Node) for x in (v["kernel_size"], v["stride"], v["padding"])):
        return size_dependent("F.avg_pool2d")
    return Emit(v["input"], (pool_layer("avgpool", v["kernel_size"], v["stride"], v["padding"], v["ceil_mode"]),))


def adaptive_pool(kind: str, operation: str):
    def mapper(node, context):
        v = bind(node, ("input", "output_size", "return_indices"), {"return_indices": False})
        if v["return_indices"]:
            return Unsupported(operation, "return_indices has no counterpart")
        if isinstance(v["output_size"], fx.Node):
            return size_dependent(operation)
        return adaptive(kind, v["output_size"], node, operation)

    return mapper


def dropout(node, context) -> Meaning:
    # Traced in eval mode, `training=self.training` is False here; `dropout P`
    # is the module that drops while training, as the source's call does.
    v = bind(node, ("input", "p", "training", "inplace"), {"p": 0.5})
    found = dropout_layer(float(v["p"]))
    return Alias(v["input"]) if found is None else Emit(v["input"], (found,))


def dropout2d(node, context) -> Meaning:
    v = bind(node, ("input", "p", "training", "inplace"), {"p": 0.5})
    return dropout2d_meaning("F.dropout2d", v["input"], context, float(v["p"]))


def interpolate(node, context) -> Meaning:
    """F.interpolate (and the deprecated F.upsample): the settings of nn.Upsample, which calls it."""
    v = bind(node, ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
             {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None, "antialias": False})
    return upsample_meaning(function_name(node.target), v["input"], context, v["mode"], v["align_corners"], v["size"],
                            v["scale_factor"], bool(v["antialias"]))


def pad(node, context) -> Meaning:
    v = bind(node, ("input", "pad", "mode", "value"), {"mode": "constant", "value": None})
    mode = FUNCTIONAL_PAD_MODES.get(v["mode"])
    if mode is None:
        return Unsupported("F.pad", f"F.pad with mode='{v['mode']}' has no counterpart", "use 'constant', 'reflect', 'replicate' or 'circular'")
    return pad_meaning("F.pad", v["input"], context, tuple(v["pad"]), mode, v["value"])


def layer_norm(node, context) -> Meaning:
    """F.layer_norm with the weights of a module (torchvision's LayerNorm2d calls it between two permutes)."""
    v = bind(node, ("input", "normalized_shape", "weight", "bias", "eps"), {"weight": None, "bias": None, "eps": 1e-5})
    weights = [w for w in (v["weight"], v["bias"]) if isinstance(w, fx.Node) and w.op == "get_attr"]
    found = layernorm_layer(
        "F.layer_norm",
        context.shape(v["input"]),
        v["normalized_shape"],
        v["weight"] is not None,
        v["bias"] is not None,
        v["eps"],
        context.channels_last(v["input"]),
    )
    if isinstance(found, Unsupported):
        return found
    owners = tuple(dict.fromkeys(w.target.rpartition(".")[0] for w in weights))
    return Emit(v["input"], (found,), owners)


def stochastic_depth(node, context) -> Meaning:
    """torchvision.ops.stochastic_depth(input, p, mode, training): identity in eval, drops the whole branch in training.

    With p = 0 it does nothing, but it is written (`stochdepth 0 row`, which
    cnnc check notes as W0002) so that ConvNeXt's and EfficientNet's first
    block has the structure of the others, as torchvision's has.
    """
    v = bind(node, ("input", "p", "mode", "training"), {"training": True})
    if not capabilities.supports(capabilities.STOCHDEPTH):
        if float(v["p"]) == 0:
            return Alias(v["input"])  # does nothing, in training too
        return Unsupported(
            "torchvision.ops.stochastic_depth",
            f"stochastic depth (p={float(v['p']):g}, mode {v['mode']}) has no counterpart in the .cnn language yet",
            "issue 13 adds `stochdepth P [row | batch]`",
        )
    return Emit(v["input"], (Layer("stochdepth", (Arg("p", float(v["p"])),), (str(v["mode"]),)),))


def join(kind: str):
    def mapper(node, context):
        if kind == "add" and node.kwargs.get("alpha", 1) != 1:
            return Unsupported(function_name(node.target), "an addition with alpha has no counterpart")
        return Join(kind, tuple(node.args[:2]))

    return mapper


def cat(node, context) -> Meaning:
    v = bind(node, ("tensors", "dim"), {"dim": 0})
    return Join("cat", tuple(v["tensors"]), v["dim"])


def mean(node, context) -> Meaning:
    v = bind(node, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    shape = context.shape(v["input"])
    dims = v["dim"]
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    if is_map(shape) and not context.channels_last(v["input"]) and sorted(d % 4 for d in dims) == [2, 3]:
        pooled = Layer("avgpool", (Arg("to", (1, 1)),))
        if v["keepdim"]:
            return Emit(v["input"], (pooled,))
        return Emit(v["input"], (pooled, Layer("flatten")), shapes=((*shape[:2], 1, 1),))
    return Unsupported(
        "Tensor.mean",
        f"a mean over dims {list(dims)} of a {len(shape or ())}-D tensor has no counterpart: only the mean over height and width (`avgpool to 1`) does",
    )


def reshape(operation: str):
    def mapper(node, context):
        source = node.args[0] if node.args else node.kwargs.get("input")
        dims: tuple = ()
        if operation in ("transpose", "permute"):
            rest = node.args[1:] or tuple(node.kwargs.get("dims", ()))
            if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
                rest = tuple(rest[0])
            dims = tuple(rest)
        return Reshape(source, operation, dims)

    return mapper


def attribute(node, context) -> Meaning:
    if len(node.args) > 1 and node.args[1] in METADATA_ATTRIBUTES:
        return NoData()
    return Unsupported(f"Tensor.{node.args[1]}", f"reading `.{node.args[1]}` of a tensor has no counterpart in the .cnn language")


def alias(node, context) -> Meaning:
    return Alias(node.args[0])


def chunk(node, context) -> Meaning:
    v = bind(node, ("input", "chunks", "dim"), {"dim": 0})
    shape = context.shape(v["input"])
    if not is_map(shape) or v["dim"] % 4 != 1 or shape[1] % v["chunks"]:
        return Unsupported("Tensor.chunk", "a chunk other than equal parts of a map's channels has no counterpart")
    return Chunk(v["input"], int(v["chunks"]), 1)


def split(node, context) -> Meaning:
    v = bind(node, ("input", "split_size_or_sections", "dim"), {"dim": 0})
    shape = context.shape(v["input"])
    size = v["split_size_or_sections"]
    if is_map(shape) and v["dim"] % 4 == 1:
        if isinstance(size, int):
            sizes = [size] * (shape[1] // size) if shape[1] % size == 0 else []
        else:
            sizes = list(size)
        if sizes and len(set(sizes)) == 1 and sum(sizes) == shape[1]:
            return Chunk(v["input"], len(sizes), 1)
    return Unsupported("Tensor.split", "a split other than equal parts of a map's channels has no counterpart")


def getitem(node, context) -> Meaning:
    source, index = node.args
    if isinstance(source, fx.Node) and source.op in ("call_method", "call_function") and (
        source.target in ("chunk", "split", torch.chunk, torch.split)
    ):
        return Part(source, int(index))
    if context.shape(source) is not None:
        return Unsupported("indexing", "indexing a tensor (x[...]) has no counterpart in the .cnn language")
    return NoData()


FUNCTIONS: dict[object, object] = {
    F.max_pool2d: max_pool,
    torch.max_pool2d: max_pool,
    F.avg_pool2d: avg_pool,
    F.adaptive_avg_pool2d: adaptive_pool("avgpool", "F.adaptive_avg_pool2d"),
    F.adaptive_max_pool2d: adaptive_pool("pool", "F.adaptive_max_pool2d"),
    F.dropout: dropout,
    F.dropout2d: dropout2d,
    F.interpolate: interpolate,
    F.upsample: interpolate,
    F.pad: pad,
    F.layer_norm: layer_norm,
    operator.add: join("add"),
    operator.iadd: join("add"),
    torch.add: join("add"),
    operator.mul: join("mul"),
    operator.imul: join("mul"),
    torch.mul: join("mul"),
    torch.cat: cat,
    torch.concat: cat,
    torch.mean: mean,
    torch.flatten: reshape("flatten"),
    torch.reshape: reshape("reshape"),
    torch.squeeze: reshape("squeeze"),
    torch.transpose: reshape("transpose"),
    torch.permute: reshape("permute"),
    torch.chunk: chunk,
    torch.split: split,
    operator.getitem: getitem,
    getattr: attribute,
}

# Functions of other libraries, known by where they are defined (the product never imports torchvision).
FOREIGN: dict[tuple[str, str], object] = {
    ("torchvision.ops.stochastic_depth", "stochastic_depth"): stochastic_depth,
}

METHODS: dict[str, object] = {
    "add": join("add"),
    "add_": join("add"),
    "mul": join("mul"),
    "mul_": join("mul"),
    "mean": mean,
    "view": reshape("view"),
    "reshape": reshape("reshape"),
    "flatten": reshape("flatten"),
    "squeeze": reshape("squeeze"),
    "unsqueeze": reshape("unsqueeze"),
    "transpose": reshape("transpose"),
    "permute": reshape("permute"),
    "contiguous": alias,
    "clone": alias,
    "chunk": chunk,
    "split": split,
}

for _entry in ACTIVATIONS:
    for _function in _entry.functions:
        FUNCTIONS[_function] = function_mapper(_entry)
    for _method in _entry.methods:
        METHODS[_method] = method_mapper(_entry)
