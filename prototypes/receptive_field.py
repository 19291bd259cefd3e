"""Receptive fields, statically: the input region each output unit of each layer sees, per axis.

Along one axis a layer with kernel k, stride s, padding p and dilation d
maps the field of unit 0 of its input, `(size r, jump j, start u)` (the
field of input unit m is `[u + m*j, u + m*j + r - 1]`), to

    r' = r + (d*(k - 1)) * j      j' = j * s      u' = u - p * j

(Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). The effective padding is `-u`. Layers without a
window (activations, normalisations, dropout, a layer scale, a pixel-wise
linear layer, a channel shuffle) keep the field; a linear layer on a vector
sees the whole input.

Where paths join (a residual's addition, a concatenation of branches, a
split, a gate's product), a unit sees the union of what each path's unit
sees. Paths with the same jump are aligned: for every unit the union's
extent is `[min u, max (u + r - 1)]` + k*j, one field of the same form, so
they merge into one path. Paths whose jumps differ (possible only at a
concrete input size, e.g. a 4x4 map through `pool 2` and through `conv k3`,
both 2x2) do not merge: the extent then depends on the unit, and is kept as
a set of paths, each composed through later layers on its own (the extent of
a union after a layer is the union of the extents of each path after it).
Such a field has no single size: its type reports the largest extent over
the output units (at unit 0 or the last unit, since the extent is a convex
function of the unit index), no stride and no padding. A gate whose body
ends in a 1x1 map broadcast onto a larger one is a path with jump 0: every
unit sees the body's single unit.

Global pooling (`avgpool to 1`, `pool to 1`) and a linear layer after
`flatten` make the field the whole input (`whole`); the numbers kept
alongside are those of the concrete size, for tests. Adaptive pooling to a
size that does not divide the input has uneven windows: `irregular`, no
number (PyTorch's window i covers `[floor(i*n/m), ceil((i+1)*n/m))`).

Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from prototypes.network import (
    AdaptivePool,
    Concat,
    Conv,
    ConvTranspose,
    Flatten,
    Gate,
    Layer,
    Linear,
    Node,
    Pool,
    Residual,
    Sequence,
    Upsample,
    layers,
)


@dataclass(frozen=True)
class Path:
    """One aligned family of fields: unit m sees [start + m*jump, start + m*jump + size - 1]."""

    size: int
    jump: int
    start: int

    def through(self, kernel: int, stride: int, padding: int, dilation: int) -> Path:
        return Path(self.size + dilation * (kernel - 1) * self.jump, self.jump * stride, self.start - padding * self.jump)

    def extent(self, unit: int) -> tuple[int, int]:
        first = self.start + unit * self.jump
        return first, first + self.size - 1


@dataclass(frozen=True)
class AxisField:
    """The field along one axis: its paths (merged where aligned), and whether it is the whole input."""

    paths: tuple[Path, ...]
    whole: bool = False
    irregular: bool = False

    @staticmethod
    def unit() -> AxisField:
        return AxisField((Path(1, 1, 0),))

    def through(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> AxisField:
        return replace(self, paths=tuple(p.through(kernel, stride, padding, dilation) for p in self.paths))

    def extent(self, unit: int) -> tuple[int, int]:
        """The input pixels output unit `unit` depends on, first and last (the padding included)."""
        extents = [p.extent(unit) for p in self.paths]
        return min(e[0] for e in extents), max(e[1] for e in extents)

    @property
    def aligned(self) -> bool:
        return len(self.paths) == 1

    # The static type: what the compiler would print.
    @property
    def size(self) -> int | None:
        return self.paths[0].size if self.aligned and not self.irregular else None

    @property
    def stride(self) -> int | None:
        return self.paths[0].jump if self.aligned and not self.irregular else None

    @property
    def padding(self) -> int | None:
        return -self.paths[0].start if self.aligned and not self.irregular else None

    def largest_extent(self, units: int) -> int:
        """The largest field over output units 0..units-1 (for a misaligned field: at an end)."""
        return max(last - first + 1 for first, last in (self.extent(0), self.extent(units - 1)))


def union(fields: list[AxisField]) -> AxisField:
    """The field of a join: the union of the paths, aligned ones merged."""
    by_jump: dict[int, tuple[int, int]] = {}
    for field in fields:
        for path in field.paths:
            first, last = path.extent(0)
            if path.jump in by_jump:
                old_first, old_last = by_jump[path.jump]
                first, last = min(first, old_first), max(last, old_last)
            by_jump[path.jump] = (first, last)
    paths = tuple(Path(last - first + 1, jump, first) for jump, (first, last) in sorted(by_jump.items()))
    return AxisField(paths, any(f.whole for f in fields), any(f.irregular for f in fields))


@dataclass(frozen=True)
class Field:
    """A layer's receptive field, per axis (height, width)."""

    height: AxisField
    width: AxisField

    def axes(self) -> tuple[AxisField, AxisField]:
        return (self.height, self.width)


@dataclass(frozen=True)
class LayerField:
    """A layer and the receptive field of its output units."""

    layer: Layer
    field: Field


def receptive_fields(network: Node) -> tuple[Field, list[LayerField]]:
    """The field of the network's output and of every layer's output, in forward order."""
    records: list[LayerField] = []
    start = Field(AxisField.unit(), AxisField.unit())
    return _walk(network, start, records), records


def _walk(node: Node, field: Field, records: list[LayerField]) -> Field:
    if isinstance(node, Layer):
        out = layer_field(node, field)
        records.append(LayerField(node, out))
        return out
    if isinstance(node, Sequence):
        for item in node.items:
            field = _walk(item, field, records)
        return field
    if isinstance(node, Residual):
        body = _walk(node.body, field, records)
        other = _walk(node.shortcut, field, records) if node.shortcut is not None else field
        return Field(*(union([a, b]) for a, b in zip(body.axes(), other.axes())))
    if isinstance(node, Concat):
        outs = [_walk(branch, field, records) for branch in node.branches]
        return Field(*(union([out.axes()[axis] for out in outs]) for axis in (0, 1)))
    if isinstance(node, Gate):
        gate = _walk(node.body, field, records)
        body_layers = list(layers(node.body))
        axes = []
        for axis in (0, 1):
            gate_axis = gate.axes()[axis]
            if body_layers and body_layers[-1].output[1 + axis] == 1 and body_layers[0].input[1 + axis] != 1:
                # Broadcast: every unit of x meets the gate's single unit (a path with jump 0).
                gate_axis = replace(gate_axis, paths=tuple(replace(p, jump=0) for p in gate_axis.paths))
            axes.append(union([field.axes()[axis], gate_axis]))
        return Field(*axes)
    raise TypeError(f"not a network node: {node!r}")


def layer_field(layer: Layer, field: Field) -> Field:
    """The field of `layer`'s output units, from that of its input units."""
    config = layer.config
    if isinstance(config, Conv):
        return Field(
            *(
                axis.through(k, s, p, d)
                for axis, k, s, p, d in zip(field.axes(), config.kernel, config.stride, config.padding, config.dilation)
            )
        )
    if isinstance(config, Pool):
        return Field(
            *(
                axis.through(k, s, p, d)
                for axis, k, s, p, d in zip(field.axes(), config.kernel, config.stride, config.padding, config.dilation)
            )
        )
    if isinstance(config, AdaptivePool):
        axes = []
        for index, axis in enumerate(field.axes()):
            size_in, size_out = layer.input[1 + index], config.output[index]
            if size_in % size_out == 0:
                window = size_in // size_out
                axis = axis.through(window, window, 0)
                axes.append(replace(axis, whole=axis.whole or size_out == 1))
            else:
                axes.append(replace(axis, irregular=True))
        return Field(*axes)
    if isinstance(config, Linear) and not config.pixelwise:
        return Field(*(replace(axis, whole=True) for axis in field.axes()))
    if isinstance(config, (ConvTranspose, Upsample)):
        raise NotImplementedError(f"{layer.kind}: a fractional jump (not in the language yet)")
    if isinstance(config, Flatten):
        return field  # each feature is one unit of the map; a following linear layer makes it whole
    return field  # element-wise and per-position layers keep the field
