"""`cnnc import`: an existing PyTorch model as a concise .cnn program, with its weights, verified.

    text, state_dict = cnndsl.import_module(model, "224x224x3")

The pipeline (docs/design.md, "cnnc import"): `spec` finds and calls what
`cnnc import SPEC` names; `trace` follows the forward pass with torch.fx;
`ops` says what each operation is in the language; `graph` turns the traced
flow into nested statements (residuals, and the constructs of issue 13 when
the language has them: `capabilities`); `structure` recovers blocks and
repeats from the module tree; `render` writes the text; `convert` runs these
and checks the result; `verify` compiles it, converts the weights through
`cnndsl.transfer_weights` and compares the outputs.

This package imports torch; `cnnc check` and the language server never
import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..backend.weights import transfer_weights
from ..compiler import Program
from .convert import Conversion, InputSpec, convert
from .problems import ImportProblem, Location, ModelImportError
from .spec import SpecError, load_model
from .verify import ATOL, ImportVerification, round_trip_table, verify_round_trip

__all__ = [
    "ATOL",
    "Conversion",
    "ImportProblem",
    "ImportVerification",
    "Imported",
    "InputSpec",
    "Location",
    "ModelImportError",
    "RoundTripError",
    "SpecError",
    "import_model",
    "import_module",
    "load_model",
    "round_trip_table",
    "verify_round_trip",
]


class RoundTripError(ValueError):
    """The imported program does not compute what the model does (a bug in cnnc import); `.verification` says where."""

    def __init__(self, verification: ImportVerification) -> None:
        self.verification = verification
        super().__init__("the imported program does not compute what the model does:\n" + round_trip_table(verification))


@dataclass
class Imported:
    """An imported model: the program's text, the converted weights, and how the round trip went."""

    text: str
    state_dict: dict[str, torch.Tensor]
    conversion: Conversion
    verification: ImportVerification | None


def import_model(
    module: nn.Module,
    input: str | InputSpec | None = None,
    *,
    origin: str = "",
    name: str | None = None,
    check: bool = True,
    device: str = "cpu",
    batch: int = 2,
) -> Imported:
    """Import `module` and, with `check`, verify the round trip (the verdict is `verification.ok`).

    `input`: `"224x224x3"` (fixed), `"HxWx3"` (any size, traced at 224x224)
    or None: any size when the model takes it (checked at the smallest size
    too), else fixed at 224x224 with the channels of its first layer.
    Raises ModelImportError (what the language cannot say), ValueError for a
    malformed `input`, and DeviceError (cnndsl.backend.verify) for a device
    that is not here.
    """
    spec = input if isinstance(input, InputSpec) else InputSpec.parse(input)
    conversion = convert(module, spec, origin=origin, name=name)
    if not check:
        return Imported(conversion.text, converted_weights(module, conversion), conversion, None)
    result = verify_round_trip(module, conversion, device, batch)
    if spec.symbolic is None and conversion.symbolic and _size_claim_failed(result):
        # The model does not take every size the program would claim: the fixed size, and why.
        reason = "; ".join(result.problems) or "the outputs differ at the smallest size the program would admit"
        fixed = InputSpec(spec.height, spec.width, spec.channels, False)
        conversion = convert(module, fixed, origin=origin, name=name, fallback=reason)
        result = verify_round_trip(module, conversion, device, batch)
    return Imported(conversion.text, result.state_dict or {}, conversion, result)


def _size_claim_failed(result: ImportVerification) -> bool:
    at_main_size_ok = result.difference is not None and result.difference <= ATOL and all(row.ok for row in result.rows)
    return at_main_size_ok and not result.ok


def converted_weights(module: nn.Module, conversion: Conversion) -> dict[str, torch.Tensor]:
    """The generated module's state_dict with the source's weights, matched by structure (no forward pass)."""
    ours = Program(conversion.program).module_class()()
    transfer_weights(module, ours, strict=False)
    return {key: value.detach() for key, value in ours.state_dict().items()}


def import_module(module: nn.Module, input_shape: str | tuple[int, int, int] | None = None) -> tuple[str, dict[str, torch.Tensor]]:
    """The .cnn text for `module` and the state_dict of the module it compiles to, verified.

    `input_shape`: (height, width, channels), `"224x224x3"`, `"HxWx3"`, or
    None (any size when the model takes it, else 224x224). Raises
    ModelImportError when the language cannot say the model, RoundTripError
    when the result does not compute what the model does.
    """
    if isinstance(input_shape, tuple):
        input_shape = "x".join(str(size) for size in input_shape)
    imported = import_model(module, input_shape)
    if imported.verification is not None and not imported.verification.ok:
        raise RoundTripError(imported.verification)
    return imported.text, imported.state_dict
