"""Property: random encoder-decoders with long skips and the issue-18 layers, static vs PyTorch.

A U of random depth: each level some size-keeping or shrinking layers, a
`keep`, then a downsampling step; the way up doubles the size again
(`upconv k2 s2`, `upsample 2`, or `upconv k4 s2 p1`) and joins the kept map
(`cat`, `add`, with `crop` when the convolutions are unpadded). The checker
may reject a draw (sizes that do not join); accepted programs must agree with
PyTorch layer by layer (output shapes, parameters), in their output and in
MACs (FlopCounterMode). A symbolic version is compared at several
admissible sizes.
"""

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnndsl
from test_property import runtime_layers, runtime_macs

EXTRAS = ["groupnorm 1", "instancenorm", "instancenorm affine", "prelu", "prelu perchannel", "dropout2d 0.2", "bn", "relu",
          "pad 1; conv {c} k3", "pad 1 reflect; conv {c} k3", "pad 1 replicate; conv {c} k3", "leakyrelu 0.2"]


@st.composite
def encoder_decoders(draw, symbolic=False):
    depth = draw(st.integers(1, 3))
    padded = draw(st.booleans())
    channels = draw(st.sampled_from([1, 2, 3, 4]))
    lines = []
    width = draw(st.sampled_from([2, 4, 6]))
    conv = f"conv {{c}} k3{' p1' if padded else ''}"
    widths = []
    for level in range(depth):
        c = width * (level + 1)
        widths.append(c)
        lines.append(conv.format(c=c) + draw(st.sampled_from(["", " relu", " nobias"])))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(EXTRAS)).format(c=c))
        lines.append(f"keep e{level}")
        lines.append(draw(st.sampled_from(["pool 2", "avgpool 2", f"conv {c} k2 s2"])))
    lines.append(conv.format(c=width * (depth + 1)) + " relu")
    for level in reversed(range(depth)):
        c = widths[level]
        lines.append(draw(st.sampled_from([f"upconv {c} k2 s2", f"upsample 2; conv {c} k1", f"upconv {c} k4 s2 p1 nobias"])))
        join = draw(st.sampled_from(["cat", "add"]))
        lines.append(f"{join} e{level}" + ("" if padded else " crop"))
        lines.append(conv.format(c=c))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(EXTRAS)).format(c=c))
    lines.append(f"conv {draw(st.integers(1, 3))} k1")
    if symbolic:
        modulus = 2 ** depth
        header = (f"input HxWx{channels} where H % {modulus} == {draw(st.integers(0, modulus - 1))}, "
                  f"W % {modulus} == {draw(st.integers(0, modulus - 1))}")
    else:
        header = f"input {draw(st.integers(6, 40))}x{draw(st.integers(6, 40))}x{channels}"
    return "network R\n" + header + "\n" + "\n".join(line for text in lines for line in text.split("; ")) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(encoder_decoders())
def test_encoder_decoders_agree_with_pytorch(text):
    typed = cnndsl.check_program(text, "random.cnn")
    assume(typed.ok)
    model = cnndsl.compile_source(text, "random.cnn").module_class()().eval()
    example = torch.randn(2, *typed.input.torch_shape)
    records, output = runtime_layers(model, example)
    assert records == [(layer.output.torch_shape, layer.params) for layer in typed.layers], text
    assert tuple(output.shape[1:]) == typed.output.torch_shape
    assert sum(p.numel() for p in model.parameters()) == typed.total_params
    assert runtime_macs(model, example[:1]) == typed.total_macs, text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(encoder_decoders(symbolic=True), st.integers(0, 3))
def test_symbolic_encoder_decoders_agree_at_admissible_sizes(text, steps):
    typed = cnndsl.check_program(text, "random.cnn")
    assume(typed.ok)
    model = cnndsl.compile_source(text, "random.cnn").module_class()().eval()
    height = typed.symbols["H"]
    width = typed.symbols["W"]
    # the smallest admissible size of both symbols together, then others above it
    for k, j in ((0, 0), (steps, steps + 1), (steps + 1, steps + 2)):
        h = height.bound + k * height.modulus
        w = width.bound + j * width.modulus
        instance = cnndsl.instantiate(typed, h, w)
        assert instance.ok, (text, h, w, instance.diagnostics)
        with torch.no_grad():
            out = model(torch.randn(1, typed.input.channels, h, w))
        assert tuple(out.shape[1:]) == instance.output.torch_shape, (text, h, w)
        # the symbolic output type, evaluated, is the instance's
        sizes = {"H": h, "W": w}
        assert [d if isinstance(d, int) else d.value(sizes) for d in typed.output.torch_shape] == list(instance.output.torch_shape)
