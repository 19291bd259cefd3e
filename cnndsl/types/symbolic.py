"""Sizes as functions of an input symbol: `H`, `H-2`, `(H+1)//2`.

Along one axis, every window layer maps the incoming size `x` with PyTorch's
rule. Floor-mode steps compose exactly:

    floor((floor((x + A) / M) + a) / S) = floor((x + A + a*M) / (M*S))

so any chain of them is `floor((x + A) / M)` and prints as `(H+A)//M`. A
ceil-mode pooling step (with PyTorch's "drop a last window that starts in the
padding" rule) folds the same way, with a different offset (see `then`).
The function is
monotone non-decreasing and quasi-affine: `f(x + L) = f(x) + 1` for the period
`L` (the product of the strides). That is what makes the two questions the
checker asks decidable exactly:

- positivity: f is monotone, so f(x) >= 1 for all admissible x iff it holds
  at the smallest admissible x;
- equality of two such functions for all admissible x: equal slopes, and
  equal values on one full period (lcm of the two) from the smallest
  admissible size.

Layers that grow (transposed convolutions, upsampling) multiply a size and
add a constant. The form is therefore quasi-affine:

    scale * floor((x + offset) / divisor) + shift

(`2*H-8`, `16*((H+4)//16)-124`), which composes exactly with both kinds of
step: a multiplication scales `scale` and `shift`; a floor step after it
divides `scale` when the stride divides it, or folds into the floor when the
scale divides the stride (see `then`). Any other step is kept as a tail and
evaluated as is. Every such function is monotone and grows by `increment`
every `period` values of the symbol, so positivity is decided at the
smallest admissible size and equality on full periods.

Admissible sizes are `x >= bound` with, optionally, `x % modulus ==
residue` (`where H % 16 == 0`): a `Domain`.

Notation (docs/language.md): `//` is floor division, as in Python; a type
whose sizes are all plain (`H`, `224`) prints as `HxWx64`, any other with
spaced separators: `(H+1)//2 x (W+1)//2 x 64`.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Union

from ..record import Record

_set = object.__setattr__


class Step(Record):
    """One window along one axis: PyTorch's output-size rule."""

    __slots__ = ("reach", "stride", "padding", "ceil")
    reach: int  # D*(F - 1) + 1
    stride: int
    padding: int
    ceil: bool

    def __init__(self, reach: int, stride: int, padding: int, ceil: bool = False) -> None:
        _set(self, "reach", reach)
        _set(self, "stride", stride)
        _set(self, "padding", padding)
        _set(self, "ceil", ceil)

    def apply(self, x: int) -> int:
        room = x + 2 * self.padding - self.reach
        if not self.ceil:
            return room // self.stride + 1
        out = -(-room // self.stride) + 1
        if (out - 1) * self.stride >= x + self.padding:
            out -= 1
        return out


class Grow(Record):
    """A size multiplied and shifted: `factor*x + add` (transposed convolution, upsampling)."""

    __slots__ = ("factor", "add")
    factor: int
    add: int

    def __init__(self, factor: int, add: int = 0) -> None:
        _set(self, "factor", factor)
        _set(self, "add", add)

    def apply(self, x: int) -> int:
        return self.factor * x + self.add


class Axis(Record):
    """`scale*floor((symbol + offset)/divisor) + shift`, then the `tail` steps.

    Invariants that keep the common forms canonical and printed as before:
    with scale 1 the shift is folded into the offset (it is 0), and with
    divisor 1 the offset is folded into the shift.
    """

    __slots__ = ("symbol", "offset", "divisor", "tail", "scale", "shift")
    symbol: str
    offset: int
    divisor: int
    tail: tuple[Step | Grow, ...]
    scale: int
    shift: int

    def __init__(
        self, symbol: str, offset: int = 0, divisor: int = 1, tail: tuple[Step | Grow, ...] = (), scale: int = 1, shift: int = 0
    ) -> None:
        if scale != 1 and divisor == 1:
            offset, shift = 0, shift + scale * offset
        elif scale == 1 and shift:
            offset, shift = offset + shift * divisor, 0
        elif scale != 1:  # offset in [0, divisor): one form per function
            whole, offset = divmod(offset, divisor)
            shift += scale * whole
        _set(self, "symbol", symbol)
        _set(self, "offset", offset)
        _set(self, "divisor", divisor)
        _set(self, "tail", tail)
        _set(self, "scale", scale)
        _set(self, "shift", shift)

    def then(self, step: Step | Grow) -> Axis:
        if self.tail:
            return self._with_tail(step)
        if isinstance(step, Grow):
            return Axis(self.symbol, self.offset, self.divisor, (), self.scale * step.factor, self.shift * step.factor + step.add)
        # Ceil mode, with PyTorch's rule that drops a last window starting in
        # the padding, is floor((y + c)/S) + 1 for y = x + 2P - R and
        # c = min(R - P - 1, S - 1), whenever 2P <= R, which PyTorch requires
        # of pooling padding (checked exhaustively in tests/test_symbolic.py).
        # Only a step outside that rule is kept as a tail, evaluated as is.
        if step.ceil and 2 * step.padding > step.reach:
            return self._with_tail(step)
        extra = min(step.reach - step.padding - 1, step.stride - 1) if step.ceil else 0
        # The step is floor((y + a)/S) with
        a = 2 * step.padding - step.reach + step.stride + extra
        stride, scale = step.stride, self.scale
        if scale == 1:  # y = floor((x + A)/M): nested floors fold
            return Axis(self.symbol, self.offset + a * self.divisor, self.divisor * stride)
        if scale % stride == 0:  # floor((c*g + b)/S) = (c/S)*g + floor(b/S) when S divides c
            return Axis(self.symbol, self.offset, self.divisor, (), scale // stride, (self.shift + a) // stride)
        if stride % scale == 0:  # floor((c*g + b)/(c*k)) = floor((g + floor(b/c))/k)
            inner = (self.shift + a) // scale
            return Axis(self.symbol, self.offset + inner * self.divisor, self.divisor * (stride // scale))
        return self._with_tail(step)

    def _with_tail(self, step: Step | Grow) -> Axis:
        return Axis(self.symbol, self.offset, self.divisor, (*self.tail, step), self.scale, self.shift)

    def grow(self, factor: int, add: int = 0) -> Axis:
        """`factor*size + add`."""
        return self.then(Grow(factor, add))

    def under(self, modulus: int, residue: int) -> Axis:
        """The same values on the admissible sizes `x % modulus == residue`, simplified.

        When the divisor divides the modulus, the floor is exact there:
        `16*(H//16)` is `H` and `2*(H//4)` is `H//2` for every H that is a
        multiple of 16.
        """
        m = self.divisor
        if self.tail or m == 1 or modulus % m:
            return self
        # x = residue + k*modulus: floor((x + A)/M) = (x - residue)/M + floor((residue + A)/M), and
        # scale*(x - residue)/M = (scale/g)*floor((x - residue)/(M/g)) with g = gcd(scale, M), exactly.
        g = math.gcd(self.scale, m)
        shift = self.scale * ((residue + self.offset) // m) + self.shift
        return Axis(self.symbol, -residue, m // g, (), self.scale // g, shift)

    def at(self, value: int) -> int:
        x = self.scale * ((value + self.offset) // self.divisor) + self.shift
        for step in self.tail:
            x = step.apply(x)
        return x

    def value(self, sizes: Mapping[str, int]) -> int:
        return self.at(sizes[self.symbol])

    @property
    def period(self) -> int:
        """How much the symbol grows for this size's pattern to repeat (by `increment`)."""
        return self._rhythm()[0]

    @property
    def increment(self) -> int:
        """How much this size grows when the symbol grows by `period`."""
        return self._rhythm()[1]

    def _rhythm(self) -> tuple[int, int]:
        period, increment = self.divisor, self.scale
        for step in self.tail:
            if isinstance(step, Grow):
                increment *= step.factor
            else:  # the pattern repeats once the growth is a multiple of the stride
                times = step.stride // math.gcd(increment, step.stride)
                period, increment = period * times, increment * times // step.stride
        return period, increment

    @property
    def affine(self) -> bool:
        """Plain `scale*H + shift` (no floor, no tail)."""
        return self.divisor == 1 and not self.tail

    def smallest_valid(self, start: int, limit: int = 2**31 - 1, at_least: int = 1) -> int | None:
        """The smallest value >= start of the symbol with a size >= at_least (None: beyond limit)."""
        low = start
        if self.at(low) >= at_least:
            return low
        high = low + 1
        while self.at(high) < at_least:
            if high > limit:
                return None
            high = low + 2 * (high - low)
        while high - low > 1:  # monotone: bisect
            middle = (low + high) // 2
            if self.at(middle) >= at_least:
                high = middle
            else:
                low = middle
        return high if high <= limit else None

    def differs_from(self, other: Axis | int, start: int, modulus: int = 1) -> int | None:
        """The first value >= start where the two sizes differ, or None if they never do.

        With a modulus, only `start`, `start + modulus`, ... are compared
        (the admissible sizes of `where H % 16 == 0`; `start` is one of them).

        Raises TooLongToCompare when deciding would mean trying more than
        MAX_COMPARED sizes (only tails, steps outside PyTorch's pooling
        padding rule that no .cnn program makes, with strides multiplying
        past a million, get there).
        """
        if isinstance(other, int):
            # A symbolic size grows each period: if it equals the number at
            # `start`, it differs one period later.
            return start if self.at(start) != other else start + self.period * modulus
        if self.symbol != other.symbol:
            return start  # sizes of independent symbols: take them apart
        if modulus > 1 or self.scale != 1 or other.scale != 1:
            if self == other:
                return None
            return _first_difference(self, other, start, modulus)
        if not self.tail and not other.tail:
            # Canonical floor forms: equal functions have equal forms. With the
            # same divisor they differ where the larger offset first reaches a
            # multiple of it; with different divisors (slopes), one product of
            # the divisors later at the latest.
            if (self.offset, self.divisor) == (other.offset, other.divisor):
                return None
            if self.at(start) != other.at(start):
                return start
            if self.divisor == other.divisor:
                high = max(self.offset, other.offset)
                return start + (-(start + high)) % self.divisor
            # Different slopes: they differ one product of the divisors later
            # at the latest; name the first size (up to MAX_COMPARED tries).
            latest = start + self.divisor * other.divisor
            for value in range(start + 1, min(latest, start + MAX_COMPARED)):
                if self.at(value) != other.at(value):
                    return value
            return latest
        return _first_difference(self, other, start)

    def __str__(self) -> str:
        text = _floor_text(self.symbol, self.offset, self.divisor)
        if self.scale != 1:
            text = f"{self.scale}*{text if self.divisor == 1 else f'({text})'}" + (f"{self.shift:+d}" if self.shift else "")
        for step in self.tail:
            if isinstance(step, Grow):
                text = f"{step.factor}*({text})" + (f"{step.add:+d}" if step.add else "")
                continue
            shift = 2 * step.padding - step.reach
            inner = f"{text}{shift:+d}" if shift else text
            text = f"ceil(({inner})/{step.stride})+1" if step.stride != 1 else f"{inner}+1"
        return text


MAX_COMPARED = 2**21


class TooLongToCompare(Exception):
    """Two sizes whose period is too long to compare value by value."""


def _first_difference(a: Axis, b: Axis, start: int, modulus: int = 1) -> int | None:
    """Try two full periods (lcm) from start: agreeing there is agreeing everywhere after.

    Both are quasi-affine: over `lcm(periods, modulus)` each grows by a fixed
    amount, so if they agree on two such stretches (equal growth, equal
    pattern) they agree on every admissible size after.
    """
    period = math.lcm(a.period, b.period, modulus)
    if 2 * period // modulus > MAX_COMPARED:
        raise TooLongToCompare(period)
    for value in range(start, start + 2 * period, modulus):
        if a.at(value) != b.at(value):
            return value
    return None


def _floor_text(symbol: str, offset: int, divisor: int) -> str:
    if divisor == 1:
        if offset == 0:
            return symbol
        return f"{symbol}{offset:+d}"
    inner = symbol if offset == 0 else f"({symbol}{offset:+d})"
    return f"{inner}//{divisor}"


Size = Union[int, Axis]


def size_at(size: Size, sizes: Mapping[str, int]) -> int:
    return size.value(sizes) if isinstance(size, Axis) else size


def factor_text(size: Size) -> str:
    """A size as a factor of a product: compound forms in parentheses."""
    text = str(size)
    return text if not isinstance(size, Axis) or text.isidentifier() else f"({text})"


def window_arithmetic(size: Axis, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> str:
    """PyTorch's rule written with a symbolic input: `floor((H + 2*1 - 3)/2) + 1 = (H+1)//2`."""
    base = str(size)  # `//` binds tighter than + and -: no parentheses needed
    if dilation == 1:
        inner = f"{base} + 2*{padding} - {kernel}"
    else:
        inner = f"{base} + 2*{padding} - {dilation}*({kernel} - 1) - 1"
    core = f"ceil(({inner})/{stride})" if ceil else f"({inner})/{stride}" if stride == 1 else f"floor(({inner})/{stride})"
    reach = dilation * (kernel - 1) + 1
    return f"{core} + 1 = {size.then(Step(reach, stride, padding, ceil))}"


class SizeSymbol(Record):
    """A size symbol of the input: `H` in `input HxWx3 where H >= 32`.

    `given` tells whether the bound was written; otherwise it is the smallest
    size every layer accepts, computed by the checker.
    """

    __slots__ = ("name", "bound", "given", "axes", "modulus", "residue")
    name: str
    bound: int  # the smallest admissible size (it has the residue)
    given: bool
    axes: tuple[str, ...]  # "height", "width": where it stands in the input
    modulus: int  # `where H % 16 == 12`: 16 (1 without a residue constraint)
    residue: int

    def __init__(self, name: str, bound: int, given: bool, axes: tuple[str, ...], modulus: int = 1, residue: int = 0) -> None:
        _set(self, "name", name)
        _set(self, "bound", bound)
        _set(self, "given", given)
        _set(self, "axes", axes)
        _set(self, "modulus", modulus)
        _set(self, "residue", residue)

    @property
    def constraint(self) -> str:
        """`H >= 28, H % 16 == 12`: the admissible set."""
        text = f"{self.name} >= {self.bound}"
        return text if self.modulus == 1 else f"{text}, {self.name} % {self.modulus} == {self.residue}"

    def admits(self, value: int) -> bool:
        return value >= self.bound and value % self.modulus == self.residue

    def describe(self) -> str:
        how = "given" if self.given else "computed: the smallest size every layer accepts"
        return f"{self.constraint} ({how})"


def bounds_text(symbols: Iterable[SizeSymbol], computed: str = "") -> str:
    """`H >= 32, W >= 32`; `computed` is appended to each bound the checker computed."""
    return ", ".join(
        f"{s.name} >= {s.bound}" + ("" if s.given else computed) + (f", {s.name} % {s.modulus} == {s.residue}" if s.modulus > 1 else "")
        for s in symbols
    )


def residue_condition(symbol: str, period: int, residues: set[int]) -> str:
    """When `symbol % period` is in `residues`, in words: `for odd H`."""
    if len(residues) >= period:
        return f"for every {symbol}"
    if period == 2:
        return f"for odd {symbol}" if residues == {1} else f"for even {symbol}"
    if residues == set(range(1, period)):
        return f"for {symbol} not a multiple of {period}"
    shown = sorted(residues)
    if len(shown) > 3 and shown[-1] - shown[0] == len(shown) - 1:
        return f"when {symbol} % {period} is {shown[0]} to {shown[-1]}"
    listed = ", ".join(map(str, shown[:-1])) + f" or {shown[-1]}" if len(shown) > 1 else str(shown[0])
    return f"when {symbol} % {period} is {listed}"


class Count:
    """A number that depends on the input size, such as the MACs of a layer.

    A sum of terms `coefficient * size * size`, sizes being Axis objects;
    counts that depend on no symbol are plain ints (see `count`).
    """

    __slots__ = ("terms",)

    def __init__(self, terms: dict[tuple[Axis, ...], int]) -> None:
        self.terms = {factors: c for factors, c in terms.items() if c}

    def at(self, sizes: Mapping[str, int]) -> int:
        return sum(c * math.prod(a.value(sizes) for a in factors) for factors, c in self.terms.items())

    def __add__(self, other):
        if isinstance(other, int):
            terms = dict(self.terms)
            terms[()] = terms.get((), 0) + other
            return Count(terms)
        if isinstance(other, Count):
            terms = dict(self.terms)
            for factors, c in other.terms.items():
                terms[factors] = terms.get(factors, 0) + c
            return Count(terms)
        return NotImplemented

    __radd__ = __add__

    def __mul__(self, other):
        if isinstance(other, int):
            return Count({factors: c * other for factors, c in self.terms.items()})
        return NotImplemented

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return bool(self.terms)

    def __eq__(self, other) -> bool:
        return isinstance(other, Count) and self.terms == other.terms

    __hash__ = None  # type: ignore[assignment]

    @property
    def symbols(self) -> list[str]:
        """The size symbols it depends on, sorted."""
        return sorted({axis.symbol for factors in self.terms for axis in factors})

    def __format__(self, spec: str) -> str:
        if len(self.terms) > 2:
            return f"depends on {', '.join(self.symbols)}"
        return self.expression(spec)

    def expression(self, spec: str = ",") -> str:
        """The whole sum, however long: `1,728*H*W + 512`."""
        if not self.terms:
            return format(0, spec)
        parts = []
        for factors, c in sorted(self.terms.items(), key=lambda item: -len(item[0])):
            shown = [format(c, spec)] if c != 1 or not factors else []
            parts.append("*".join(shown + [factor_text(a) for a in factors]))
        return " + ".join(parts)

    def __str__(self) -> str:
        return format(self, ",")

    def __repr__(self) -> str:
        return f"Count({self})"


def count(coefficient: int, *factors: Size):
    """`coefficient * factors...`: an int when no factor is symbolic, else a Count."""
    symbolic = tuple(sorted((f for f in factors if isinstance(f, Axis)), key=str))
    number = coefficient * math.prod(f for f in factors if not isinstance(f, Axis))
    return Count({symbolic: number}) if symbolic else number


def value_at(number, sizes: Mapping[str, int]) -> int:
    """An int or a Count, at given sizes."""
    return number.at(sizes) if isinstance(number, Count) else number
