"""Receptive fields: the input region one unit of a layer's output sees, per axis.

Along one axis, the field of the units of a layer's input is a *path*
`(size r, jump j, start u)`: input unit m sees input pixels
`[u + m*j, u + m*j + r - 1]` (the padding included, as negative pixels or
pixels past the end). A window with kernel F, stride S, padding P and
dilation D maps it to

    r' = r + D*(F - 1)*j      j' = j*S      u' = u - P*j

(Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). The *effective padding* is `-u` (how far before
pixel 0 the field of unit 0 starts) and the jump is the effective stride.
The numbers do not depend on the input size, so a symbolic input has the
same field as any concrete one.

Where paths join (a residual's addition, a concatenation, a split, a gate's
product), a unit sees the union of what each path's unit sees. Paths with the same jump are *aligned*: for every unit m the union's
extent is `[min u, max (u + r - 1)] + m*j`, again a path, so they merge.
Paths whose jumps differ (possible only at a concrete input size: a 4x4 map
through `pool 2` and through `conv 1 k3` are both 2x2) stay apart; each goes
through the later layers on its own (the extent of a union through a window
is the union of the extents), and the field has no single size: it reports
the largest extent over the output units. A gate whose body ends in one unit
along an axis, broadcast onto the input, is a path of jump 0: every unit
meets that one unit.

Some layers see the whole input along an axis (`WHOLE`: a linear layer after
`flatten`; adaptive pooling to 1). Adaptive pooling to another size is a
window of `in/out` when `out` divides `in`; otherwise PyTorch's windows have
different sizes (`UNEVEN`), and for a symbolic input it depends on the size
(`DEPENDS`). Upsampling and a strided transposed convolution spread one unit
over several (a fractional jump): the units after them see fields of
different sizes (`UNEVEN` too); a transposed convolution of stride 1 is a
convolution with padding `D*(F - 1) - P`.
"""

from __future__ import annotations

from typing import Union

from ..record import Record
from .symbolic import Axis, Size

_set = object.__setattr__


# -- what a layer kind declares: its window along each axis (LayerKind.window)


class AxisWindow(Record):
    """A sliding window along one axis: kernel, stride, padding before the first pixel, dilation."""

    __slots__ = ("kernel", "stride", "padding", "dilation")
    kernel: int
    stride: int
    padding: int  # before the first pixel (`same` with an odd total pads one more after the last)
    dilation: int

    def __init__(self, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> None:
        _set(self, "kernel", kernel)
        _set(self, "stride", stride)
        _set(self, "padding", padding)
        _set(self, "dilation", dilation)


class AdaptiveWindow(Record):
    """Adaptive pooling to `size` units along the axis: its windows depend on the input size."""

    __slots__ = ("size",)
    size: int

    def __init__(self, size: int) -> None:
        _set(self, "size", size)


class WholeAxis(Record):
    """Every output unit depends on every input unit along the axis (a linear layer on a vector)."""

    __slots__ = ()


WHOLE = WholeAxis()


class UnevenAxis(Record):
    """Output units see fields of different sizes, not one affine family: upsampling and a strided transposed
    convolution (a fractional jump), unflattening a vector into a map."""

    __slots__ = ()


UNEVEN_AXIS = UnevenAxis()

# A kind's rule along one axis. A kind without a window keeps the field (LayerKind.window gives None).
AxisRule = Union[AxisWindow, AdaptiveWindow, WholeAxis, UnevenAxis]


# -- the field -------------------------------------------------------------------------

# The forms of a field along one axis, in the order a union keeps the strongest.
ALIGNED = "aligned"  # one path: a size, a jump, an effective padding
MISALIGNED = "misaligned"  # paths with different jumps: the extent depends on the unit
UNEVEN = "uneven"  # adaptive pooling whose windows differ in size
DEPENDS = "depends on the size"  # adaptive pooling of a symbolic input
WHOLE_INPUT = "whole"  # the unit sees the whole input along the axis
_STRENGTH = {ALIGNED: 0, MISALIGNED: 0, UNEVEN: 1, DEPENDS: 2, WHOLE_INPUT: 3}


class Path(Record):
    """Unit m sees input pixels [start + m*jump, start + m*jump + size - 1]."""

    __slots__ = ("size", "jump", "start")
    size: int
    jump: int
    start: int

    def __init__(self, size: int, jump: int, start: int) -> None:
        _set(self, "size", size)
        _set(self, "jump", jump)
        _set(self, "start", start)

    def through(self, window: AxisWindow) -> Path:
        return Path(
            self.size + window.dilation * (window.kernel - 1) * self.jump,
            self.jump * window.stride,
            self.start - window.padding * self.jump,
        )

    def extent(self, unit: int) -> tuple[int, int]:
        first = self.start + unit * self.jump
        return first, first + self.size - 1


UNIT_PATH = Path(1, 1, 0)


class AxisField(Record):
    """The receptive field along one axis: its paths (aligned ones merged) and its form."""

    __slots__ = ("paths", "form")
    paths: tuple[Path, ...]
    form: str  # ALIGNED, MISALIGNED, UNEVEN, DEPENDS or WHOLE_INPUT

    def __init__(self, paths: tuple[Path, ...], form: str = ALIGNED) -> None:
        _set(self, "paths", paths)
        _set(self, "form", form)

    @property
    def regular(self) -> bool:
        """Described by its paths: aligned or misaligned (not whole, not of uneven windows)."""
        return self.form in (ALIGNED, MISALIGNED)

    @property
    def size(self) -> int | None:
        """`r`, for an aligned field."""
        return self.paths[0].size if self.form == ALIGNED else None

    @property
    def jump(self) -> int | None:
        """`j`, the effective stride, for an aligned field."""
        return self.paths[0].jump if self.form == ALIGNED else None

    @property
    def padding(self) -> int | None:
        """The effective padding `-u`, for an aligned field."""
        return -self.paths[0].start if self.form == ALIGNED else None

    def extent(self, unit: int) -> tuple[int, int]:
        """The first and last input pixel that output unit `unit` depends on (padding included)."""
        extents = [path.extent(unit) for path in self.paths]
        return min(e[0] for e in extents), max(e[1] for e in extents)

    def largest(self, units: int) -> int:
        """The largest field over output units 0 .. units - 1 (the extent is convex in the unit: an end)."""
        return max(last - first + 1 for first, last in (self.extent(0), self.extent(max(units, 1) - 1)))

    def through(self, rule: AxisRule | None, size_in: Size) -> AxisField:
        """The field after a layer with this rule along the axis, from an input `size_in` units long."""
        if rule is None or self.form == WHOLE_INPUT:
            return self  # no window; or the whole input already, whatever comes after
        if isinstance(rule, WholeAxis) or isinstance(rule, AdaptiveWindow) and rule.size == 1:
            return AxisField(self.paths, WHOLE_INPUT)
        if not self.regular:
            return self  # windows of unknown sizes before: still unknown
        if isinstance(rule, UnevenAxis):
            return AxisField(self.paths, UNEVEN)
        if isinstance(rule, AdaptiveWindow):
            if isinstance(size_in, Axis):
                return AxisField(self.paths, DEPENDS)
            if size_in % rule.size:
                return AxisField(self.paths, UNEVEN)  # PyTorch's window i: [floor(i*n/m), ceil((i+1)*n/m))
            window = size_in // rule.size
            rule = AxisWindow(window, window)
        return AxisField(tuple(path.through(rule) for path in self.paths), self.form)

    def shifted(self, units) -> AxisField:
        """The field of the units `units` further on (a centre crop's offset); a symbolic offset: depends on the size."""
        if not isinstance(units, int):
            return self if not self.regular else AxisField(self.paths, DEPENDS)
        return AxisField(tuple(Path(p.size, p.jump, p.start + units * p.jump) for p in self.paths), self.form)

    def broadcast(self) -> AxisField:
        """The field of one unit stretched over every unit (a gate whose body ends in size 1): jump 0."""
        return AxisField(tuple(Path(p.size, 0, p.start) for p in self.paths), self.form)

    def text(self, units: Size) -> str:
        """`212 j32 p90` (size, jump, effective padding); `whole`; `up to 27` (misaligned, over `units`
        output units); `uneven`; `depends on size`."""
        if self.form == ALIGNED:
            return f"{self.size} j{self.jump} p{self.padding}"
        if self.form == MISALIGNED:
            return f"up to {self.largest(units)}" if isinstance(units, int) else "misaligned"
        if self.form == DEPENDS:
            return "depends on size"
        return self.form


UNIT_AXIS = AxisField((UNIT_PATH,))


def union(fields: list[AxisField]) -> AxisField:
    """The field of a join along one axis: the union of the paths, aligned ones merged."""
    strongest = max(fields, key=lambda f: _STRENGTH[f.form])
    if not strongest.regular:
        # Whole, uneven or size-dependent: the paths say nothing any more; keep one field's (a chain of
        # joins must not multiply them: 16 squeeze-and-excitation gates made 3**16).
        return strongest
    by_jump: dict[int, tuple[int, int]] = {}
    for field in fields:
        for path in field.paths:
            first, last = path.extent(0)
            if path.jump in by_jump:
                known_first, known_last = by_jump[path.jump]
                first, last = min(first, known_first), max(last, known_last)
            by_jump[path.jump] = (first, last)
    paths = tuple(Path(last - first + 1, jump, first) for jump, (first, last) in sorted(by_jump.items()))
    return AxisField(paths, ALIGNED if len(paths) == 1 else MISALIGNED)


class ReceptiveField(Record):
    """A layer's receptive field: the field of one output unit, per axis (height, width)."""

    __slots__ = ("height", "width")
    height: AxisField
    width: AxisField

    def __init__(self, height: AxisField, width: AxisField) -> None:
        _set(self, "height", height)
        _set(self, "width", width)

    @property
    def axes(self) -> tuple[AxisField, AxisField]:
        return (self.height, self.width)

    def through(self, rules: tuple[AxisRule, AxisRule] | None, height: Size, width: Size) -> ReceptiveField:
        """After a layer with these rules (None: keeps the field) on an input `height x width`."""
        if rules is None:
            return self
        axis = self.height.through(rules[0], height)
        if self.width is self.height and rules[1] is rules[0] and width == height:
            return ReceptiveField(axis, axis)  # square: one computation (and squareness stays visible by identity)
        return ReceptiveField(axis, self.width.through(rules[1], width))

    def exceeds(self, input_size: tuple[int, int], output_size: tuple[int, int]) -> bool:
        """Whether some unit's field is larger than the input along an axis (a whole field is the input)."""
        for axis, size, units in zip(self.axes, input_size, output_size):
            if axis.form == ALIGNED and axis.size > size or axis.form == MISALIGNED and axis.largest(units) > size:
                return True
        return False

    def text(self, output_size: tuple[Size, Size]) -> str:
        """`212 j32 p90`; `26x30 j8x4 p8x0` when the axes differ; `whole`."""
        height, width = self.axes
        if height.form == width.form == ALIGNED:

            def pair(a: int, b: int) -> str:
                return str(a) if a == b else f"{a}x{b}"

            return f"{pair(height.size, width.size)} j{pair(height.jump, width.jump)} p{pair(height.padding, width.padding)}"
        texts = [axis.text(units) for axis, units in zip(self.axes, output_size)]
        return texts[0] if texts[0] == texts[1] else f"{texts[0]} x {texts[1]}"

    def to_dict(self, input_size: tuple[Size, Size], output_size: tuple[Size, Size]) -> dict:
        """JSON: `{"size": [h, w], "jump": [h, w], "padding": [h, w], "form": [h, w]}`.

        A whole axis has the input's size (a symbolic one as its text) and no
        jump or padding; a misaligned one its largest extent; an uneven or
        size-dependent one none.
        """
        sizes = []
        for axis, whole, units in zip(self.axes, input_size, output_size):
            if axis.form == WHOLE_INPUT:
                sizes.append(whole if isinstance(whole, int) else str(whole))
            elif axis.form == MISALIGNED and isinstance(units, int):
                sizes.append(axis.largest(units))
            else:
                sizes.append(axis.size)
        return {
            "size": sizes,
            "jump": [axis.jump for axis in self.axes],
            "padding": [axis.padding for axis in self.axes],
            "form": [axis.form for axis in self.axes],
        }


UNIT_FIELD = ReceptiveField(UNIT_AXIS, UNIT_AXIS)


def join(fields: list[ReceptiveField]) -> ReceptiveField:
    """The field of a join (a residual's sum, a concatenation, a gate's product): the union, per axis."""
    height = union([field.height for field in fields])
    if all(field.width is field.height for field in fields):
        return ReceptiveField(height, height)  # square: one union
    return ReceptiveField(height, union([field.width for field in fields]))


def step_arithmetic(before: AxisField, window: AxisWindow) -> str:
    """`r = 6 + (5 - 1)*4 = 22, jump 4*1 = 4, padding 0 + 2*4 = 8` for an aligned field."""
    r, j, p = before.size, before.jump, before.padding
    spread = f"({window.kernel} - 1)" if window.dilation == 1 else f"{window.dilation}*({window.kernel} - 1)"
    after_r = r + window.dilation * (window.kernel - 1) * j
    return (
        f"r = {r} + {spread}*{j} = {after_r}, jump {j}*{window.stride} = {j * window.stride}, "
        f"padding {p} + {window.padding}*{j} = {p + window.padding * j}"
    )
