"""Random .cnn programs for the oracle tests: windows of every kind, joins of every shape.

`programs()` is a hypothesis strategy that draws program text while
tracking the exact height, width and channels (PyTorch's size rule, from
`cnndsl.types.shapes.Window`), so that nearly every draw checks. Residuals
come in three shapes: an identity or 1x1 shortcut around a body that keeps
the size; ResNet's downsampling (a stride-2 3x3 convolution in the body, a
stride-2 1x1 projection as the shortcut: aligned paths); and paths whose
jumps differ (`pool 2` against a convolution that reaches the same size:
possible only at a concrete size). Concatenations, splits (whose branches
get views of their part of the channels) and gates (squeeze-and-excitation,
spatial, the input squared, a whole body) join branches that keep the size.
Long skips (`keep`, then `cat` or `add`) join too. The shape-keeping kinds
(normalisations, layer scales, shuffles, pixel-wise linear layers that leave
channels-last memory behind, stochastic depth at the end of a residual body,
PReLU, Dropout2d) and the growing ones (padding, upsampling, transposed
convolutions) come in too. Validity is still the compiler's call:
the tests skip what does not check.
"""

from __future__ import annotations

from hypothesis import strategies as st

from cnndsl.types.shapes import Window

ACTIVATIONS = [
    "relu", "relu6", "leakyrelu", "leakyrelu 0.2", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
]  # fmt: skip


class Draft:
    """A program being drawn: its lines and the exact current type."""

    def __init__(self, draw, height: int, width: int, channels: int) -> None:
        self.draw = draw
        self.height, self.width, self.channels = height, width, channels
        self.lines: list[str] = []
        self.indent = 0

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.indent + line)

    def window(self, kernel, stride, padding, dilation=(1, 1), ceil=False) -> tuple[int, int] | None:
        """The output size of a window on the current map, or None if it does not fit."""
        sizes = []
        for axis, size in enumerate((self.height, self.width)):
            out = Window(size, kernel[axis], stride[axis], padding[axis], dilation[axis], ceil).output
            if out < 1:
                return None
            sizes.append(out)
        return sizes[0], sizes[1]


def _pair_text(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def conv(d: Draft, keep_size: bool = False) -> None:
    draw = d.draw
    channels = d.channels
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
    filters = groups * draw(st.integers(1, 3))
    if keep_size:
        kernel = draw(st.sampled_from([1, 3, 5]))
        dilation = draw(st.sampled_from([1, 1, 2]))
        words = [f"conv {filters} k{kernel}", "same" if draw(st.integers(0, 3)) == 0 else f"p{dilation * (kernel // 2)}"]
        if dilation > 1:
            words.append(f"d{dilation}")
        size = (d.height, d.width)
    else:
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        dilation = (draw(st.sampled_from([1, 1, 2])),) * 2
        if draw(st.integers(0, 4)) == 0:  # `same` (stride 1): odd totals pad one more at the end
            words = [f"conv {filters} k{_pair_text(kernel)} same", f"d{dilation[0]}"]
            size = (d.height, d.width)
        else:
            stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            size = d.window(kernel, stride, padding, dilation)
            if size is None:
                return
            words = [f"conv {filters} k{_pair_text(kernel)}", f"s{_pair_text(stride)}", f"p{_pair_text(padding)}", f"d{dilation[0]}"]
    if groups > 1:
        words.append(f"g{groups}")
    if draw(st.booleans()):
        words.append("nobias")
    if draw(st.booleans()):
        words.append(draw(st.sampled_from(ACTIVATIONS)))  # right after a conv: in place where it can be
    d.emit(" ".join(words))
    d.height, d.width = size
    d.channels = filters
    if draw(st.booleans()):
        d.emit("bn")
        if draw(st.booleans()):
            d.emit(draw(st.sampled_from(["relu", "relu6", "silu", "elu", "leakyrelu"])))  # in place after bn


def pool(d: Draft, keep_size: bool = False, adaptive: bool = True) -> None:
    draw = d.draw
    kind = draw(st.sampled_from(["pool", "avgpool"]))
    if keep_size:
        d.emit(f"{kind} 3 s1 p1")
        return
    if adaptive and draw(st.integers(0, 4)) == 0:
        size = draw(st.integers(1, 3))
        d.emit(f"{kind} to {size}")
        d.height = d.width = size
        return
    window = (draw(st.integers(1, 3)),) * 2
    stride = (draw(st.integers(1, 3)),) * 2
    padding = (draw(st.integers(0, window[0] // 2)),) * 2
    ceil = draw(st.booleans())
    size = d.window(window, stride, padding, ceil=ceil)
    if size is None:
        return
    d.emit(f"{kind} {window[0]} s{stride[0]}" + (f" p{padding[0]}" if padding[0] else "") + (" ceil" if ceil else ""))
    d.height, d.width = size


def elementwise(d: Draft) -> None:
    draw = d.draw
    choice = draw(st.sampled_from(["plain", "layernorm", "layerscale", "shuffle", "pixelwise", "more"]))
    if choice == "plain":
        d.emit(draw(st.sampled_from(["bn", "dropout 0.3", "dropout 0", *ACTIVATIONS])))
    elif choice == "more":
        groups = [g for g in (1, 2) if d.channels % g == 0]
        d.emit(draw(st.sampled_from([
            f"groupnorm {draw(st.sampled_from(groups))}", "instancenorm", "instancenorm affine", "dropout2d 0.3",
            "prelu", "prelu perchannel",
        ])))  # fmt: skip
    elif choice == "layernorm":
        d.emit("layernorm")
    elif choice == "layerscale":
        d.emit("layerscale 0.5")
    elif choice == "shuffle":
        groups = [g for g in (2, 3) if d.channels % g == 0]
        if groups:
            d.emit(f"shuffle {draw(st.sampled_from(groups))}")
    else:  # channels-last memory after it (or the default layout, with an activation on its line)
        features = draw(st.integers(1, 6))
        d.emit(f"linear {features} pixelwise" + draw(st.sampled_from(["", " gelu", " relu"])))
        d.channels = features


def resize(d: Draft) -> None:
    """Padding, upsampling or a transposed convolution: sizes grow (and fields stop being one extent)."""
    draw = d.draw
    kind = draw(st.sampled_from(["pad", "upsample", "upconv"]))
    if kind == "pad":
        mode = draw(st.sampled_from(["", " reflect", " replicate", " circular"]))
        amount = draw(st.integers(1, 2))
        if mode and amount >= min(d.height, d.width):
            return
        d.emit(f"pad {amount}{mode}")
        d.height, d.width = d.height + 2 * amount, d.width + 2 * amount
    elif kind == "upsample":
        d.emit("upsample 2" + draw(st.sampled_from(["", " bilinear", " bilinear aligned"])))
        d.height, d.width = 2 * d.height, 2 * d.width
    else:
        filters = draw(st.integers(1, 4))
        d.emit(f"upconv {filters} k2 s2" + draw(st.sampled_from(["", " relu", " nobias"])))
        d.height, d.width, d.channels = 2 * d.height, 2 * d.width, filters


def skip(d: Draft, depth: int) -> None:
    """`keep NAME` ... `cat NAME` or `add NAME`, around stages that keep the size."""
    draw = d.draw
    name = f"k{depth}"
    kept = d.channels
    d.emit(f"keep {name}")
    for _ in range(draw(st.integers(1, 2))):
        stage(d, depth + 1, keep_size=True)
    if d.channels == kept and draw(st.booleans()):
        d.emit(f"add {name}")
    else:
        d.emit(f"cat {name}")
        d.channels += kept


def residual(d: Draft, depth: int) -> None:
    """An identity or 1x1 shortcut around a body that keeps the size."""
    draw = d.draw
    before = d.channels
    d.emit("residual {")
    d.indent += 1
    for _ in range(draw(st.integers(1, 3))):
        stage(d, depth + 1, keep_size=True)
    d.indent -= 1
    if draw(st.integers(0, 3)) == 0:  # drops the body (torchvision's stochastic depth)
        d.emit("  " * (d.indent + 1) + f"stochdepth {draw(st.sampled_from(['0.2', '0']))}" + draw(st.sampled_from(["", " batch"])))
    if d.channels != before or draw(st.integers(0, 3)) == 0:
        d.emit("} shortcut {")
        d.emit(f"  conv {d.channels} k1")
    d.emit("}")


def downsampling(d: Draft) -> None:
    """ResNet's: stride 2 in the body's 3x3 convolution and in the 1x1 projection (the same jump)."""
    wide = 2 * d.channels
    d.emit("residual {")
    d.emit(f"  conv {wide} k3 s2 p1 nobias; bn; relu")
    d.emit(f"  conv {wide} k3 p1 nobias; bn")
    d.emit("} shortcut {")
    d.emit(f"  conv {wide} k1 s2 nobias; bn")
    d.emit("}")
    d.height, d.width = (d.height - 1) // 2 + 1, (d.width - 1) // 2 + 1
    d.channels = wide


def misaligned(d: Draft) -> None:
    """`pool 2` (jump 2) and a convolution that reaches the same size (jump 1): the paths' jumps differ."""
    if min(d.height, d.width) < 4:
        return
    kernel = (d.height - d.height // 2 + 1, d.width - d.width // 2 + 1)
    d.emit("residual {")
    d.emit("  pool 2")
    d.emit("} shortcut {")
    d.emit(f"  conv {d.channels} k{_pair_text(kernel)}")
    d.emit("}")
    d.height, d.width = d.height // 2, d.width // 2


def join(d: Draft, depth: int, split: bool) -> None:
    """`concat` or `split` of two or three branches that keep the size (an empty one is the input)."""
    draw = d.draw
    count = draw(st.integers(2, 3))
    if split and d.channels % count:
        return
    part = d.channels // count if split else d.channels
    d.emit("split {" if split else "concat {")
    total = 0
    d.indent += 1
    for _ in range(count):
        d.channels = part
        d.emit("branch {")
        d.indent += 1
        for _ in range(draw(st.integers(0, 2))):
            stage(d, depth + 1, keep_size=True)
        d.indent -= 1
        d.emit("}")
        total += d.channels
    d.indent -= 1
    d.emit("}")
    d.channels = total


def gate(d: Draft, depth: int, adaptive: bool) -> None:
    """`x * body(x)`: squeeze-and-excitation, a weight per position, the input squared, or a whole body."""
    draw = d.draw
    channels = d.channels
    squash = draw(st.sampled_from(["sigmoid", "hardsigmoid"]))
    kind = draw(st.sampled_from(["se", "spatial", "square", "body"] if adaptive else ["spatial", "square", "body"]))
    if kind == "se":
        d.emit(f"gate {{ avgpool to 1; conv {draw(st.integers(1, 4))} k1 relu; conv {channels} k1; {squash} }}")
    elif kind == "spatial":
        d.emit(f"gate {{ conv 1 k3 p1; {squash} }}")
    elif kind == "square":
        d.emit("gate { }")  # W0005: allowed, and what autograd saves is well defined
    else:
        d.emit("gate {")
        d.indent += 1
        for _ in range(draw(st.integers(1, 2))):
            stage(d, depth + 1, keep_size=True)
        d.emit(f"conv {channels} k1 {squash}")
        d.indent -= 1
        d.emit("}")
        d.channels = channels


def stage(d: Draft, depth: int, keep_size: bool = False, adaptive: bool = True, odd_paths: bool = True) -> None:
    choice = d.draw(st.integers(0, 14 if depth < 2 else 5))
    if choice <= 2:
        conv(d, keep_size)
    elif choice == 3:
        pool(d, keep_size, adaptive)
    elif choice <= 5:
        elementwise(d)
    elif choice <= 7:
        residual(d, depth)
    elif choice <= 9:
        join(d, depth, split=choice == 9)
    elif choice == 10:
        gate(d, depth, adaptive)
    elif keep_size:
        return
    elif choice == 11:
        downsampling(d)
    elif choice == 12:
        skip(d, depth)
    elif choice == 13:
        if odd_paths:  # the fields after it are not one extent either
            resize(d)
    elif odd_paths:
        misaligned(d)


@st.composite
def programs(draw, adaptive: bool = True, odd_paths: bool = True, classifier: bool = True, min_size: int = 6, max_size: int = 28):
    """Program text. `adaptive`: adaptive pooling (whole and uneven fields); `odd_paths`: residuals whose
    paths' jumps differ; `classifier`: sometimes flatten and linear layers at the end."""
    d = Draft(draw, draw(st.integers(min_size, max_size)), draw(st.integers(min_size, max_size)), draw(st.integers(1, 5)))
    d.emit(f"input {d.height}x{d.width}x{d.channels}")
    for _ in range(draw(st.integers(1, 6))):
        stage(d, 0, adaptive=adaptive, odd_paths=odd_paths)
    if len(d.lines) == 1:
        d.emit("conv 2 k1")
    if classifier and draw(st.booleans()):
        d.emit("flatten")
        for _ in range(draw(st.integers(1, 2))):
            d.emit(f"linear {draw(st.integers(2, 8))}" + draw(st.sampled_from(["", " relu", " nobias"])))
            if draw(st.booleans()):
                d.emit(draw(st.sampled_from(["bn", "dropout 0.2", "relu", "softmax"])))
    return "\n".join(d.lines) + "\n"
