"""Static types of the values that flow between layers, and window arithmetic."""

from __future__ import annotations

from typing import Union

from .symbolic import Axis, Size, Step, count, factor_text, window_arithmetic
from ..record import Record

_set = object.__setattr__

# PyTorch indexes many kernels with 32-bit integers; beyond this no model builds.
MAX_VALUE = 2**31 - 1


class MapType(Record):
    """A feature map: height x width x channels (PyTorch: (N, C, H, W))."""

    __slots__ = ("height", "width", "channels")
    height: Size  # an int, or an Axis for a symbolic input (`H`, `(H+1)//2`)
    width: Size
    channels: int

    def __init__(self, height: Size, width: Size, channels: int) -> None:
        _set(self, "height", height)
        _set(self, "width", width)
        _set(self, "channels", channels)

    def __str__(self) -> str:
        parts = (str(self.height), str(self.width), str(self.channels))
        if all(part.isidentifier() or part.isdigit() for part in parts):
            return "x".join(parts)  # 32x32x3, HxWx64
        return " x ".join(parts)  # (H+1)//2 x (W+1)//2 x 64

    @property
    def torch_shape(self) -> tuple:
        return (self.channels, self.height, self.width)

    @property
    def symbolic(self) -> bool:
        return isinstance(self.height, Axis) or isinstance(self.width, Axis)

    @property
    def elements(self):
        """H*W*C: an int, or a Count for a symbolic map."""
        return count(self.channels, self.height, self.width)

    @property
    def area_text(self) -> str:
        """`32*32*3`, `H*W*3`: the product that gives the elements."""
        return f"{factor_text(self.height)}*{factor_text(self.width)}*{self.channels}"

    @property
    def noun(self) -> str:
        return "feature map"


class VectorType(Record):
    """A vector of features (PyTorch: (N, F))."""

    __slots__ = ("features",)
    features: int

    def __init__(self, features: int) -> None:
        _set(self, "features", features)

    def __str__(self) -> str:
        return str(self.features)

    symbolic = False

    @property
    def torch_shape(self) -> tuple[int, ...]:
        return (self.features,)

    @property
    def elements(self) -> int:
        return self.features

    @property
    def noun(self) -> str:
        return "vector"


Shape = Union[MapType, VectorType]


def class_shape(shape: Shape) -> str:
    """`(3, 224, 224)`; a symbolic size is None, as PyTorch users write it: `(3, None, None)`.

    What a generated class's `input_shape` says (the code generator and hover).
    """
    sizes = [d if isinstance(d, int) else None for d in shape.torch_shape]
    return repr(tuple(sizes))


def describe(shape: Shape) -> str:
    """A shape in the user's words: `16x16x20 feature map`, `5120 vector`."""
    return f"{shape} {shape.noun}"


class Window(Record):
    """One axis of a convolution or pooling window, with PyTorch's size rule."""

    __slots__ = ("size", "kernel", "stride", "padding", "dilation", "ceil")
    size: Size
    kernel: int
    stride: int
    padding: int
    dilation: int
    ceil: bool

    def __init__(self, size: Size, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1, ceil: bool = False) -> None:
        _set(self, "size", size)
        _set(self, "kernel", kernel)
        _set(self, "stride", stride)
        _set(self, "padding", padding)
        _set(self, "dilation", dilation)
        _set(self, "ceil", ceil)

    @property
    def reach(self) -> int:
        """`D*(F - 1) + 1`: how many input positions one window spans."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def span_left(self) -> int:
        """`in + 2P - D*(F - 1) - 1`: the room the window has to move in."""
        return self.size + 2 * self.padding - self.reach

    @property
    def symbolic(self) -> bool:
        return isinstance(self.size, Axis)

    @property
    def output(self) -> Size:
        if isinstance(self.size, Axis):
            return self.size.then(Step(self.reach, self.stride, self.padding, self.ceil))
        room = self.span_left
        if not self.ceil:
            return room // self.stride + 1
        out = -(-room // self.stride) + 1
        # PyTorch drops a last window that would start inside the right padding.
        if (out - 1) * self.stride >= self.size + self.padding:
            out -= 1
        return out

    @property
    def unused(self) -> int:
        """Input rows (or columns) no window reaches (never for ceil mode)."""
        if self.ceil or self.span_left < 0:
            return 0
        return self.span_left % self.stride

    def arithmetic(self) -> str:
        """The size rule with the user's numbers: `(130 + 2*0 - 3)/1 + 1 = 128`."""
        if isinstance(self.size, Axis):
            return window_arithmetic(self.size, self.kernel, self.stride, self.padding, self.dilation, self.ceil)
        if self.dilation == 1:
            inner = f"{self.size} + 2*{self.padding} - {self.kernel}"
        else:
            inner = f"{self.size} + 2*{self.padding} - {self.dilation}*({self.kernel} - 1) - 1"
        if self.ceil:
            core = f"ceil(({inner})/{self.stride})"
        elif self.span_left % self.stride:
            core = f"floor(({inner})/{self.stride})"
        else:
            core = f"({inner})/{self.stride}"
        text = f"{core} + 1 = {self.output}"
        if self.ceil and self.output != -(-self.span_left // self.stride) + 1:
            text += " (the last window would start in the padding, so PyTorch drops it)"
        return text


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """PyTorch's `padding="same"`: total D*(F-1), the extra one at the end."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2
