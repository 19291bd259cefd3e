"""Symbolic sizes simplified on the admissible sizes (`where H % 16 == 0`: `16*(H//16)` is `H`)."""

from __future__ import annotations

from ..layers import Inference, Lines, lines_of
from ..types.shapes import MapType
from ..types.symbolic import Axis


def on_admissible(inference: Inference, bounds: dict) -> Inference:
    """The inference with its output simplified on the admissible sizes, said in its size lines.

    `bounds`: the checker's `SymbolBound` of each symbol (its modulus and residue).
    """
    old, new = inference.output, admissible_map(inference.output, bounds)
    if new == old:
        return inference

    def lines() -> tuple[str, ...]:
        said = []
        for line in lines_of(inference.arithmetic):
            for axis, before, after in (("height", old.height, new.height), ("width", old.width, new.width)):
                if line.startswith(f"{axis}: ") and line.endswith(f"= {before}") and before != after:
                    line += f" (on the admissible sizes) = {after}"
            said.append(line)
        return tuple(said)

    return inference.replace(output=new, arithmetic=Lines(lines))


def admissible_map(shape: MapType, bounds: dict) -> MapType:
    """A map type with its sizes simplified on the admissible sizes."""
    sizes = []
    for size in (shape.height, shape.width):
        if isinstance(size, Axis):
            state = bounds[size.symbol]
            size = size.under(state.modulus, state.residue)
        sizes.append(size)
    return MapType(sizes[0], sizes[1], shape.channels)
