"""Saved bytes, statically: what autograd keeps for backward in one forward pass in train mode.

The figure is the one `torch.autograd.graph.saved_tensors_hooks` observes
when the saved tensors are deduplicated by storage (tests/oracles.py,
`measured_saved_bytes`): the bytes of the distinct storages saved, the
module's parameters and buffers excluded, the input batch included when a
layer saves it. The per-layer rules were measured on CPU with torch 2.13
(docs/memory-model-draft.md has the table and the evidence).

The model is a walk over the typed network that mirrors PyTorch's storages:
every value knows which storage it lives in, whether it requires grad, and
whether its memory is channels-last (NHWC order under the (N, C, H, W)
shape, as a permuted LayerNorm2d or pixel-wise linear layer leaves it). A
layer either allocates a new storage for its output, or returns its input's
(in place, a view, an identity); it saves its input's storage, its output's,
or new storages of its own (max pooling's int64 indices, BatchNorm's
statistics, a dropout mask, the clone an in-place ReLU6 makes). A layer that
has no parameters and whose input does not require grad records no autograd
node and saves nothing. The total is the sum of the distinct storages saved.

Nothing here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prototypes.network import (
    Activation,
    AdaptivePool,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Gate,
    GroupNorm,
    Identity,
    InstanceNorm,
    Layer,
    LayerNorm,
    LayerScale,
    Linear,
    Node,
    Pool,
    Residual,
    Sequence,
    StochasticDepth,
    Upsample,
)

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}
INDEX_BYTES = 8  # max pooling's indices are int64 whatever the data type

# Activations whose backward needs their output (PyTorch saves `result`).
SAVES_OUTPUT = {"relu", "sigmoid", "tanh", "softmax", "logsoftmax"}
# Activations whose backward needs their input (PyTorch saves `self`).
SAVES_INPUT = {"relu6", "leakyrelu", "elu", "gelu", "silu", "hardswish", "hardsigmoid", "prelu"}
# In place, these compute their backward from the output, which is then the input's storage.
INPLACE_SAVES_RESULT = {"relu", "leakyrelu", "elu"}
# In place, these need the input as it was: autograd saves a clone before overwriting it.
INPLACE_SAVES_CLONE = {"relu6", "silu", "hardswish", "hardsigmoid"}


@dataclass(frozen=True)
class Value:
    """A tensor between layers: its shape per sample, its storage, and what autograd knows of it."""

    shape: tuple[int, ...]
    storage: int
    requires_grad: bool
    channels_last: bool = False


@dataclass(frozen=True)
class SavedStorage:
    """A storage saved for backward: its bytes, the layer that saved it first, and why.

    `step` is the forward position (see `Step`) of the first layer that saved
    it: backward runs in reverse, so the storage is released once that
    layer's backward has run.
    """

    storage: int
    nbytes: int
    layer: str
    what: str
    step: int


@dataclass(frozen=True)
class Step:
    """One autograd node in forward order, for the peak model: what its backward handles.

    `grad_bytes`: the gradient arriving for its output plus the one it makes
    for its input (0 when it records no node); `parameter_tensors`: the
    element counts of its parameters (their gradients appear when it runs).
    """

    name: str
    grad_bytes: int
    parameter_tensors: tuple[int, ...]


@dataclass
class Trace:
    """The walk's state: the storages allocated so far and the ones saved."""

    batch: int
    dtype: str
    storages: dict[int, int] = field(default_factory=dict)
    saved: dict[int, SavedStorage] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    @property
    def itemsize(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def allocate(self, elements: int, itemsize: int | None = None) -> int:
        storage = len(self.storages)
        self.storages[storage] = elements * (self.itemsize if itemsize is None else itemsize)
        return storage

    def new_value(self, shape, requires_grad: bool, channels_last: bool = False) -> Value:
        storage = self.allocate(self.batch * math.prod(shape))
        return Value(tuple(shape), storage, requires_grad, _channels_last(shape, channels_last))

    def save(self, storage: int, layer: str, what: str) -> None:
        if storage not in self.saved:
            self.saved[storage] = SavedStorage(storage, self.storages[storage], layer, what, len(self.steps))

    def save_new(self, elements: int, layer: str, what: str, itemsize: int | None = None) -> None:
        self.save(self.allocate(elements, itemsize), layer, what)

    @property
    def total(self) -> int:
        return sum(saved.nbytes for saved in self.saved.values())


def _channels_last(shape, flag: bool) -> bool:
    """Channels-last strides, as the producing operation laid them out (kept for 1-channel maps too:
    PyTorch's `suggest_memory_format` reads the strides, and a permuted 1-channel map still has them)."""
    return flag and len(shape) == 3


@dataclass(frozen=True)
class SavedBytes:
    total: int
    saved: tuple[SavedStorage, ...]
    steps: tuple[Step, ...] = ()
    input_storage: int = 0

    def by_layer(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for saved in self.saved:
            out[saved.layer] = out.get(saved.layer, 0) + saved.nbytes
        return out


def saved_bytes(network: Node, input_shape: tuple[int, ...], batch: int = 1, dtype: str = "float32") -> SavedBytes:
    """The bytes autograd saves in one train-mode forward pass of `network` on a batch of `batch`."""
    trace = Trace(batch, dtype)
    x = trace.new_value(input_shape, requires_grad=False)
    walk(network, x, trace)
    return SavedBytes(trace.total, tuple(trace.saved.values()), tuple(trace.steps), x.storage)


def walk(node: Node, x: Value, trace: Trace) -> Value:
    if isinstance(node, Layer):
        return layer_forward(node, x, trace)
    if isinstance(node, Sequence):
        for item in node.items:
            x = walk(item, x, trace)
        return x
    if isinstance(node, Residual):
        body = walk(node.body, x, trace)
        other = walk(node.shortcut, x, trace) if node.shortcut is not None else x
        # `out + x`: add saves nothing; the result takes the first operand's memory format.
        out = trace.new_value(body.shape, body.requires_grad or other.requires_grad, body.channels_last)
        _join_step(trace, "residual add", out, 1)
        return out
    if isinstance(node, Concat):
        parts = [x] * len(node.branches)
        if node.split:
            # x.chunk(n, dim=1): views of x's storage (a saved view keeps the whole storage).
            part = (x.shape[0] // len(node.branches), *x.shape[1:])
            parts = [Value(part, x.storage, x.requires_grad, x.channels_last)] * len(node.branches)
        outs = [walk(branch, part, trace) for branch, part in zip(node.branches, parts)]
        channels = sum(out.shape[0] for out in outs)
        # torch.cat saves nothing; its result is channels-last only when every input is.
        out = trace.new_value(
            (channels, *outs[0].shape[1:]), any(o.requires_grad for o in outs), all(o.channels_last for o in outs)
        )
        _join_step(trace, "concatenation", out, 1)  # the branches' gradients are views of the output's
        return out
    if isinstance(node, Gate):
        gate = walk(node.body, x, trace)
        # x * g: the gradient for x needs g, the gradient for g needs x.
        if gate.requires_grad:
            trace.save(x.storage, "gate", "x, for the gradient of the gate")
        if x.requires_grad:
            trace.save(gate.storage, "gate", "the gate, for the gradient of x")
        out = trace.new_value(x.shape, x.requires_grad or gate.requires_grad, x.channels_last)
        _join_step(trace, "gate", out, 2, extra=math.prod(gate.shape) * trace.batch * trace.itemsize)
        return out
    raise TypeError(f"not a network node: {node!r}")


def _join_step(trace: Trace, name: str, out: Value, copies: int, extra: int = 0) -> None:
    if out.requires_grad:
        trace.steps.append(Step(name, copies * trace.storages[out.storage] + extra, ()))


def has_parameters(config) -> bool:
    if isinstance(config, (Conv, ConvTranspose, Linear, BatchNorm, GroupNorm, LayerNorm, LayerScale)):
        return True
    if isinstance(config, InstanceNorm):
        return config.affine
    return isinstance(config, Activation) and config.name == "prelu"


def layer_forward(layer: Layer, x: Value, trace: Trace) -> Value:
    """Save what `layer` saves, note its backward step, and return its output value."""
    out = _layer_forward(layer, x, trace)
    if out.requires_grad:
        grads = trace.itemsize * trace.batch * (math.prod(layer.input) + math.prod(layer.output))
        trace.steps.append(Step(layer.name or layer.kind, grads, parameter_tensors(layer)))
    return out


def parameter_tensors(layer: Layer) -> tuple[int, ...]:
    """The element count of each of the layer's parameter tensors."""
    config = layer.config
    channels = layer.input[0]
    if isinstance(config, Conv):
        weight = config.filters * channels // config.groups * config.kernel[0] * config.kernel[1]
        return (weight, config.filters) if config.bias else (weight,)
    if isinstance(config, ConvTranspose):
        weight = channels * config.filters // config.groups * config.kernel[0] * config.kernel[1]
        return (weight, config.filters) if config.bias else (weight,)
    if isinstance(config, Linear):
        features = layer.input[0]
        return (features * config.features, config.features) if config.bias else (features * config.features,)
    if isinstance(config, (BatchNorm, GroupNorm, LayerNorm)) or (isinstance(config, InstanceNorm) and config.affine):
        return (channels, channels)
    if isinstance(config, LayerScale):
        return (channels,)
    if isinstance(config, Activation) and config.name == "prelu":
        return (1,)
    return ()


def _layer_forward(layer: Layer, x: Value, trace: Trace) -> Value:
    config, name = layer.config, layer.name or layer.kind
    recorded = x.requires_grad or has_parameters(config)
    batch = trace.batch
    out_elements = batch * math.prod(layer.output)

    def new_output(channels_last: bool = x.channels_last) -> Value:
        return trace.new_value(layer.output, recorded, channels_last)

    def alias() -> Value:
        return Value(layer.output, x.storage, recorded, x.channels_last)

    def save_input(what: str = "input") -> None:
        if recorded:
            trace.save(x.storage, name, what)

    def save_new(elements: int, what: str, itemsize: int | None = None) -> None:
        if recorded:
            trace.save_new(elements, name, what, itemsize)

    if isinstance(config, Conv):
        if config.same and any(d * (k - 1) % 2 for k, d in zip(config.kernel, config.dilation)):
            # padding="same" with an odd total: PyTorch pads a copy of the input by one on the right.
            extra = [d * (k - 1) % 2 for k, d in zip(config.kernel, config.dilation)]
            channels, height, width = x.shape
            save_new(batch * channels * (height + extra[0]) * (width + extra[1]), "zero-padded input")
        else:
            save_input()
        return new_output()
    if isinstance(config, ConvTranspose):
        save_input()
        return new_output()
    if isinstance(config, Linear):
        if config.pixelwise and not _pixelwise_view(batch, x):
            save_new(batch * math.prod(x.shape), "input copied to (N*H*W, C)")
        else:
            save_input()
        return new_output(channels_last=config.pixelwise)
    if isinstance(config, BatchNorm):
        save_input()
        save_new(2 * x.shape[0], "save_mean and save_invstd, per channel")
        return new_output()
    if isinstance(config, GroupNorm):
        save_input()
        save_new(2 * batch * config.groups, "mean and rstd, per sample and group")
        return new_output()
    if isinstance(config, InstanceNorm):
        channels, height, width = x.shape
        if x.channels_last and channels > 1 and height * width > 1:
            # instance_norm runs BatchNorm on input.contiguous().view(1, N*C, H, W): a copy here
            save_new(batch * math.prod(x.shape), "input made contiguous")
        else:
            save_input()
        save_new(2 * batch * x.shape[0], "mean and invstd, per sample and channel")
        if config.affine:
            save_new(batch * x.shape[0], "the weight repeated per sample")
        return new_output(channels_last=False)  # the contiguous result viewed back as (N, C, H, W)
    if isinstance(config, LayerNorm):
        save_input()
        rows = batch * (math.prod(x.shape[1:]) if len(x.shape) == 3 else 1)
        save_new(2 * rows, "mean and rstd, per normalised row")
        return new_output(channels_last=len(x.shape) == 3)
    if isinstance(config, Activation):
        return _activation(config, layer, x, trace, recorded, name)
    if isinstance(config, Pool):
        save_input()
        if config.max:
            save_new(out_elements, "int64 indices", INDEX_BYTES)
        return new_output()
    if isinstance(config, AdaptivePool):
        if config.max:
            save_input()
            save_new(out_elements, "int64 indices", INDEX_BYTES)
        elif config.output != (1, 1):
            save_input()  # to (1, 1) PyTorch takes the mean, which saves nothing
        return new_output()
    if isinstance(config, Dropout):
        if config.p == 0:
            return alias()  # F.dropout returns its input
        if config.p == 1:
            save_new(1, "a zero scalar")
        elif config.channels:
            save_new(batch * x.shape[0], "mask per sample and channel")
        else:
            save_new(batch * math.prod(x.shape), "mask (in the data type)")
        return new_output()
    if isinstance(config, StochasticDepth):
        if config.p == 0:
            return alias()
        save_new(batch if config.mode == "row" else 1, "noise per sample" if config.mode == "row" else "noise")
        return new_output()
    if isinstance(config, LayerScale):
        save_input("input, for the scale's gradient")
        return new_output()
    if isinstance(config, Flatten):
        channels, height, width = x.shape
        if x.channels_last and channels > 1 and height * width > 1:
            return trace.new_value(layer.output, recorded)  # reshape copies channels-last memory
        return alias()
    if isinstance(config, (ChannelShuffle, Upsample)):
        return new_output()
    if isinstance(config, Identity):
        return alias()
    raise TypeError(f"no saved-bytes rule for {layer.kind}")


def _activation(config: Activation, layer: Layer, x: Value, trace: Trace, recorded: bool, name: str) -> Value:
    if config.inplace:
        out = Value(layer.output, x.storage, recorded, x.channels_last)
        if recorded:
            if config.name in INPLACE_SAVES_RESULT:
                trace.save(out.storage, name, "output (in place: the input's storage)")
            elif config.name in INPLACE_SAVES_CLONE:
                trace.save_new(trace.batch * math.prod(x.shape), name, "clone of the input, made before overwriting it")
            else:
                raise ValueError(f"{config.name} has no in-place form")
        return out
    out = trace.new_value(layer.output, recorded, x.channels_last)
    if recorded:
        if config.name in SAVES_OUTPUT:
            trace.save(out.storage, name, "output")
        elif config.name in SAVES_INPUT:
            trace.save(x.storage, name, "input")
        else:
            raise ValueError(f"unknown activation {config.name}")
    return out


def _pixelwise_view(batch: int, x: Value) -> bool:
    """Whether x.permute(0, 2, 3, 1).reshape(-1, C) is a view (else PyTorch copies, and saves the copy).

    Channels-last memory is already (N*H*W, C); NCHW memory folds into it
    only when at most one of N and H*W exceeds 1, or C is 1.
    """
    channels, height, width = x.shape
    return x.channels_last or channels == 1 or batch == 1 or height * width == 1
