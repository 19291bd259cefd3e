"""Random .cnn programs for the oracle tests: windows of every kind, and residuals of every shape.

`programs()` is a hypothesis strategy that draws program text while
tracking the exact height, width and channels (PyTorch's size rule, from
`cnndsl.types.shapes.Window`), so that nearly every draw checks. Residuals
come in three shapes: an identity or 1x1 shortcut around a body that keeps
the size; ResNet's downsampling (a stride-2 3x3 convolution in the body, a
stride-2 1x1 projection as the shortcut: aligned paths); and paths whose
jumps differ (`pool 2` against a convolution that reaches the same size:
possible only at a concrete size). Validity is still the compiler's call:
the tests skip what does not check.
"""

from __future__ import annotations

from hypothesis import strategies as st

from cnndsl.types.shapes import Window

ACTIVATIONS = ["relu", "relu6", "leakyrelu", "leakyrelu 0.2", "elu", "gelu", "silu", "sigmoid", "tanh"]


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
    d.emit(d.draw(st.sampled_from(["bn", "dropout 0.3", "dropout 0", *ACTIVATIONS])))


def residual(d: Draft, depth: int) -> None:
    """An identity or 1x1 shortcut around a body that keeps the size."""
    draw = d.draw
    before = d.channels
    d.emit("residual {")
    d.indent += 1
    for _ in range(draw(st.integers(1, 3))):
        stage(d, depth + 1, keep_size=True)
    d.indent -= 1
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


def stage(d: Draft, depth: int, keep_size: bool = False, adaptive: bool = True, odd_paths: bool = True) -> None:
    choice = d.draw(st.integers(0, 9 if depth < 2 else 5))
    if choice <= 2:
        conv(d, keep_size)
    elif choice == 3:
        pool(d, keep_size, adaptive)
    elif choice <= 5:
        elementwise(d)
    elif choice <= 7:
        residual(d, depth)
    elif keep_size:
        return
    elif choice == 8:
        downsampling(d)
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
