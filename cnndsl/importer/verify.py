"""The round trip, checked: the imported program, compiled, with the converted weights, computes what the model does.

The generated module gets the source's weights through
`cnndsl.transfer_weights` (matched by structure through torch.fx, not by
name or position); both run on the same random batch in eval mode. Each
line of the network's body is compared where it ends: the source's value
there (the traced graph, run by an fx Interpreter) against the generated
module's (a forward hook on the last module of that line), with its shape,
its parameters on both sides and the largest absolute difference. The verdict
is the final output's difference (the source module itself, called as
usual) against `ATOL`, with equal parameter counts and shapes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import torch
from torch import fx, nn

from ..backend.verify import resolve_device
from ..backend.weights import WeightTransferError, transfer_weights
from ..check.typed import TypedSkip
from ..compiler import Program, instantiate
from .convert import Conversion
from .ir import all_modules
from .meanings import CHANNELS_LAST

ATOL = 1e-5


@dataclass(frozen=True)
class Row:
    """One line of the network's body, compared."""

    line: int
    code: str
    source: str
    source_shape: tuple[int, ...] | None
    shape: tuple[int, ...] | None
    source_params: int
    params: int
    difference: float | None

    @property
    def ok(self) -> bool:
        return self.source_shape == self.shape and self.source_params == self.params


@dataclass
class ImportVerification:
    device: str
    batch: int
    size: tuple[int, int]
    rows: list[Row] = field(default_factory=list)
    source_params: int = 0  # the parameters the source's forward pass uses
    params: int = 0
    difference: float | None = None  # the largest |source - ours| over the final output
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state_dict: dict | None = None  # the generated module's weights, converted
    other_sizes: dict[tuple[int, int], float] = field(default_factory=dict)  # symbolic: more sizes, their differences

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.difference is not None
            and self.difference <= ATOL
            and self.params == self.source_params
            and all(row.ok for row in self.rows)
            and all(d <= ATOL for d in self.other_sizes.values())
        )


def verify_round_trip(module: nn.Module, conversion: Conversion, device: str = "cpu", batch: int = 2, seed: int = 0) -> ImportVerification:
    """Compile the conversion, give it the module's weights, and compare the two on one random batch."""
    target = resolve_device(device)  # DeviceError for a device that is not here
    program = conversion.program
    height, width = conversion.traced.input_shape[2:]
    result = ImportVerification(str(target), batch, (height, width))
    modes = [(m, m.training) for m in module.modules()]
    original = _device_of(module)
    try:
        module.to(target)
        ours = Program(program).module_class()().to(target)
        try:
            report = transfer_weights(module, ours, strict=False)
        except WeightTransferError as error:
            result.problems.append(f"the weights do not transfer: {error}")
            return result
        unused = [key for key in report.unused_source if key in dict(module.named_parameters())]
        if unused:
            result.notes.append(
                f"{len(unused)} parameter tensor(s) of the source are not used by its forward pass in eval mode and are not imported: "
                + ", ".join(unused[:5])
                + (" ..." if len(unused) > 5 else "")
            )
        used = {id(p) for p in module.parameters()} - {id(dict(module.named_parameters())[key]) for key in unused}
        result.source_params = sum(p.numel() for p in module.parameters() if id(p) in used)
        result.params = sum(p.numel() for p in ours.parameters())
        module.eval()
        ours.eval()
        generator = torch.Generator().manual_seed(seed)
        channels = conversion.traced.input_shape[1]
        images = torch.randn(batch, channels, height, width, generator=generator).to(target)
        with torch.no_grad():
            result.rows, actual = _rows(module, ours, conversion, images)
            expected = module(images)
        if expected.shape != actual.shape:
            result.problems.append(f"the outputs differ in shape: source {tuple(expected.shape)}, imported {tuple(actual.shape)}")
        else:
            result.difference = (expected.float() - actual.float()).abs().max().item()
        if conversion.symbolic:
            _other_sizes(module, ours, conversion, result, generator, target)
        result.state_dict = {key: value.detach().to(original) for key, value in ours.state_dict().items()}
        return result
    finally:
        module.to(original)
        for submodule, training in modes:
            submodule.training = training


def _other_sizes(module, ours, conversion: Conversion, result: ImportVerification, generator, target) -> None:
    """A symbolic program claims every admissible size: the smallest one is compared too."""
    program = conversion.program
    size = program.smallest_size()
    if size == result.size:
        return
    if not instantiate(program, *size).ok:
        return
    images = torch.randn(result.batch, conversion.traced.input_shape[1], *size, generator=generator).to(target)
    try:
        with torch.no_grad():
            expected = module(images)
    except Exception as error:  # noqa: BLE001 - the source's own refusal of that size
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        result.problems.append(
            f"the program says it takes any size from {size[0]}x{size[1]}, but the source fails there: {first}"
        )
        return
    with torch.no_grad():
        actual = ours(images)
    if expected.shape != actual.shape:
        result.problems.append(f"at {size[0]}x{size[1]} the outputs differ in shape: {tuple(expected.shape)} and {tuple(actual.shape)}")
        return
    result.other_sizes[size] = (expected.float() - actual.float()).abs().max().item()


class _Recorder(fx.Interpreter):
    def __init__(self, module, wanted: set[str]) -> None:
        super().__init__(module)
        self.wanted = wanted
        self.values: dict[str, torch.Tensor] = {}

    def run_node(self, n):
        value = super().run_node(n)
        if n.name in self.wanted and isinstance(value, torch.Tensor):
            self.values[n.name] = value.detach()
        return value


def _rows(module: nn.Module, ours: nn.Module, conversion: Conversion, images: torch.Tensor) -> tuple[list[Row], torch.Tensor]:
    """Each body line: the source's value where it ends against the generated module's; and the generated module's output."""
    lines = conversion.lines
    ends = {number: line.statements[-1].origin.end for number, line in lines.items()}
    recorder = _Recorder(fx.GraphModule(module, conversion.traced.graph), set(ends.values()))
    recorder.run(images)
    outputs, output = _our_outputs(ours, conversion, images)
    rows = []
    for number, line in lines.items():
        mine = outputs.get(number)
        theirs = recorder.values.get(ends[number])
        if theirs is not None and theirs.dim() == 4 and conversion.traced.layouts.get(ends[number]) == CHANNELS_LAST:
            theirs = theirs.permute(0, 3, 1, 2)  # a channels-last value, compared in the program's layout
        expected = line.statements[-1].origin.shape
        if theirs is not None and expected is not None and tuple(theirs.shape[1:]) != tuple(expected[1:]):
            # One source operation made this line and the next (x.mean([2, 3]) is `avgpool to 1` and `flatten`):
            # its value here is the next line's; this line is checked by its shape only.
            theirs = torch.empty((images.shape[0], *expected[1:]), device="meta")
        paths = list(dict.fromkeys(path for statement in line.statements for path in all_modules(statement)))
        # A statement's modules own the parameters it reads (a layer module, or the block that holds a layer scale).
        source_params = sum(p.numel() for path in paths for p in module.get_submodule(path).parameters(recurse=False))
        difference = None
        if mine is not None and theirs is not None and theirs.device.type != "meta" and mine[0].shape == theirs.shape:
            difference = (mine[0].float() - theirs.float()).abs().max().item()
        rows.append(
            Row(
                number,
                line.code,
                line.comment.partition(" -> ")[0],
                tuple(theirs.shape[1:]) if theirs is not None else None,
                tuple(mine[0].shape[1:]) if mine is not None else None,
                source_params,
                mine[1] if mine is not None else 0,
                difference,
            )
        )
    return rows, output


def _our_outputs(ours: nn.Module, conversion: Conversion, images: torch.Tensor):
    """line -> (the generated module's value after that line, the parameters of that line's modules); and the output."""
    program = conversion.program
    parts = [(ours.features, program.features)]
    if program.classifier is not None:
        parts.append((ours.classifier, program.classifier))
    starts = sorted(conversion.lines)
    owners: dict[int, list[nn.Module]] = {}
    while parts:
        sequential, nodes = parts.pop(0)
        if len(sequential) != len(nodes):
            return {}, ours(images)
        for child, node in zip(sequential, nodes):
            # A top-level node belongs to the body line it is written on or under (a multi-line repeat's body).
            line = node.calls[0].line if node.calls else node.line
            owner = bisect.bisect_right(starts, line) - 1
            if owner >= 0:
                owners.setdefault(starts[owner], []).append(child)
            if isinstance(node, TypedSkip) and not node.calls and isinstance(getattr(child, "body", None), nn.Sequential):
                # keep ... cat: the lines between are top-level lines too, run inside the Skip module's body
                parts.append((child.body, node.body))
    found: dict[int, tuple[torch.Tensor, int]] = {}
    handles = []
    for line, modules in owners.items():
        params = sum(p.numel() for m in modules for p in m.parameters())

        def hook(_module, _inputs, output, line=line, params=params):
            found[line] = (output.detach(), params)

        handles.append(modules[-1].register_forward_hook(hook))
    try:
        output = ours(images)
    finally:
        for handle in handles:
            handle.remove()
    return found, output


def _device_of(module: nn.Module) -> torch.device:
    return next((t.device for t in (*module.parameters(), *module.buffers())), torch.device("cpu"))


def round_trip_table(result: ImportVerification) -> str:
    """The table, then the verdict."""
    header = ("line", "statement", "source", "output (C, H, W)", "params", "max |diff|", "")
    rows = [header]
    for row in result.rows:
        shape = str(row.shape) if row.shape == row.source_shape else f"{row.source_shape} vs {row.shape}"
        params = f"{row.params:,}" if row.params == row.source_params else f"{row.source_params:,} vs {row.params:,}"
        rows.append(
            (
                str(row.line),
                _clip(row.code, 44),
                _clip(row.source, 28),
                shape,
                params,
                "-" if row.difference is None else f"{row.difference:.2g}",
                "ok" if row.ok else "MISMATCH",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    right = {0, 4, 5}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    size = f"{result.size[0]}x{result.size[1]}"
    difference = "-" if result.difference is None else f"{result.difference:.2g}"
    verdict = "round trip verified" if result.ok else "ROUND TRIP FAILED"
    params = f"{result.params:,} parameters" + ("" if result.params == result.source_params else f" (the source uses {result.source_params:,})")
    lines.append(
        f"{verdict} on {result.device}, batch {result.batch} at {size}: {params}, "
        f"outputs differ by at most {difference} (atol {ATOL:g})"
    )
    for other, value in result.other_sizes.items():
        lines.append(f"  at {other[0]}x{other[1]} (the smallest size the program admits): outputs differ by at most {value:.2g}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
