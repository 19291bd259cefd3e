"""What every benchmark shares: paired timing, statistics, tables, the machine.

Shared 2-core machines are noisy, so the benchmarks never compare two
separately taken series. They alternate A and B (ABBA..., so that neither
always runs first), take the ratio of each pair, and report min / median /
max of the times and of the ratios. A target is judged on the median ratio.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PYTHON = sys.executable  # the real interpreter, not a pyenv shim script
# Fresh processes run here, so that `python -c` does not import ./cnndsl from a checkout.
NEUTRAL_DIR = Path(tempfile.mkdtemp(prefix="cnndsl-bench-cwd-"))
atexit.register(shutil.rmtree, NEUTRAL_DIR, ignore_errors=True)


# -- statistics ---------------------------------------------------------------


@dataclass
class Series:
    """Repeated measurements of one thing (seconds, or a ratio)."""

    values: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def summary(self) -> dict:
        return {"min": self.min, "median": self.median, "max": self.max, "n": len(self.values)}


@dataclass
class Pair:
    """A and B measured alternately; `ratios` is B/A pair by pair.

    For fresh processes, the `cpu_` series hold the same on the children's CPU
    time (user + system), which other processes on the machine do not inflate.
    """

    a: Series = field(default_factory=Series)
    b: Series = field(default_factory=Series)
    ratios: Series = field(default_factory=Series)
    cpu_a: Series = field(default_factory=Series)
    cpu_b: Series = field(default_factory=Series)
    cpu_ratios: Series = field(default_factory=Series)


def paired(run_a: Callable[[], float], run_b: Callable[[], float], repeats: int, warmup: int = 1) -> Pair:
    """Alternate A and B `repeats` times (order flipped every other pair)."""
    for _ in range(warmup):
        run_a()
        run_b()
    pair = Pair()
    for index in range(repeats):
        if index % 2 == 0:
            a = run_a()
            b = run_b()
        else:
            b = run_b()
            a = run_a()
        pair.a.values.append(a)
        pair.b.values.append(b)
        pair.ratios.values.append(b / a)
    return pair


def interleaved(runs: dict[str, Callable[[], float]], reference: str, repeats: int, warmup: int = 1) -> dict[str, Pair]:
    """Several things measured in rounds, each against `reference` in the same round.

    Every round runs each entry once, in an order rotated from round to round;
    the ratio is entry / reference within the round (a pair per round).
    Returns {name: Pair(a=reference, b=entry, ratios=entry/reference)}.
    """
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    results = {name: Pair() for name in names if name != reference}
    for index in range(repeats):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        if index % 2:
            order.reverse()
        times = {name: runs[name]() for name in order}
        for name, pair in results.items():
            (wall_a, cpu_a), (wall_b, cpu_b) = _split(times[reference]), _split(times[name])
            pair.a.values.append(wall_a)
            pair.b.values.append(wall_b)
            pair.ratios.values.append(wall_b / wall_a)
            if cpu_a is not None and cpu_b is not None:
                pair.cpu_a.values.append(cpu_a)
                pair.cpu_b.values.append(cpu_b)
                pair.cpu_ratios.values.append(cpu_b / cpu_a)
    return results


def _split(value) -> tuple[float, float | None]:
    return value if isinstance(value, tuple) else (value, None)


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_command(command: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    """Wall-clock seconds for one fresh process; a failing command stops the benchmark."""
    return run_process(command, env, cwd)[0]


def run_process(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds: user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd or NEUTRAL_DIR)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed ({result.returncode}): {' '.join(command)}\n{result.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


# -- formatting ---------------------------------------------------------------


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def ratio(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def spread(series: Series, fmt: Callable[[float], str] = seconds) -> str:
    """`median (min-max)`."""
    return f"{fmt(series.median)} ({fmt(series.min)} – {fmt(series.max)})"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table, aligned for reading in a terminal too."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def verdict(met: bool, text: str) -> str:
    return f"target {'met' if met else 'MISSED'}: {text}"


# -- the machine --------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    """Date and machine, without importing torch."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "torchinfo": _version("torchinfo"),
        "lark": _version("lark"),
        "cnndsl": _version("cnndsl"),
        "load average at start": " ".join(f"{x:.2f}" for x in load),
    }


def machine_line() -> str:
    return "; ".join(f"{key}: {value}" for key, value in machine().items())


# -- a byte-compiled copy of cnndsl, as a non-editable install has it ---------------


def compiled_copy(directory: Path | None = None, bytecode: bool = True) -> dict:
    """Copy cnndsl (+ grammar/, templates/) to a temporary directory and return
    an environment that imports it first.

    This environment sets PYTHONDONTWRITEBYTECODE=1, so the editable install
    recompiles cnndsl's modules in every process; a wheel installs its .pyc
    files. With `bytecode` the copy is byte-compiled (`python -m compileall`),
    as pip does for a wheel; without it, every process compiles from source,
    as the editable install here does.
    """
    if directory is None:
        directory = tempfile.mkdtemp(prefix="cnndsl-bench-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    target = Path(directory)
    for name in ("cnndsl", "grammar", "templates"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    if bytecode:
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(target / "cnndsl")], check=True)
    env = {**os.environ, "PYTHONPATH": str(target), "NO_COLOR": "1"}
    found = subprocess.run(
        [PYTHON, "-c", "import cnndsl; print(cnndsl.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=NEUTRAL_DIR,
    ).stdout.strip()
    if not found.startswith(str(target)):
        raise SystemExit(f"the copy in {target} is not the cnndsl that gets imported ({found})")
    return env


def cnnc_command(python: str | None = None) -> list[str]:
    """The installed `cnnc` console script, run by the real interpreter."""
    python = python or PYTHON
    script = Path(python).parent / "cnnc"
    if script.is_file():
        return [python, str(script)]
    return [python, "-m", "cnndsl"]


def installed_environment(python: str) -> dict:
    """The environment for another interpreter that has its own (wheel) install of cnndsl."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    found = subprocess.run(
        [python, "-c", "import cnndsl; print(cnndsl.__file__)"], env=env, capture_output=True, text=True, cwd=NEUTRAL_DIR
    )
    if found.returncode != 0 or str(ROOT) in found.stdout:
        raise SystemExit(f"{python} must have its own, non-editable install of cnndsl ({found.stdout.strip() or found.stderr.strip()})")
    return env


def python_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="measure with another interpreter and its own installs of cnndsl and torch, e.g. a fresh venv "
        "with `pip install .` (default: this one, with a byte-compiled copy of this checkout)",
    )


def load_example(name: str):
    """The committed examples/NAME.py, imported by path (as a user imports a model file)."""
    import importlib.util

    module_name = f"cnndsl_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


# A symbolic example (input HxWx3) is measured at ImageNet's size.
SYMBOLIC_SIZE = 224


def concrete_input_shape(cls) -> tuple[int, ...]:
    """A generated class's `input_shape`, with a symbolic size (None) set to SYMBOLIC_SIZE."""
    return tuple(SYMBOLIC_SIZE if size is None else size for size in cls.input_shape)


def example_class(name: str):
    import inspect

    import torch

    module = load_example(name)
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module) and hasattr(obj, "input_shape")
    ]
    (cls,) = classes
    return cls


# -- the command line of every benchmark ----------------------------------------------


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=None, help="pairs to measure (default depends on --quick)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def report(name: str, results: dict, args: argparse.Namespace) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": name, "machine": machine(), **results}, indent=2, default=_plain))


def _plain(value):
    if isinstance(value, Series):
        return value.summary()
    if isinstance(value, Pair):
        plain = {"a": value.a.summary(), "b": value.b.summary(), "ratio b/a": value.ratios.summary()}
        if value.cpu_ratios.values:
            plain |= {"cpu a": value.cpu_a.summary(), "cpu b": value.cpu_b.summary(), "cpu ratio b/a": value.cpu_ratios.summary()}
        return plain
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)
