"""Property: for random valid programs, the static types equal what PyTorch does.

Programs are drawn with blocks, repeats, residuals, concats, splits and
gates (nested). The generator only
roughly tracks sizes to steer towards valid programs; validity itself is the
compiler's call (invalid draws are rejected), and the assertion is against
PyTorch at run time: every leaf layer's output shape and parameter count, the
final output, and the MACs (half of FlopCounterMode's FLOPs).
"""

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import cnndsl

ACTIVATIONS = ["relu", "relu6", "leakyrelu", "leakyrelu 0.2", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]


class Draft:
    """A program being drawn, with a rough idea of the current map size."""

    def __init__(self, height, width, channels):
        self.lines = []
        self.blocks = []
        self.size = min(height, width)
        self.channels = channels

    def emit(self, line, indent=0):
        self.lines.append("  " * indent + line)


def _conv(draw, draft, indent, keep_size=False):
    channels = draft.channels
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if channels % g == 0]))
    filters = groups * draw(st.integers(1, 4))
    if keep_size:
        kernel = draw(st.sampled_from([1, 3, 5]))
        options = [f"k{kernel}", f"p{kernel // 2}"] if draw(st.booleans()) else [f"k{kernel}", "same"]
        filters = channels
        groups = 1
    else:
        kernel_h = draw(st.integers(1, max(1, min(5, draft.size))))
        kernel_w = draw(st.integers(1, max(1, min(5, draft.size))))
        kernel = f"{kernel_h}" if kernel_h == kernel_w else f"{kernel_h}x{kernel_w}"
        stride = draw(st.sampled_from([1, 1, 2, 3]))
        padding = draw(st.integers(0, 2))
        dilation = draw(st.sampled_from([1, 1, 2]))
        options = [f"k{kernel}", f"s{stride}", f"p{padding}", f"d{dilation}"]
        options = draw(st.permutations(options))
        if draw(st.booleans()):
            options = [o.replace("k", "kernel=", 1) if o.startswith("k") else o for o in options]
        draft.size = max(1, (draft.size + 2 * padding - dilation * (max(kernel_h, kernel_w) - 1) - 1) // stride + 1)
    words = [f"conv {filters}", *options]
    if groups > 1:
        words.append(f"g{groups}")
    if draw(st.booleans()):
        words.append("nobias")
    if draw(st.booleans()):
        words.append(draw(st.sampled_from(ACTIVATIONS)))
    draft.channels = filters
    draft.emit(" ".join(words), indent)


def _pool(draw, draft, indent):
    kind = draw(st.sampled_from(["pool", "maxpool", "avgpool"]))
    if draw(st.integers(0, 4)) == 0:
        size = draw(st.integers(1, 3))
        draft.emit(f"{kind} to {size}" if draw(st.booleans()) else f"{kind} to {size}x{size}", indent)
        draft.size = size
        return
    window = draw(st.integers(1, max(1, min(3, draft.size))))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, window // 2))
    words = [f"{kind} {window}"]
    if draw(st.booleans()):
        words.append(f"s{stride}")
    else:
        stride = window
    if padding:
        words.append(f"p{padding}")
    if draw(st.booleans()):
        words.append("ceil")
    draft.size = max(1, (draft.size + 2 * padding - window) // stride + 1)
    draft.emit(" ".join(words), indent)


# Layers that keep the type of a map (batchnorm, layernorm, layer scale, dropout, activations).
SHAPE_KEEPING = [
    "bn", "batchnorm", "bn eps=0.001 momentum=0.01", "layernorm", "layernorm eps=1e-6", "layerscale 1e-6",
    "layerscale 0.5", "dropout 0.3", *ACTIVATIONS,
    # issue 18's shape-keeping kinds
    "prelu", "prelu perchannel", "groupnorm 1", "dropout2d 0.1",
]


def _simple(draw, draft, indent):
    draft.emit(draw(st.sampled_from(SHAPE_KEEPING)), indent)


def _channels(draw, draft, indent):
    """A layer that works on the channels at every position: a shuffle, or a pixelwise linear."""
    if draw(st.booleans()):
        groups = draw(st.sampled_from([g for g in (2, 3, 4) if draft.channels % g == 0] or [1]))
        if groups > 1:
            draft.emit(f"shuffle {groups}", indent)
            return
    features = draw(st.integers(1, 8))
    words = [f"linear {features} pixelwise"]
    if draw(st.booleans()):
        words.append("nobias")
    if draw(st.booleans()):
        words.append(draw(st.sampled_from(ACTIVATIONS)))
    draft.channels = features
    draft.emit(" ".join(words), indent)


def _residual(draw, draft, indent):
    draft.emit("residual {", indent)
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            _conv(draw, draft, indent + 1, keep_size=True)
        else:
            _simple(draw, draft, indent + 1)
    if draw(st.booleans()):  # stochastic depth ends a residual body (the identity in eval mode)
        draft.emit(draw(st.sampled_from(["stochdepth 0.2", "droppath 0.1 batch"])), indent + 1)
    if draw(st.booleans()):
        draft.emit("} shortcut {", indent)
        _conv(draw, draft, indent + 1, keep_size=True)
    draft.emit("}", indent)


def _branch_statement(draw, draft, indent, depth):
    """One statement that keeps the height and width (branches must agree on them)."""
    choice = draw(st.integers(0, 7 if depth < 2 else 4))
    if choice <= 1:
        filters = draw(st.integers(1, 6))
        kernel = draw(st.sampled_from([1, 3]))
        draft.emit(f"conv {filters} k{kernel} p{kernel // 2}" + draw(st.sampled_from(["", " nobias", " relu"])), indent)
        draft.channels = filters
    elif choice == 2:
        draft.emit(draw(st.sampled_from(["pool 3 s1 p1", "avgpool 3 s1 p1", "pool 3 s1 p1 ceil"])), indent)
    elif choice == 3:
        _simple(draw, draft, indent)
    elif choice == 4:
        _residual(draw, draft, indent)
    elif choice <= 6:
        _join(draw, draft, indent, depth + 1)
    else:
        _gate(draw, draft, indent, depth + 1)


def _join(draw, draft, indent, depth):
    """concat or split with 1 to 4 branches (some empty), on one line or several."""
    channels = draft.channels
    counts = [n for n in (2, 3, 4) if channels % n == 0]
    split = bool(counts) and draw(st.booleans())
    count = draw(st.sampled_from(counts)) if split else draw(st.integers(1, 4))
    part = channels // count if split else channels
    draft.emit("split {" if split else "concat {", indent)
    total = 0
    for _ in range(count):
        draft.channels = part
        statements = draw(st.integers(0, 2))
        if statements == 0:
            draft.emit("branch { }", indent + 1)
        else:
            draft.emit("branch {", indent + 1)
            for _ in range(statements):
                _branch_statement(draw, draft, indent + 2, depth)
            draft.emit("}", indent + 1)
        total += draft.channels
    draft.emit("}", indent)
    draft.channels = total


def _gate(draw, draft, indent, depth):
    """A gate whose output broadcasts onto its input: per channel, per position or per element."""
    channels = draft.channels
    form = draw(st.sampled_from(["channel", "position", "element", "nested"]))
    draft.emit("gate {", indent)
    if form == "channel":
        pool = draw(st.sampled_from(["avgpool to 1", "pool to 1"]))
        draft.emit(f"{pool}; conv {draw(st.integers(1, 4))} k1 relu; conv {channels} k1", indent + 1)
    elif form == "position":
        draft.emit(f"conv 1 k{draw(st.sampled_from([1, 3]))} same", indent + 1)
    elif form == "element":
        draft.emit(f"conv {channels} k3 p1", indent + 1)
    else:
        draft.emit(f"concat {{ branch {{ }} branch {{ conv {channels} k1 }} }}; conv {channels} k1", indent + 1)
    draft.emit(draw(st.sampled_from(["sigmoid", "tanh", "relu6"])), indent + 1)
    draft.emit("}", indent)
    draft.channels = channels


def _stage(draw, draft, indent, depth):
    choice = draw(st.integers(0, 11 if depth < 2 else 5))
    if choice == 10:
        _join(draw, draft, indent, depth)
        return
    if choice == 11:
        _gate(draw, draft, indent, depth)
        return
    if choice <= 1:
        _conv(draw, draft, indent)
    elif choice <= 2:
        _channels(draw, draft, indent) if draw(st.integers(0, 2)) == 0 else _conv(draw, draft, indent)
    elif choice <= 3:
        _pool(draw, draft, indent)
    elif choice <= 5:
        _simple(draw, draft, indent)
    elif choice <= 7:
        _residual(draw, draft, indent)
    else:
        # repeat of size-keeping layers (a repeat of shrinking layers would often not fit)
        count = draw(st.integers(0, 3))
        draft.emit(f"repeat {count} {{", indent)
        _conv(draw, draft, indent + 1, keep_size=True)
        _simple(draw, draft, indent + 1)
        draft.emit("}", indent)


# A parameterised block, called with the current channels: it keeps the size.
UNIT_BLOCK = [
    "block unit(c, f) {",
    "  conv c kernel=f p1 relu",
    "  residual { conv c k3 p1; bn }",
    "}",
]


def draw_body(draw, draft, stage=_stage):
    """One to six stages into `draft`, sometimes with calls of the `unit` block.

    Returns the block definitions the body needs (lines to put first).
    `stage` draws one stage; tests/test_symbolic_property.py adds its own.
    """
    with_block = draw(st.booleans())
    for _ in range(draw(st.integers(1, 6))):
        stage(draw, draft, 0, 0)
        if with_block and draw(st.integers(0, 3)) == 0:
            draft.emit(f"unit {draft.channels} 3")
    return UNIT_BLOCK if with_block else []


def draw_classifier(draw, draft, least=0):
    """`flatten`, then `least` to 2 linear layers with activations."""
    draft.emit("flatten")
    for _ in range(draw(st.integers(least, 2))):
        draft.emit(f"linear {draw(st.integers(1, 12))}" + draw(st.sampled_from(["", " relu", " nobias", " nobias tanh"])))
        if draw(st.booleans()):
            draft.emit(draw(st.sampled_from(["bn", "layernorm", "dropout 0.1", "softmax", "logsoftmax", "relu", "hardswish"])))


@st.composite
def programs(draw):
    height, width = draw(st.integers(4, 24)), draw(st.integers(4, 24))
    channels = draw(st.integers(1, 6))
    draft = Draft(height, width, channels)
    blocks = draw_body(draw, draft)
    if draw(st.booleans()):
        draw_classifier(draw, draft)
    return "\n".join([*blocks, f"input {height}x{width}x{channels}", *draft.lines]) + "\n"


def runtime_layers(model, example):
    """Each leaf layer's (output shape without the batch, parameter count), in call order; and the output."""
    records = []
    # Leaves: modules without children (an empty nn.Sequential is a container, not a layer).
    # An nn.Identity is an empty branch (the input itself), not a layer.
    leaves = [m for m in model.modules() if not list(m.children()) and not isinstance(m, (torch.nn.Sequential, torch.nn.Identity))]
    handles = [
        leaf.register_forward_hook(lambda m, i, o: records.append((tuple(o.shape[1:]), sum(p.numel() for p in m.parameters()))))
        for leaf in leaves
    ]
    with torch.no_grad():
        output = model(example)
    for handle in handles:
        handle.remove()
    return records, output


def runtime_macs(model, example):
    """Multiply-accumulates of one forward pass over `example`: half of FlopCounterMode's FLOPs (meta works)."""
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            model(example)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs())
def test_static_types_equal_pytorch_at_runtime(text):
    typed = cnndsl.check_program(text, "random.cnn")
    assume(typed.ok)
    program = cnndsl.compile_source(text, "random.cnn")
    model = program.module_class()().eval()
    example = torch.randn(2, *typed.input.torch_shape)
    records, output = runtime_layers(model, example)
    expected = [(layer.output.torch_shape, layer.params) for layer in typed.layers]
    assert records == expected, text
    assert tuple(output.shape[1:]) == typed.output.torch_shape
    assert sum(p.numel() for p in model.parameters()) == typed.total_params
    assert runtime_macs(model, example[:1]) == typed.total_macs, text


@settings(max_examples=40, deadline=None)
@given(programs())
def test_generated_text_is_deterministic_and_formatted(text):
    typed = cnndsl.check_program(text, "random.cnn")
    assume(typed.ok)
    first = cnndsl.compile_source(text, "random.cnn").python_source
    import black

    assert black.format_str(first, mode=black.Mode()) == first
    assert cnndsl.compile_source(text, "random.cnn").python_source == first
