"""cnndsl/types/layout.py against PyTorch: the strides each kind of op gives its output, on CPU.

Layouts decide whether `flatten` and a pixel-wise linear layer copy (and so
what autograd saves); they are drawn here from the layouts the language
makes (the default, channels-last, a split's channel slice, one channel or
one position, where the two formats tie) and compared with what PyTorch does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.types import layout

SIZES = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))


@st.composite
def tensors(draw, sizes=None):
    """A tensor of the sizes (N, C, H, W), contiguous, channels-last, or a channel slice of either."""
    n, c, h, w = sizes if sizes is not None else draw(SIZES)
    form = draw(st.sampled_from(["contiguous", "channels_last", "slice"]))
    if form == "slice":  # part of x.chunk(k, dim=1)
        parts = draw(st.integers(2, 3))
        base = torch.empty(n, c * parts, h, w)
        if draw(st.booleans()):
            base = base.contiguous(memory_format=torch.channels_last)
        return base.chunk(parts, dim=1)[draw(st.integers(0, parts - 1))]
    x = torch.empty(n, c, h, w)
    return x.contiguous(memory_format=torch.channels_last) if form == "channels_last" else x


def facts(x: torch.Tensor):
    return tuple(x.shape), tuple(x.stride())


@settings(max_examples=300, deadline=None)
@given(tensors())
def test_the_format_predicates_are_pytorchs(x):
    sizes, strides = facts(x)
    assert layout.is_contiguous(sizes, strides) == x.is_contiguous()
    assert layout.is_channels_last_contiguous(sizes, strides) == x.is_contiguous(memory_format=torch.channels_last)
    assert layout.empty_like(sizes, strides) == tuple(torch.empty_like(x).stride())


@settings(max_examples=300, deadline=None)
@given(tensors(), st.data())
def test_element_wise_ops_lay_out_their_result_as_pytorch_does(x, data):
    sizes, strides = facts(x)
    assert layout.elementwise(sizes, [facts(x)]) == tuple(torch.relu(x).stride())
    other = data.draw(st.sampled_from(["same", "noise", "batch", "scale", "gate", "pixels"]))
    n, c, h, w = sizes
    shapes = {"noise": (n, 1, 1, 1), "batch": (1, 1, 1, 1), "scale": (c, 1, 1), "gate": (n, c, 1, 1), "pixels": (n, 1, h, w)}
    y = data.draw(tensors(sizes)) if other == "same" else torch.empty(shapes[other])
    for first, second in ((x, y), (y, x)) if other in ("same", "gate", "pixels") else ((x, y),):
        if first.dim() < 4:
            continue
        assert layout.elementwise(sizes, [facts(first), facts(second)]) == tuple((first * second).stride())
    mask = torch.empty_like(x)
    assert layout.elementwise(sizes, [facts(x), facts(mask)]) == tuple((x * mask).stride())


@settings(max_examples=300, deadline=None)
@given(tensors())
def test_views_and_copies_are_pytorchs(x):
    sizes, strides = facts(x)
    flat = x.flatten(1)
    assert layout.flattens_to_view(sizes, strides) == (flat.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())
    rows = x.permute(0, 2, 3, 1).reshape(-1, sizes[1])
    assert layout.rows_fold_to_view(sizes, strides) == (rows.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())


@settings(max_examples=200, deadline=None)
@given(tensors(), st.integers(1, 3))
def test_format_keeping_ops_follow_the_suggested_format(x, filters):
    sizes, strides = facts(x)
    conv = torch.nn.Conv2d(sizes[1], filters, 1)
    with torch.no_grad():
        out = conv(x)
    assert layout.suggested(sizes, strides, tuple(out.shape)) == tuple(out.stride())
    pooled = F.max_pool2d(x, 1)
    assert layout.suggested(sizes, strides, sizes) == tuple(pooled.stride())
    mean = F.adaptive_avg_pool2d(x, 1)
    assert layout.output_strides(layout.MEAN, sizes, strides, tuple(mean.shape)) == tuple(mean.stride())


@settings(max_examples=200, deadline=None)
@given(st.lists(tensors(), min_size=2, max_size=3), st.data())
def test_concatenation_is_channels_last_only_when_every_part_is(parts, data):
    n, _, h, w = parts[0].shape
    parts = [p for p in parts if p.shape[0] == n and p.shape[2:] == (h, w)]
    if len(parts) < 2:
        return
    out = torch.cat(parts, dim=1)
    assert layout.concatenated([facts(p) for p in parts], tuple(out.shape)) == tuple(out.stride())
