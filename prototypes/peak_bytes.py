"""Peak memory of one training step, statically: a documented estimate (docs/memory-model-draft.md).

A step is `optimizer.zero_grad()` (gradients set to None), forward, loss,
backward, `optimizer.step()`, in the steady state (the optimizer's state
exists). Always alive: the parameters and buffers, the input batch and the
target, and the optimizer's state (none for plain SGD; one buffer per
parameter for SGD with momentum; two, exp_avg and exp_avg_sq, for Adam and
AdamW, plus a 4-byte step counter per parameter tensor). On top of that the
larger of two phases:

- forward and backward: backward runs the nodes in the reverse of their
  forward order. When node i runs, alive are the saved storages that a node
  at or before i still needs (a storage is released after the backward of
  the first node that saved it), the gradients of the parameters of node i
  and every later node, and node i's gradient transient: the gradient for
  its output and the one it makes for its input. The largest such sum
  (including the end of the forward pass, all saved) is this phase's peak.
  The input batch is counted once, in the always-alive part.
- the optimizer's step: every gradient, plus its temporaries. PyTorch's CPU
  optimizers default to the per-tensor implementation: SGD (with or without
  momentum) updates in place; Adam and AdamW compute
  `(exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)`, two temporaries
  of the parameter's size at once, so twice the largest parameter tensor.

Not modelled: the loss and the logits (a few bytes per sample), the
gradient of a join's input waiting while the other path's backward runs,
and kernels' scratch space (oneDNN's convolution backward); the tests give
the measured ratio.

Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from prototypes.network import Node, layers
from prototypes.saved_bytes import DTYPE_BYTES, parameter_tensors, saved_bytes

OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
STEP_COUNTER_BYTES = 4  # Adam's `step` is a float32 scalar tensor per parameter tensor


@dataclass(frozen=True)
class PeakBytes:
    peak: int
    parameters: int
    buffers: int
    gradients: int
    optimizer_state: int
    inputs: int
    saved: int
    backward_peak: int  # the forward/backward phase's part on top of the always-alive bytes
    optimizer_peak: int  # the optimizer step's part on top of the always-alive bytes

    @property
    def phase(self) -> str:
        return "backward" if self.backward_peak >= self.optimizer_peak else "optimizer step"


def peak_bytes(
    network: Node,
    input_shape: tuple[int, ...],
    batch: int,
    optimizer: str = "sgd",
    dtype: str = "float32",
    *,
    buffers: int = 0,
    target_bytes: int | None = None,
) -> PeakBytes:
    """The estimated peak of one training step. `buffers`: the module's buffer bytes (BatchNorm's statistics)."""
    itemsize = DTYPE_BYTES[dtype]
    tensors = [n for layer in layers(network) for n in parameter_tensors(layer)]
    parameters = itemsize * sum(tensors)
    states = OPTIMIZER_STATE[optimizer]
    optimizer_state = states * parameters + (STEP_COUNTER_BYTES * len(tensors) if optimizer in ("adam", "adamw") else 0)
    inputs = itemsize * batch
    for size in input_shape:
        inputs *= size
    target = 8 * batch if target_bytes is None else target_bytes  # class indices, int64
    saved = saved_bytes(network, input_shape, batch, dtype)
    # The input batch is alive anyway: it is not part of what backward releases.
    storages = [s for s in saved.saved if s.storage != saved.input_storage]
    steps = saved.steps
    backward_peak = sum(s.nbytes for s in storages)  # the end of the forward pass
    gradients_done = 0
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        gradients_done += itemsize * sum(step.parameter_tensors)
        alive = sum(s.nbytes for s in storages if s.step <= index)
        backward_peak = max(backward_peak, alive + gradients_done + step.grad_bytes)
    gradients = parameters
    temporaries = 2 * itemsize * max(tensors, default=0) if optimizer in ("adam", "adamw") else 0
    optimizer_peak = gradients + temporaries
    always = parameters + buffers + optimizer_state + inputs + target
    return PeakBytes(
        always + max(backward_peak, optimizer_peak), parameters, buffers, gradients, optimizer_state, inputs,
        saved.total, backward_peak, optimizer_peak,
    )  # fmt: skip
