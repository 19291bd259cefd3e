"""The memory of one training step, statically: the figures of `cnnc summary --train`.

A step is `optimizer.zero_grad()` (gradients set to None), forward, loss,
backward, `optimizer.step()`, in the steady state (the optimizer's state
exists). docs/memory.md explains the model; tests/test_oracles.py compares
it with the CPU profiler's high-water mark.

Always alive: the parameters and buffers, the input batch and the target
(int64 class indices: one per sample, or one per position for a map), and
the optimizer's state: none for plain SGD, one buffer per parameter for SGD
with momentum, two (exp_avg, exp_avg_sq) for Adam and AdamW plus a 4-byte
step counter per parameter tensor. On top of that, the larger of two phases:

- forward and backward: backward runs the autograd nodes in the reverse of
  their forward order. When node i runs, alive are the saved storages that a
  node at or before i still needs (a storage is released after the backward
  of the first node that saved it), the gradients of the parameters of node i
  and every later node, and node i's gradient transient (the gradient for its
  output and the one it makes for its input). The largest such sum, and the
  end of the forward pass (everything saved), is this phase's peak;
- the optimizer's step: every gradient, plus its temporaries. PyTorch's CPU
  optimizers use the per-tensor implementation: SGD updates in place; Adam
  and AdamW compute `exp_avg_sq.sqrt() / bias_correction2_sqrt`, two
  temporaries of one parameter's size at once: twice the largest parameter.

Left out (the measured ratios are in docs/memory.md): the logits and the
loss, the gradient of a join's input waiting while the other path's backward
runs, and kernels' scratch space (oneDNN's convolution backward).
"""

from __future__ import annotations

from ..record import Record
from ..types.autograd import DTYPE_BYTES, INDEX_BYTES
from ..types.shapes import MapType
from .saved import SavedBytes, saved_bytes
from .typed import TypedProgram

_set = object.__setattr__

# Optimizer -> buffers of state per parameter element.
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
DEFAULT_OPTIMIZER = "sgd"
STEP_COUNTER_BYTES = 4  # Adam's `step`: a float32 scalar tensor per parameter tensor


class TrainingStep(Record):
    """The memory of one training step, in bytes, and the phase that sets its peak."""

    __slots__ = (
        "batch", "dtype", "optimizer", "saved_bytes", "parameter_bytes", "gradient_bytes", "optimizer_bytes",
        "buffer_bytes", "input_bytes", "target_bytes", "peak_bytes", "backward_peak", "optimizer_peak",
    )  # fmt: skip
    batch: int
    dtype: str
    optimizer: str
    saved_bytes: int  # what autograd keeps for backward (the input batch included when a layer saves it)
    parameter_bytes: int
    gradient_bytes: int
    optimizer_bytes: int  # the optimizer's state
    buffer_bytes: int  # BatchNorm's running statistics
    input_bytes: int
    target_bytes: int
    peak_bytes: int
    backward_peak: int  # the forward/backward phase, on top of what is always alive
    optimizer_peak: int  # the optimizer's step, on top of what is always alive

    def __init__(self, **values) -> None:
        for name in self.__slots__:
            _set(self, name, values[name])

    @property
    def phase(self) -> str:
        """Where the peak is: `backward pass` or `optimizer step`."""
        return "backward pass" if self.backward_peak >= self.optimizer_peak else "optimizer step"

    @property
    def always_bytes(self) -> int:
        """Alive for the whole step: parameters, buffers, optimizer state, input and target."""
        return self.parameter_bytes + self.buffer_bytes + self.optimizer_bytes + self.input_bytes + self.target_bytes

    def to_dict(self) -> dict:
        names = ("batch", "dtype", "optimizer", "saved_bytes", "parameter_bytes", "gradient_bytes", "optimizer_bytes",
                 "buffer_bytes", "input_bytes", "target_bytes", "peak_bytes")
        return {**{name: getattr(self, name) for name in names}, "peak_phase": self.phase, "device": "cpu"}


def training_step(
    program: TypedProgram, batch: int = 1, optimizer: str = DEFAULT_OPTIMIZER, dtype: str = "float32",
    saved: SavedBytes | None = None,
) -> TrainingStep:  # fmt: skip
    """The estimate for a program with a fixed input size (`saved`: its saved bytes at this batch, if known)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{optimizer}' (use {', '.join(OPTIMIZERS)})")
    saved = saved or saved_bytes(program, batch, dtype)
    itemsize = DTYPE_BYTES[dtype]
    tensors = [t.elements for layer in program.layers for t in layer.kind.parameter_tensors(layer.config, layer.input)]
    buffers = [t for layer in program.layers for t in layer.kind.buffer_tensors(layer.config, layer.input)]
    parameters = itemsize * sum(tensors)
    state = OPTIMIZERS[optimizer] * parameters
    if optimizer in ("adam", "adamw"):
        state += STEP_COUNTER_BYTES * len(tensors)
    output = program.output
    target = INDEX_BYTES * batch * (output.height * output.width if isinstance(output, MapType) else 1)
    # The input batch is alive anyway: it is not part of what backward releases.
    storages = [s for s in saved.saved if s.storage != saved.input_storage]
    backward_peak = sum(s.nbytes for s in storages)  # the end of the forward pass
    gradients_done = 0
    alive = backward_peak
    released = sorted(storages, key=lambda s: s.step, reverse=True)
    for index in range(len(saved.steps) - 1, -1, -1):
        step = saved.steps[index]
        gradients_done += itemsize * sum(step.parameters)
        while released and released[0].step > index:  # released after the backward of a later node
            alive -= released.pop(0).nbytes
        backward_peak = max(backward_peak, alive + gradients_done + step.grad_bytes)
    temporaries = 2 * itemsize * max(tensors, default=0) if optimizer in ("adam", "adamw") else 0
    optimizer_peak = parameters + temporaries
    buffer_bytes = sum(b.elements * (b.itemsize or itemsize) for b in buffers)
    input_bytes = itemsize * batch * program.input.elements
    always = parameters + buffer_bytes + state + input_bytes + target
    return TrainingStep(
        batch=batch, dtype=dtype, optimizer=optimizer, saved_bytes=saved.total, parameter_bytes=parameters,
        gradient_bytes=parameters, optimizer_bytes=state, buffer_bytes=buffer_bytes, input_bytes=input_bytes,
        target_bytes=target, peak_bytes=always + max(backward_peak, optimizer_peak),
        backward_peak=backward_peak, optimizer_peak=optimizer_peak,
    )  # fmt: skip
