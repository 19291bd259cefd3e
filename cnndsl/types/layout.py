"""Memory layouts of feature maps: the strides PyTorch gives each op's output, on CPU.

What autograd saves depends on layouts in three places: `flatten` is a view
or a copy, a pixel-wise linear layer multiplies a view of its input or a
copy, and both follow from strides. Layouts come from the ops before: a
LayerNorm2d or a pixel-wise linear layer leaves channels-last memory behind,
a convolution, pooling or batch normalisation keeps its input's *suggested*
format, element-wise ops follow TensorIterator's rules. With one channel or
one position, channels-last and the default layout are both "contiguous"
and PyTorch breaks the tie by the exact strides, so the strides are
modelled exactly, per (N, C, H, W), as PyTorch computes them (c10's
`is_contiguous`, `is_channels_last_strides_2d_s4`, TensorIterator's fast set-up
and `reorder_dimensions`, `computeStride` for views). tests/test_oracles.py
holds the saved bytes that depend on them to PyTorch.
"""

from __future__ import annotations

from ..record import Record

_set = object.__setattr__

Sizes = tuple[int, ...]
Strides = tuple[int, ...]


def contiguous(sizes: Sizes) -> Strides:
    """PyTorch's default strides (a size-1 dimension gets the product of the later sizes)."""
    strides, step = [], 1
    for size in reversed(sizes):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def channels_last(sizes: Sizes) -> Strides:
    """`torch.channels_last` strides of an (N, C, H, W) shape."""
    n, c, h, w = sizes
    return (h * w * c, 1, w * c, c)


def is_contiguous(sizes: Sizes, strides: Strides) -> bool:
    """`Tensor.is_contiguous()`: dimensions of size 1 are ignored."""
    expected = 1
    for size, stride in zip(reversed(sizes), reversed(strides)):
        if size != 1:
            if stride != expected:
                return False
            expected *= size
    return True


def is_channels_last_contiguous(sizes: Sizes, strides: Strides) -> bool:
    """`Tensor.is_contiguous(memory_format=torch.channels_last)` of a 4-D tensor."""
    if len(sizes) != 4:
        return False
    expected = 1
    for d in (1, 3, 2, 0):
        if sizes[d] != 1:
            if strides[d] != expected:
                return False
            expected *= sizes[d]
    return True


def suggests_channels_last(sizes: Sizes, strides: Strides) -> bool:
    """`Tensor.suggest_memory_format() == torch.channels_last` (c10's is_channels_last_strides_2d_s4)."""
    if len(sizes) != 4 or strides[1] == 0:
        return False
    smallest = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < smallest:
            return False
        if d == 0 and smallest == strides[1]:  # ambiguous (N111 and the like): the default layout
            return False
        smallest = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def suggested(sizes: Sizes, strides: Strides, out: Sizes) -> Strides:
    """The output strides of an op that keeps its input's suggested format (convolution, pooling, batch norm)."""
    return channels_last(out) if suggests_channels_last(sizes, strides) else contiguous(out)


def is_dense(sizes: Sizes, strides: Strides) -> bool:
    """`Tensor.is_non_overlapping_and_dense()`."""
    dims = sorted((d for d in range(len(sizes)) if sizes[d] != 1), key=lambda d: strides[d])
    expected = 1
    for d in dims:
        if strides[d] != expected:
            return False
        expected *= sizes[d]
    return True


def empty_like(sizes: Sizes, strides: Strides) -> Strides:
    """`torch.empty_like(x)`: x's strides when x is dense, else its suggested format's."""
    return strides if is_dense(sizes, strides) else suggested(sizes, strides, sizes)


# How an op lays out its output (`Saves.layout`); `output_strides` applies the rule.
ELEMENTWISE = "elementwise"  # TensorIterator over the input and the op's other operands
SUGGESTED = "suggested"  # the input's suggested format: convolution, pooling, batch norm, channel shuffle
CHANNELS_LAST = "channels last"  # a map permuted back from (N, H, W, C): LayerNorm2d, a pixel-wise linear layer
MADE_CONTIGUOUS = "made contiguous"  # channels-last, then `.contiguous()` (a copy unless already contiguous)
MEAN = "mean"  # adaptive average pooling to 1x1: a mean, restrided to channels-last for such an input
CONTIGUOUS = "contiguous"  # a fresh tensor in the default layout (instance norm, circular padding)
LIKE_INPUT = "like input"  # an operand made by `empty_like(input)` (dropout's mask)


class Operand(Record):
    """A tensor an element-wise op reads besides its input: its sizes and strides, right-aligned with the
    output's (a layer scale's (C, 1, 1), stochastic depth's (N, 1, 1, 1) noise)."""

    __slots__ = ("sizes", "strides")
    sizes: Sizes
    strides: Strides

    def __init__(self, sizes: Sizes, strides: Strides | None = None) -> None:
        _set(self, "sizes", tuple(sizes))
        _set(self, "strides", tuple(strides) if strides is not None else contiguous(tuple(sizes)))


def elementwise(out: Sizes, operands: list[tuple[Sizes, Strides]]) -> Strides:
    """The output strides of an element-wise op (TensorIterator) over its operands, in order."""
    if all(sizes == out for sizes, _ in operands):  # the fast set-up
        if all(is_contiguous(*operand) for operand in operands):
            return contiguous(out)
        if all(is_channels_last_contiguous(*operand) for operand in operands):
            return channels_last(out)
        if all(is_dense(*operand) for operand in operands) and len({strides for _, strides in operands}) == 1:
            return operands[0][1]
    ndim = len(out)
    broadcast = []
    for sizes, strides in operands:  # each operand's strides on the output's shape; 0 where broadcast
        offset = ndim - len(sizes)
        full = [0] * offset
        for i, (size, stride) in enumerate(zip(sizes, strides)):
            full.append(0 if size == 1 and out[offset + i] != 1 else stride)
        broadcast.append(full)

    def should_swap(dim0: int, dim1: int) -> int:
        for strides in broadcast:
            s0, s1 = strides[dim0], strides[dim1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                return -1
            if s0 > s1:
                return 1
            if out[dim0] > out[dim1]:  # equal strides: the smaller dimension goes first
                return 1
        return 0

    perm = list(range(ndim - 1, -1, -1))  # fastest first; an insertion sort that tolerates ties
    for i in range(1, ndim):
        dim1 = i
        for dim0 in range(i - 1, -1, -1):
            comparison = should_swap(perm[dim0], perm[dim1])
            if comparison > 0:
                perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
                dim1 = dim0
            elif comparison < 0:
                break
    strides, step = [0] * ndim, 1
    for d in perm:
        strides[d] = step
        step *= out[d]
    return tuple(strides)


def flattens_to_view(sizes: Sizes, strides: Strides) -> bool:
    """Whether `x.flatten(1)` is a view (else reshape copies): C, H and W, size-1 ones left out, must be
    laid out as one block (ATen's computeStride)."""
    dims = [d for d in (1, 2, 3) if sizes[d] != 1]
    return all(strides[a] == strides[b] * sizes[b] for a, b in zip(dims, dims[1:]))


def rows_fold_to_view(sizes: Sizes, strides: Strides) -> bool:
    """Whether `x.permute(0, 2, 3, 1).reshape(-1, C)` is a view (a pixel-wise linear layer's matrix):
    N, H and W, size-1 ones left out, must be laid out as one block."""
    dims = [d for d in (0, 2, 3) if sizes[d] != 1]
    return all(strides[a] == strides[b] * sizes[b] for a, b in zip(dims, dims[1:]))


def output_strides(rule: str, sizes: Sizes, strides: Strides, out: Sizes, operands: tuple = ()) -> Strides:
    """The strides of an op's (new) output of sizes `out`, from its input's `sizes` and `strides`."""
    if rule == ELEMENTWISE:
        others = [(sizes, empty_like(sizes, strides)) if o == LIKE_INPUT else (o.sizes, o.strides) for o in operands]
        return elementwise(out, [(sizes, strides), *others])
    if rule == SUGGESTED:
        return suggested(sizes, strides, out)
    if rule == CHANNELS_LAST:
        return channels_last(out)
    if rule == MADE_CONTIGUOUS:
        return channels_last(out) if is_contiguous(out, channels_last(out)) else contiguous(out)
    if rule == MEAN:
        return suggested(sizes, strides, out)
    if rule == CONTIGUOUS:
        return contiguous(out)
    raise ValueError(f"unknown layout rule {rule!r}")


def concatenated(parts: list[tuple[Sizes, Strides]], out: Sizes) -> Strides:
    """`torch.cat(parts, dim=1)`: channels-last when every part suggests it, else the default layout."""
    return channels_last(out) if all(suggests_channels_last(*part) for part in parts) else contiguous(out)
