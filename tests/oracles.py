"""PyTorch oracles for the static analyses: receptive fields, saved bytes, peak memory.

These are test-side measurements: they run a real `nn.Module` and observe
what PyTorch does, so that the compiler's static figures can be held to them.
Nothing in `cnndsl/` imports this module.

- `measured_receptive_field(module, input_shape)`: the input region that one
  output unit depends on, found by back-propagating from that unit through a
  linearised copy of the module (positive weights, no non-linearity), per axis:
  the extent of the non-zero input gradient, the effective stride (the shift
  of the field between two neighbouring units) and the effective padding (how
  far the field of unit 0 starts before the first input pixel).
- `measured_saved_bytes(module, input)`: the bytes of the distinct storages
  that autograd saves for backward during one forward pass in train mode, as
  `torch.autograd.graph.saved_tensors_hooks` observes them, deduplicated by
  storage, the module's parameters and buffers excluded; with a breakdown by
  autograd node.
- `measured_peak_bytes(module, input, target, optimizer)`: the high-water
  mark of the CPU allocator over training steps (forward, backward, optimizer
  step), from the profiler's memory events.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

# -- receptive field ------------------------------------------------------------


@dataclass(frozen=True)
class AxisField:
    """The receptive field of one output unit along one axis, in input pixels.

    `size`: from the first to the last input pixel the unit depends on (gaps
    that dilation leaves inside count, as in Araujo et al.); `stride`: how far
    the field moves between neighbouring output units (None with one unit
    along the axis); `padding`: how far before input pixel 0 the field of
    output unit 0 starts (None when `stride` is unknown), so that unit k's
    field starts at `k * stride - padding`; `whole`: the unit depends on every
    input pixel along the axis (global pooling, a linear layer after flatten):
    its field is the input, not a property of the network.
    """

    size: int
    stride: int | None
    padding: int | None
    whole: bool = False


@dataclass(frozen=True)
class ReceptiveField:
    height: AxisField | None
    width: AxisField | None
    input_size: tuple[int, int]

    def axes(self) -> tuple[AxisField, AxisField]:
        return (self.height, self.width)


class SumPool2d(nn.Module):
    """A pooling window that adds its inputs (all weights 1), with max pooling's geometry.

    Replaces max pooling, whose gradient reaches one input per window, and
    average pooling, whose weights depend on count_include_pad: the support of
    the gradient is the window, whatever the values. Kernel, stride, padding,
    dilation and ceil_mode are honoured exactly: the input is zero-padded, a
    depthwise all-ones convolution slides over it, and the output is cut to
    the size that the original pooling layer produces (ceil_mode's extra
    window included, a window that would start in the right padding
    dropped).
    """

    def __init__(self, kernel, stride, padding, dilation, ceil_mode) -> None:
        super().__init__()
        def pair(value):
            return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

        self.kernel, self.stride = pair(kernel), pair(stride if stride is not None else kernel)
        self.padding, self.dilation = pair(padding), pair(dilation)
        self.ceil_mode = ceil_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = F.max_pool2d(
            torch.empty(x.shape, device="meta"), self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode
        ).shape[-2:]
        (ph, pw), (sh, sw) = self.padding, self.stride
        # Room on the right for ceil_mode's last window.
        extra_h, extra_w = sh * 2, sw * 2
        padded = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h))
        channels = x.shape[1]
        ones = torch.ones((channels, 1, *self.kernel), dtype=x.dtype, device=x.device)
        out = F.conv2d(padded, ones, stride=self.stride, dilation=self.dilation, groups=channels)
        return out[..., : expected[0], : expected[1]]


_IDENTITY_TYPES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
    nn.Hardsigmoid, nn.Hardtanh, nn.PReLU, nn.Mish, nn.Softplus,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm, nn.LocalResponseNorm,
    nn.Dropout, nn.Dropout2d, nn.AlphaDropout,
)  # fmt: skip


def linearised(module: nn.Module, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A copy of `module` whose input gradient's support is exactly the receptive field.

    Convolutions and linear layers get positive weights (1/fan-in: any
    positive constant has the same support, and this one keeps the values of
    a deep network near 1 in float64) and no bias; activations,
    normalisations and dropout become the identity (a normalisation's
    statistics mix positions, but that is not what a receptive field
    describes); max and average pooling become `SumPool2d` of the same
    geometry, adaptive max pooling adaptive average pooling. Every other
    parameter (a layer scale, say) is set to 1. With a positive input every
    value and every gradient is then positive: no zero comes from
    cancellation, and a gate `x * g(x)` passes gradient through both factors.
    """
    copied = copy.deepcopy(module).to(dtype).eval()
    stand_in = _linear_stand_in(copied)
    if stand_in is not None:
        return stand_in

    def replace(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            new = _linear_stand_in(child)
            if new is not None:
                setattr(parent, name, new)
            else:
                replace(child)

    replace(copied)
    with torch.no_grad():
        done = set()
        for layer in copied.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                layer.weight.fill_(1.0 / layer.weight[0].numel())
                done.add(id(layer.weight))
                if layer.bias is not None:
                    layer.bias.zero_()
                    done.add(id(layer.bias))
        for parameter in copied.parameters():
            if id(parameter) not in done:
                parameter.fill_(1.0)
    return copied


def _linear_stand_in(layer: nn.Module) -> nn.Module | None:
    if isinstance(layer, _IDENTITY_TYPES):
        return nn.Identity()
    if isinstance(layer, nn.MaxPool2d):
        return SumPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
    if isinstance(layer, nn.AvgPool2d):
        return SumPool2d(layer.kernel_size, layer.stride, layer.padding, 1, layer.ceil_mode)
    if isinstance(layer, nn.AdaptiveMaxPool2d):
        return nn.AdaptiveAvgPool2d(layer.output_size)  # positive weights, the same windows
    return None


def input_gradient_support(
    module: nn.Module, input_shape: tuple[int, int, int], units: Iterable[tuple[int, int]], dtype=torch.float64
):
    """For each output position (row, col): the input rows and columns with a non-zero gradient.

    The gradient of the sum over channels of the output at that position,
    summed over the input's channels; `module` is used as given (pass
    `linearised(m)`). Returns [(rows, cols)] as sorted lists of indices, and
    the output's spatial size.
    """
    x = torch.ones((1, *input_shape), dtype=dtype, requires_grad=True)
    out = module(x)
    if out.dim() != 4:
        raise ValueError(f"the module's output is {tuple(out.shape)}, not a feature map (N, C, H, W)")
    supports = []
    for row, col in units:
        (grad,) = torch.autograd.grad(out[0, :, row, col].sum(), x, retain_graph=True)
        plane = grad[0].abs().sum(0)
        rows = torch.nonzero(plane.sum(1)).flatten().tolist()
        cols = torch.nonzero(plane.sum(0)).flatten().tolist()
        supports.append((rows, cols))
    return supports, tuple(out.shape[-2:])


def measured_receptive_field(
    module: nn.Module,
    input_shape: tuple[int, int, int],
    *,
    max_size: int = 4096,
    linearise: bool = True,
    dtype: torch.dtype = torch.float64,
    axes: tuple[int, ...] = (0, 1),
) -> ReceptiveField:
    """The receptive field of `module`'s output units, measured by back-propagation.

    `input_shape` is (C, H, W), the size to start from. For each axis the
    field of a central output unit and of its next neighbour is measured; if
    either touches the input's border along an axis, it may be clipped there,
    so that axis's size is doubled (the other kept: along one axis the
    support does not depend on the other axis's size) until both fields lie
    strictly inside, or the field is the whole input at twice the size too
    (global pooling: `whole`). The size reported is the extent of the
    support; the stride is the shift between the two neighbours' fields; the
    padding is `k * stride - first` for the central unit k. `axes` chooses
    the axes to measure (0: height, 1: width); the others are None.
    """
    model = linearised(module, dtype) if linearise else module
    channels, height, width = input_shape
    results: list[AxisField | None] = [None, None]
    sizes = [height, width]
    for axis in axes:
        size = sizes[axis]
        candidate = None
        whole_at: dict[int, int] = {}  # size -> output units along the axis, where the field was the input
        while True:
            shape = [height, width]
            shape[axis] = size
            measured, count = _measure_axis(model, (channels, *shape), axis, dtype)
            if isinstance(measured, AxisField):
                # A field with gaps (dilation) can be clipped at a gap without
                # touching the border: accept a field only when twice the size
                # measures the same one.
                if measured == candidate:
                    results[axis] = measured
                    break
                candidate = measured
            if measured == "whole":
                # Global at two sizes with the same number of output units (adaptive
                # pooling to a fixed size): the field is the input, however large.
                if whole_at.get(size // 2) == count:
                    results[axis] = AxisField(size=size, stride=None, padding=None, whole=True)
                    break
                whole_at[size] = count
            if size * 2 > max_size:
                raise ValueError(f"the field along axis {axis} is still clipped at size {size}")
            size *= 2
        sizes[axis] = size
    return ReceptiveField(results[0], results[1], (sizes[0], sizes[1]))


def _measure_axis(model: nn.Module, input_shape, axis: int, dtype):
    """AxisField if the central units' fields lie inside the input; 'whole' if they cover it; None if clipped.

    The unit measured is the central one, or the nearest to it that sees some
    input pixel (with padding and a stride larger than the kernel, a unit can
    see only padding); its neighbour is the next unit, or the previous one.
    """
    extent = input_shape[1 + axis]
    with torch.no_grad():
        out_shape = model(torch.ones((1, *input_shape), dtype=dtype)).shape[-2:]
    count, other_count = out_shape[axis], out_shape[1 - axis]

    def support(k: int, m: int):
        unit = (k, m) if axis == 0 else (m, k)
        (rows_cols,), _ = input_gradient_support(model, input_shape, [unit], dtype)
        seen = rows_cols[axis]
        return (seen[0], seen[-1]) if seen else None

    def near_centre(n: int) -> list[int]:
        centre = (n - 1) // 2
        return sorted(range(n), key=lambda k: (abs(k - centre), k))[:8]

    found = next(
        ((k, m, span) for k in near_centre(count) for m in near_centre(other_count) if (span := support(k, m))),
        None,
    )
    if found is None:
        raise ValueError("no output unit near the centre sees any input pixel")
    unit, other, span = found
    neighbour = None
    for k in (unit + 1, unit - 1):
        if 0 <= k < count and (neighbour := support(k, other)):
            break
    spans = [span] + ([neighbour] if neighbour else [])
    if all(first == 0 and last == extent - 1 for first, last in spans):
        return "whole", count
    if any(first == 0 or last == extent - 1 for first, last in spans):
        return None, count
    first, last = span
    size = last - first + 1
    if neighbour is None:
        return AxisField(size=size, stride=None, padding=None), count
    stride = abs(neighbour[0] - first)
    if neighbour[1] - neighbour[0] + 1 != size:
        # Neighbours with different sizes: the paths are not aligned.
        return AxisField(size=max(size, neighbour[1] - neighbour[0] + 1), stride=None, padding=None), count
    return AxisField(size=size, stride=stride, padding=unit * stride - first), count


# -- saved tensors ----------------------------------------------------------------


@dataclass
class SavedTensor:
    """One tensor that autograd saved: its storage, shape, dtype and which node saved it."""

    index: int
    shape: tuple[int, ...]
    dtype: torch.dtype
    storage_key: tuple[int, int]
    storage_bytes: int
    kind: str  # "activation", "parameter" or "buffer"
    nodes: list[str] = field(default_factory=list)


@dataclass
class SavedBytes:
    """What one forward pass saved for backward.

    `total`: the bytes of the distinct storages saved, parameters and buffers
    excluded (the figure the static model predicts); `by_node`: that total
    split by the autograd node that first saved each storage (a storage saved
    by several nodes is counted once, for the first); `parameter_bytes` and
    `buffer_bytes`: the distinct storages of the module's own parameters and
    buffers that were saved too (weights for the input gradient, BatchNorm's
    running statistics), reported apart; `tensors`: every saved tensor.
    """

    total: int
    by_node: dict[str, int]
    parameter_bytes: int
    buffer_bytes: int
    tensors: list[SavedTensor]

    def storages(self, kind: str = "activation") -> dict[tuple[int, int], list[SavedTensor]]:
        grouped: dict[tuple[int, int], list[SavedTensor]] = {}
        for tensor in self.tensors:
            if tensor.kind == kind:
                grouped.setdefault(tensor.storage_key, []).append(tensor)
        return grouped


def _storage_key(tensor: torch.Tensor) -> tuple[int, int]:
    """(address, bytes) of the tensor's storage. On the meta device, which allocates nothing (every
    address is 0), the storage object's own address: views and in-place results share that object."""
    storage = tensor.untyped_storage()
    if tensor.device.type == "meta":
        return (storage._cdata, storage.nbytes())
    return (storage.data_ptr(), storage.nbytes())


def measured_saved_bytes(
    module: nn.Module,
    inputs: torch.Tensor | tuple,
    *,
    forward: Callable | None = None,
) -> SavedBytes:
    """Run one forward pass in train mode and record what autograd saves for backward.

    Every tensor that reaches the pack hook is kept alive until the end (as
    autograd itself keeps it), so a storage's address identifies it for the
    whole pass (on the meta device, which computes shapes only, the storage
    object's address: tests/test_oracles.py checks that meta and CPU agree on
    every example); storages are deduplicated by (address, size in bytes), the way
    a view of a tensor, the output of an in-place operation and the tensor
    itself all share one. The bytes counted are the storage's, not the
    view's: a saved view keeps its whole storage alive.

    The module's parameters and buffers are excluded from `total`: they are
    held by the module whether or not autograd saves them (a convolution's
    weight, BatchNorm's running mean and variance). The input batch is not
    excluded: a first convolution saves it for its weight gradient, and that
    reference keeps it alive through the backward pass.

    The breakdown by node walks the autograd graph after the forward pass and
    unpacks each node's saved attributes, which tells which node packed which
    tensor.
    """
    module.train()
    parameter_keys = {_storage_key(p) for p in module.parameters()}
    buffer_keys = {_storage_key(b) for b in module.buffers()}
    packed: list[torch.Tensor] = []
    records: list[SavedTensor] = []

    def pack(tensor: torch.Tensor) -> int:
        key = _storage_key(tensor)
        kind = "parameter" if key in parameter_keys else "buffer" if key in buffer_keys else "activation"
        packed.append(tensor)
        records.append(
            SavedTensor(len(records), tuple(tensor.shape), tensor.dtype, key, tensor.untyped_storage().nbytes(), kind)
        )
        return len(packed) - 1

    current: list[str] = []

    def unpack(index: int) -> torch.Tensor:
        if current:
            records[index].nodes.append(current[-1])
        return packed[index]

    args = inputs if isinstance(inputs, tuple) else (inputs,)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        out = forward(*args) if forward is not None else module(*args)
        outputs = [out] if isinstance(out, torch.Tensor) else list(out)
        for name, node in _graph_nodes(outputs):
            current.append(name)
            _unpack_saved(node)
            current.pop()
    by_node: Counter[str] = Counter()
    seen: dict[str, set] = {"activation": set(), "parameter": set(), "buffer": set()}
    sums = Counter()
    for record in records:
        if record.storage_key in seen[record.kind]:
            continue
        seen[record.kind].add(record.storage_key)
        sums[record.kind] += record.storage_bytes
        if record.kind == "activation":
            by_node[record.nodes[0] if record.nodes else "?"] += record.storage_bytes
    total = sums["activation"]
    return SavedBytes(total, dict(by_node), sums["parameter"], sums["buffer"], records)


def _graph_nodes(outputs: list[torch.Tensor]):
    """(name, node) for each autograd node reachable from the outputs, once, numbered in order of discovery."""
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    seen = set()
    order = []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    # The graph is discovered from the output back; name the nodes from the input forward.
    order.reverse()
    counts: Counter[str] = Counter()
    named = []
    for node in order:
        kind = type(node).__name__
        counts[kind] += 1
        named.append((f"{kind}#{counts[kind]}", node))
    return named


def _unpack_saved(node) -> None:
    for attribute in dir(node):
        if attribute.startswith("_saved_"):
            try:
                getattr(node, attribute)
            except RuntimeError:  # released, or not a tensor
                pass
    if hasattr(node, "saved_tensors"):  # a Python autograd.Function
        try:
            node.saved_tensors
        except RuntimeError:
            pass


# -- peak memory ------------------------------------------------------------------


def measured_peak_bytes(
    module: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
    *,
    loss: Callable = F.cross_entropy,
    steps: int = 2,
) -> dict[str, int]:
    """The CPU high-water mark of training steps, from the profiler's memory events.

    The module's parameters and buffers, the input and the target are
    allocated before the profiler starts; the optimizer is made inside it, and
    `steps` ordinary steps run (`zero_grad()`, forward, loss, backward,
    `step()`), so that every gradient and every piece of optimizer state is
    allocated while the profiler watches (it cannot see the release of a
    block allocated before it started). The first step creates the state,
    the second is the steady state. The profiler reports every allocation
    and release of the CPU allocator with its size (positive) or minus it;
    the running sum's maximum, plus what was allocated before, is the peak.

    Returns {"peak": that peak in bytes, "before": the bytes allocated before
    (parameters, buffers, input, target), "step_peak": the running sum's
    maximum alone}.
    """
    from torch.profiler import ProfilerActivity, profile

    module.train()
    for parameter in module.parameters():
        parameter.grad = None  # gradients left by an earlier step would be released unseen
    before = sum(t.untyped_storage().nbytes() for t in [*module.parameters(), *module.buffers(), inputs, target])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        opt = optimizer(module.parameters())
        for _ in range(steps):
            opt.zero_grad()
            loss(module(inputs), target).backward()
            opt.step()
        del opt
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    running = peak = 0
    for event in events:
        running += event.nbytes()
        peak = max(peak, running)
    return {"peak": before + peak, "before": before, "step_peak": peak}
