"""Build a generated module and check it against the static types.

First on the meta device (no memory, catches any shape disagreement), then,
within a memory budget checked against the static memory figures
(cnndsl/memory.py, what `cnnc summary` prints), on the real device
with a real batch. Every leaf layer's runtime output shape and parameter
count must equal what the checker computed; a difference is a compiler bug.

A symbolic program (`input HxWx3`) is run at several input sizes (the
smallest admissible one, then larger ones of both parities, or those given
with `--size`); at each, every layer's runtime shape must equal its symbolic
type evaluated at that size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..reports.memory import estimate
from ..types.symbolic import size_at
from ..check.typed import TypedProgram

DEFAULT_BUDGET = 4 * 1024**3


class DeviceError(Exception):
    """The requested device does not exist here (exit 2)."""


class MemoryBudgetError(Exception):
    """Building or running the module would exceed the memory budget (exit 1)."""


@dataclass(frozen=True)
class LayerCheck:
    line: int
    module: str
    static_shape: tuple[int, ...]
    runtime_shape: tuple[int, ...] | None
    static_params: int
    runtime_params: int | None
    size: tuple[int, int] | None = None  # the input height and width (symbolic programs)

    @property
    def ok(self) -> bool:
        return self.static_shape == self.runtime_shape and self.static_params == self.runtime_params


@dataclass
class Verification:
    device: str
    batch: int
    layers: list[LayerCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    total_params: int = 0
    runtime_total_params: int = 0
    sizes: list[tuple[int, int]] = field(default_factory=list)  # symbolic programs: the sizes run

    @property
    def ok(self) -> bool:
        return not self.problems and all(layer.ok for layer in self.layers)


def parse_size(text: str) -> int:
    """`4G`, `512M`, `1.5GiB`, `1000000` -> bytes."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in units and cleaned[-1:] != "" else ""
    number = cleaned[: -1] if unit else cleaned
    return int(float(number) * units[unit])


def resolve_device(name: str):
    import torch

    name = name.strip()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as error:
        raise DeviceError(f"unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' is not available: this machine has no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device '{name}' is not available: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"device '{name}' is not available: this machine has no MPS device")
    elif device.type != "cpu":
        raise DeviceError(f"device '{name}' is not supported (use auto, cpu, cuda, cuda:N or mps)")
    return device


def _leaves(model):
    """The layers: modules without children (an empty Sequential is a container; an
    Identity is an empty branch, the input itself)."""
    import torch

    return [
        module
        for module in model.modules()
        if not list(module.children()) and not isinstance(module, (torch.nn.Sequential, torch.nn.Identity))
    ]


def default_sizes(program: TypedProgram) -> list[tuple[int, int]]:
    """The smallest admissible input, then one size up (the other parity), then a larger odd x even one."""
    height, width = program.smallest_size()
    fixed_h, fixed_w = (isinstance(size, int) for size in (program.input.height, program.input.width))

    def admissible(size, value: int) -> int:  # rounded up to the symbol's residue (`where H % 16 == 0`)
        symbol = program.symbols[size.symbol]
        return value + (symbol.residue - value) % symbol.modulus

    h_size, w_size = program.input.height, program.input.width
    sizes = [
        (height, width),
        (height if fixed_h else admissible(h_size, height + 1), width if fixed_w else admissible(w_size, width + 1)),
        (height if fixed_h else admissible(h_size, max(2 * height, 32) + 1),
         width if fixed_w else admissible(w_size, max(2 * width, 32) + 2)),
    ]
    if program.input.height == program.input.width:  # one symbol for both: square inputs only
        sizes = [(h, h) for h, _ in sizes]
    return list(dict.fromkeys(sizes))


def _run(
    program: TypedProgram, module_class, device, batch: int, input_size: tuple[int, int] | None = None, models: dict | None = None
) -> tuple[list, int]:
    """Build on `device` (once per device in `models`), run one batch; each leaf's (output shape, params) in call order."""
    import torch

    model = models.get(str(device)) if models is not None else None
    if model is None:
        with torch.device(device):
            model = module_class()
        model.eval()
        if models is not None:  # a symbolic program runs one module at several sizes
            models[str(device)] = model
    records: list[tuple[tuple[int, ...], int]] = []
    handles = []
    for leaf in _leaves(model):
        params = sum(p.numel() for p in leaf.parameters())

        def hook(module, inputs, output, params=params):
            records.append((tuple(output.shape[1:]), params))

        handles.append(leaf.register_forward_hook(hook))
    shape = (batch, *program.input.torch_shape[:1], *(input_size or program.input.torch_shape[1:]))
    x = torch.empty(shape, device=device) if device.type == "meta" else torch.randn(shape, device=device)
    with torch.no_grad():
        out = model(x)
    for handle in handles:
        handle.remove()
    total = sum(p.numel() for p in model.parameters())
    records.append((tuple(out.shape[1:]), -1))
    return records, total


def verify(
    program: TypedProgram,
    module_class,
    device: str = "auto",
    batch: int = 2,
    budget: int | None = DEFAULT_BUDGET,
    sizes: list[tuple[int, int]] | None = None,
) -> Verification:
    """Run the module and compare it with the static types; `sizes` for a symbolic program."""
    target = resolve_device(device)
    if not program.symbolic:
        return _verify_at(program, program, module_class, target, batch, budget, None, {})
    from ..compiler import instantiate

    sizes = sizes or default_sizes(program)
    models: dict = {}  # one module per device, run at every size
    combined = Verification(device=str(target), batch=batch, total_params=program.total_params, sizes=list(sizes))
    for size in sizes:
        instance = instantiate(program, *size)  # ValueError for a size below the bounds
        if not instance.ok:
            first = next(d for d in instance.diagnostics if d.is_error)
            combined.problems.append(f"at {size[0]}x{size[1]} the checker reports: {first.message}")
            return combined
        result = _verify_at(program, instance, module_class, target, batch, budget, size, models)
        combined.layers.extend(result.layers)
        combined.problems.extend(f"at {size[0]}x{size[1]}: {problem}" for problem in result.problems)
        combined.runtime_total_params = result.runtime_total_params
        combined.device = result.device
        if not result.ok:
            break
    return combined


def _verify_at(program: TypedProgram, instance: TypedProgram, module_class, target, batch, budget, size, models: dict) -> Verification:
    """One input size: `instance` is the program at that size (itself, for a fixed-size program)."""
    import torch

    result = Verification(device=str(target), batch=batch, total_params=program.total_params)
    static = program.layers
    sizes = instance.sizes
    for where in ("meta", "real"):
        if where == "real":
            # The figures `cnnc summary` prints (cnndsl/memory.py), in float32.
            memory = estimate(instance, batch)
            needed = memory.guard_bytes
            if budget is not None and needed > budget:
                basis = (
                    f"the estimated total size of `cnnc summary --batch {batch}`"
                    if needed == memory.total_bytes
                    else "its largest layer output, held with that layer's input; layers without parameters "
                    "are not in `cnnc summary`'s torchinfo-style total"
                )
                raise MemoryBudgetError(
                    f"building and running {program.name} with batch {batch}"
                    + (f" at {size[0]}x{size[1]}" if size else "")
                    + f" needs about {needed / 1e6:,.0f} MB "
                    f"({basis}), more than the budget of {budget / 1e6:,.0f} MB; "
                    "pass --max-memory to raise it (the meta-device check passed)"
                )
        records, total = _run(program, module_class, torch.device("meta") if where == "meta" else target, batch, size, models)
        *leaf_records, (final_shape, _) = records
        result.layers = [
            LayerCheck(
                line=layer.line,
                module=layer.module,
                static_shape=_evaluated(layer.output.torch_shape, sizes),
                runtime_shape=record[0] if record else None,
                static_params=layer.params,
                runtime_params=record[1] if record else None,
                size=size,
            )
            for layer, record in zip(static, leaf_records + [None] * (len(static) - len(leaf_records)))
        ]
        result.runtime_total_params = total
        result.problems = []
        if len(leaf_records) != len(static):
            result.problems.append(f"{len(static)} layers expected, {len(leaf_records)} ran")
        if total != program.total_params:
            result.problems.append(f"{program.total_params:,} parameters expected, the module has {total:,}")
        expected_out = _evaluated(program.output.torch_shape, sizes)
        if final_shape != expected_out:
            result.problems.append(f"output {expected_out} expected, the module returned {final_shape}")
        if not result.ok:
            result.device = "meta" if where == "meta" else result.device
            return result
    return result


def _evaluated(shape: tuple, sizes: dict[str, int]) -> tuple[int, ...]:
    """A static (C, H, W) with its symbolic sizes evaluated at `sizes`."""
    return tuple(size_at(d, sizes) for d in shape)


def render_verification(program: TypedProgram, result: Verification) -> str:
    if result.sizes:
        return _render_sizes(program, result)
    rows = [("line", "layer", "static (C, H, W)", "runtime", "params", "runtime", "")]
    for check in result.layers:
        rows.append(
            (
                str(check.line),
                check.module.removeprefix("nn."),
                str(check.static_shape),
                str(check.runtime_shape),
                f"{check.static_params:,}",
                f"{check.runtime_params:,}" if check.runtime_params is not None else "-",
                "ok" if check.ok else "MISMATCH",
            )
        )
    return _report(rows, {0, 4, 5}, result, f"batch {result.batch}: {len(result.layers)} layers")


def _report(rows: list[tuple[str, ...]], right: set[int], result: Verification, what: str) -> str:
    """The table (columns in `right` aligned right), then the verdict and any problems."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    status = "verified" if result.ok else "VERIFICATION FAILED"
    lines.append(
        f"{status} on {result.device}, {what}, "
        f"{result.runtime_total_params:,} parameters (static {result.total_params:,})"
    )
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    if not result.ok:
        lines.append("  the generated module disagrees with the static types: this is a cnnc bug, please report it")
    return "\n".join(lines) + "\n"


def _render_sizes(program: TypedProgram, result: Verification) -> str:
    """A symbolic program: each layer's symbolic type, then its runtime shape at each size."""
    by_size: dict[tuple[int, int], list[LayerCheck]] = {}
    for check in result.layers:
        by_size.setdefault(check.size, []).append(check)
    sizes = list(by_size)
    header = ("line", "layer", "static (C, H, W)", "params", *(f"at {h}x{w}" for h, w in sizes), "")
    rows = [header]
    for index, layer in enumerate(program.layers):
        checks = [by_size[size][index] if index < len(by_size[size]) else None for size in sizes]
        rows.append(
            (
                str(layer.line),
                layer.module.removeprefix("nn."),
                "(" + ", ".join(map(str, layer.output.torch_shape)) + ("," if len(layer.output.torch_shape) == 1 else "") + ")",
                f"{layer.params:,}",
                *(str(check.runtime_shape) if check else "-" for check in checks),
                "ok" if checks and all(check is not None and check.ok for check in checks) else "MISMATCH",
            )
        )
    shown = ", ".join(f"{h}x{w}" for h, w in sizes)
    plural = "s" if len(sizes) != 1 else ""
    return _report(rows, {0, 3}, result, f"batch {result.batch}, at {len(sizes)} input size{plural} ({shown}): {len(program.layers)} layers")
