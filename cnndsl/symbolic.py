"""Sizes as functions of an input symbol: `H`, `H-2`, `(H+1)//2`.

Along one axis, every window layer maps the incoming size `x` with PyTorch's
rule. Floor-mode steps compose exactly:

    floor((floor((x + A) / M) + a) / S) = floor((x + A + a*M) / (M*S))

so any chain of them is `floor((x + A) / M)` and prints as `(H+A)//M`. A
ceil-mode pooling step (with PyTorch's "drop a last window that starts in the
padding" rule) is kept as a step of its own. Either way the function is
monotone non-decreasing and quasi-affine: `f(x + L) = f(x) + L/M` once the
sizes are valid, with period `L = M`. That is what makes the two questions
the checker asks decidable exactly:

- positivity: f is monotone, so f(x) >= 1 for all admissible x iff it holds
  at the smallest admissible x;
- equality of two such functions for all admissible x: equal slopes, and
  equal values on one full period (lcm of the two) from the smallest
  admissible size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    """One window along one axis: PyTorch's output-size rule."""

    reach: int  # D*(F - 1) + 1
    stride: int
    padding: int
    ceil: bool = False

    def apply(self, x: int) -> int:
        room = x + 2 * self.padding - self.reach
        if not self.ceil:
            return room // self.stride + 1
        out = -(-room // self.stride) + 1
        if (out - 1) * self.stride >= x + self.padding:
            out -= 1
        return out


@dataclass(frozen=True, slots=True)
class Axis:
    """`floor((symbol + offset) / divisor)`, then the ceil-mode `tail` steps."""

    symbol: str
    minimum: int = 1
    offset: int = 0
    divisor: int = 1
    tail: tuple[Step, ...] = ()

    def then(self, step: Step) -> Axis:
        if self.tail or step.ceil:
            return Axis(self.symbol, self.minimum, self.offset, self.divisor, (*self.tail, step))
        a = 2 * step.padding - step.reach + step.stride  # floor((x + a)/S) == floor((x + 2P - R)/S) + 1
        return Axis(self.symbol, self.minimum, self.offset + a * self.divisor, self.divisor * step.stride)

    def at(self, value: int) -> int:
        x = (value + self.offset) // self.divisor
        for step in self.tail:
            x = step.apply(x)
        return x

    @property
    def period(self) -> int:
        return self.divisor * math.prod(step.stride for step in self.tail)

    def smallest_valid(self, limit: int = 2**31) -> int | None:
        """The smallest admissible value of the symbol with a size >= 1."""
        low = self.minimum
        if self.at(low) >= 1:
            return low
        high = low + 1
        while self.at(high) < 1:
            if high > limit:
                return None
            high = low + 2 * (high - low)
        while high - low > 1:  # monotone: bisect
            middle = (low + high) // 2
            if self.at(middle) >= 1:
                high = middle
            else:
                low = middle
        return high

    def differs_from(self, other: Axis | int, start: int) -> int | None:
        """A value >= start where the two sizes differ, or None if they never do."""
        if isinstance(other, int):
            if self.period and self.at(start + self.period) != self.at(start):
                return start if self.at(start) != other else start + self.period
            for value in range(start, start + self.period):
                if self.at(value) != other:
                    return value
            return None
        period = math.lcm(self.period, other.period)
        # Equal slopes (1/period) are implied by agreeing on two consecutive periods.
        for value in range(start, start + 2 * period):
            if self.at(value) != other.at(value):
                return value
        return None

    def __str__(self) -> str:
        text = _floor_text(self.symbol, self.offset, self.divisor)
        for step in self.tail:
            inner = f"{text}+{2 * step.padding - step.reach}" if 2 * step.padding != step.reach else text
            inner = inner.replace("+-", "-")
            text = f"ceil(({inner})/{step.stride})+1" if step.stride != 1 else f"{inner}+1"
        return text


def _floor_text(symbol: str, offset: int, divisor: int) -> str:
    if divisor == 1:
        if offset == 0:
            return symbol
        return f"{symbol}{offset:+d}"
    inner = symbol if offset == 0 else f"({symbol}{offset:+d})"
    return f"{inner}//{divisor}"
