"""Static memory figures: what torchinfo reports, computed from the typed program.

torchinfo's `summary(model, input_size=...)` ends with four sizes. cnnc
computes the same four without building the model or running a batch, and
the memory guard of `cnnc build` / `cnnc verify` (`--max-memory`) reads them
too. The rules, as torchinfo 1.8 applies them (torchinfo/model_statistics.py,
torchinfo/layer_info.py):

- input size: the input batch, `batch * C * H * W * bytes`. (torchinfo takes
  `sys.getsizeof` of the tensor's storage, which adds the Python object's
  own few dozen bytes; cnnc counts the tensor's data only.)
- forward/backward pass size: for every leaf layer *that has parameters*
  (conv, linear, batchnorm), its output for the batch, counted twice ("x2 for
  gradients"). Layers without parameters (activations, pooling, dropout,
  flatten) and the residual additions are not counted, however large.
- params size: every parameter, `total_params * bytes`. Batchnorm's running
  statistics are buffers, not parameters, and are not counted.
- estimated total size: the sum of the three.

Megabytes are torchinfo's: 1 MB = 1,000,000 bytes, shown with two decimals.
"""

from __future__ import annotations

from ..check.typed import TypedProgram
from ..record import Record
from ..types.autograd import DEFAULT_DTYPE
from ..types.autograd import DTYPE_BYTES as DTYPES

_set = object.__setattr__

MEGABYTE = 1_000_000  # torchinfo's MB


class MemoryEstimate(Record):
    """torchinfo's four sizes for one batch size and dtype, in bytes."""

    __slots__ = ("batch", "dtype", "input_bytes", "forward_backward_bytes", "params_bytes", "largest_output_bytes")
    batch: int
    dtype: str
    input_bytes: int
    forward_backward_bytes: int
    params_bytes: int
    largest_output_bytes: int

    def __init__(self, batch: int, dtype: str, input_bytes: int, forward_backward_bytes: int, params_bytes: int, largest_output_bytes: int = 0) -> None:
        _set(self, "batch", batch)
        _set(self, "dtype", dtype)
        _set(self, "input_bytes", input_bytes)
        _set(self, "forward_backward_bytes", forward_backward_bytes)
        _set(self, "params_bytes", params_bytes)
        _set(self, "largest_output_bytes", largest_output_bytes)

    @property
    def bytes_per_element(self) -> int:
        return DTYPES[self.dtype]

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes

    @property
    def guard_bytes(self) -> int:
        """What the `--max-memory` guard compares with its budget.

        The estimated total size; but never less than the input, the parameters
        and the largest layer's input and output alive at once, so that a
        network whose big activations come from layers without parameters
        (which torchinfo's convention does not count) cannot slip past.
        """
        floor = self.input_bytes + self.params_bytes + 2 * self.largest_output_bytes
        return max(self.total_bytes, floor)

    def figures(self) -> list[tuple[str, str, int]]:
        """(JSON key, label as torchinfo prints it, bytes), in torchinfo's order."""
        return [
            ("input", "Input size", self.input_bytes),
            ("forward_backward", "Forward/backward pass size", self.forward_backward_bytes),
            ("params", "Params size", self.params_bytes),
            ("total", "Estimated Total Size", self.total_bytes),
        ]

    def to_dict(self) -> dict:
        entry: dict = {"batch": self.batch, "dtype": self.dtype, "bytes_per_element": self.bytes_per_element}
        for key, _, value in self.figures():
            entry[f"{key}_bytes"] = value
        for key, _, value in self.figures():
            entry[f"{key}_mb"] = megabytes(value)
        return entry


def megabytes(value: int) -> float:
    """Bytes in torchinfo's MB, rounded to its two decimals."""
    return round(value / MEGABYTE, 2)


def estimate(program: TypedProgram, batch: int = 1, dtype: str = DEFAULT_DTYPE) -> MemoryEstimate:
    """The four figures for a checked program (raises ValueError for a bad batch or dtype)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype '{dtype}' (use {', '.join(DTYPES)})")
    if batch < 1:
        raise ValueError("the batch size must be at least 1")
    size = DTYPES[dtype] * batch
    counted = 0
    largest = 0
    for layer in program.layers:
        elements = layer.output.elements
        if layer.params > 0:
            counted += elements
        if elements > largest:
            largest = elements
    return MemoryEstimate(
        batch=batch,
        dtype=dtype,
        input_bytes=size * program.input.elements if program.input is not None else 0,
        forward_backward_bytes=2 * size * counted,
        params_bytes=DTYPES[dtype] * program.total_params,
        largest_output_bytes=size * largest,
    )


def render(memory: MemoryEstimate) -> str:
    """The figures as lines to print under the summary table."""
    rows = [(label, f"{value:,} B", f"{value / MEGABYTE:,.2f} MB") for _, label, value in memory.figures()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"memory (batch {memory.batch}, {memory.dtype}, as torchinfo counts it):"]
    for label, raw, mb in rows:
        lines.append(f"  {label.ljust(widths[0])}  {raw.rjust(widths[1])}  {mb.rjust(widths[2])}")
    return "\n".join(lines) + "\n"


def render_training(step) -> str:
    """One training step's memory (a `check.training.TrainingStep`), as lines under the summary table."""
    rows = [
        ("saved for backward", step.saved_bytes),
        ("parameters", step.parameter_bytes),
        ("gradients", step.gradient_bytes),
        (f"optimizer state ({step.optimizer})", step.optimizer_bytes),
        ("buffers", step.buffer_bytes),
        ("input and target", step.input_bytes + step.target_bytes),
        (f"peak ({step.phase})", step.peak_bytes),
    ]
    cells = [(label, f"{value:,} B", f"{value / MEGABYTE:,.2f} MB") for label, value in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = [f"training step (batch {step.batch}, {step.dtype}, {step.optimizer}; CPU's rules, docs/memory.md):"]
    for label, raw, mb in cells:
        lines.append(f"  {label.ljust(widths[0])}  {raw.rjust(widths[1])}  {mb.rjust(widths[2])}")
    return "\n".join(lines) + "\n"
