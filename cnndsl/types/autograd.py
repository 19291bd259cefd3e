"""What a layer kind declares about training: its tensors, and what autograd saves when it runs.

A kind answers three questions (LayerKind.parameter_tensors, buffer_tensors
and saves); the walk over the typed program (cnndsl/check/saved.py) turns
the answers into storages, shares them between layers and adds them up.
The vocabulary is here so that the kinds and the walk agree on it.

- `Tensor`: a parameter or buffer, by PyTorch's attribute name (torchinfo's
  mult-adds count only `weight` and `bias`) and element count.
- `Flow`: what the walk knows of the input at run time that the static type
  does not say: the batch, the input's strides (cnndsl/types/layout.py: a
  flatten of channels-last memory copies), whether the layer runs in place.
- `Saves`: what the op keeps for backward when it records an autograd node:
  the input's storage, the output's, new storages of its own (a mask,
  indices, statistics, a clone), whether its output is a new storage or the
  input's (in place, a view, the identity), and how a new one is laid out.
"""

from __future__ import annotations

from ..record import Record
from .layout import ELEMENTWISE, Strides

_set = object.__setattr__

INDEX_BYTES = 8  # int64: max pooling's indices, BatchNorm's num_batches_tracked
# The data types of `--dtype`, and their bytes per element.
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2}
DEFAULT_DTYPE = "float32"


class Tensor(Record):
    """A named tensor of a layer: `elements` in the data type, or `itemsize` bytes each when given."""

    __slots__ = ("name", "elements", "itemsize")
    name: str
    elements: int
    itemsize: int | None  # None: the network's data type

    def __init__(self, name: str, elements: int, itemsize: int | None = None) -> None:
        _set(self, "name", name)
        _set(self, "elements", elements)
        _set(self, "itemsize", itemsize)


class Flow(Record):
    """The run-time facts of a layer's input that its saved tensors depend on."""

    __slots__ = ("batch", "strides", "inplace")
    batch: int
    strides: Strides | None  # the input's strides, (N, C, H, W); None for a vector
    inplace: bool  # the layer runs in place (an activation after conv, linear or batchnorm)

    def __init__(self, batch: int, strides: Strides | None = None, inplace: bool = False) -> None:
        _set(self, "batch", batch)
        _set(self, "strides", strides)
        _set(self, "inplace", inplace)

    def sizes(self, shape) -> tuple[int, ...]:
        """The input's sizes as PyTorch has them: (N, C, H, W) or (N, F)."""
        return (self.batch, *shape.torch_shape)


NEW = "new"  # the output is a storage of its own
INPUT = "input"  # the output is the input's storage: in place, a view, the identity


class Saves(Record):
    """What one op saves for backward, and where its output lives.

    `tensors` are new storages the op saves (elements for the whole batch,
    with their itemsize when not the data type's); `layout` is how a new
    output is laid out (a rule of cnndsl/types/layout.py), over the input and
    `operands` for an element-wise op (`x * noise`).
    """

    __slots__ = ("input", "output", "tensors", "result", "layout", "operands")
    input: bool
    output: bool
    tensors: tuple[Tensor, ...]
    result: str  # NEW or INPUT
    layout: str
    operands: tuple

    def __init__(
        self,
        input: bool = False,
        output: bool = False,
        tensors: tuple[Tensor, ...] = (),
        result: str = NEW,
        layout: str = ELEMENTWISE,
        operands: tuple = (),
    ) -> None:
        _set(self, "input", input)
        _set(self, "output", output)
        _set(self, "tensors", tensors)
        _set(self, "result", result)
        _set(self, "layout", layout)
        _set(self, "operands", operands)


SAVES_OUTPUT = Saves(output=True)  # an activation that computes its gradient from its result
