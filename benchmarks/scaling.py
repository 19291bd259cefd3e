"""Scaling: checking generated files of 10 to 19,998 layers, and the examples.

Each file is `input 32x32x8`, then layer lines cycling through
`conv 8 k3 p1`, `bn`, `relu` (the type never changes, so every line is a
checked layer), then `avgpool to 1`, `flatten`, `linear 10`: N layers in all
(20,000 statements is the limit for a file, E0064: the largest file has
19,998 layers after `network` and `input`). For each size,
a fresh worker process times, in alternating pairs, the parse alone
(cnndsl.syntax.parser.parse) and the parse plus the type check
(cnndsl.check_program, what `cnnc check` does after reading the file), in
the process's CPU time, which other processes on a shared machine do not
inflate. A fresh `cnnc check` of each file is timed on the wall clock too.
Targets: the cost per layer is flat (19,998 layers within 1.5x of 1,000),
and checking adds at most 50% to parsing.

The examples mode (`--examples`, all of them by default) times the same
pair, parse alone and parse + check, on every examples/*.cnn and
examples/zoo/*.cnn (symbolic ones included), in one fresh worker process,
each file warmed up first; checking must add at most 50% to each one's
parse (the median of its pairs).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    NEUTRAL_DIR,
    PYTHON,
    ROOT,
    Series,
    arguments,
    cnnc_command,
    compiled_copy,
    machine_line,
    report,
    run_command,
    seconds,
    spread,
    table,
    verdict,
)

from cnndsl.syntax.recovery import MAX_STATEMENTS  # noqa: E402

# The largest legal file: the limit's statements (E0064), less `network` and `input`.
LARGEST = MAX_STATEMENTS - 2
SIZES = [10, 100, 1_000, 10_000, LARGEST]
QUICK_SIZES = [10, 100, 1_000, 10_000]
CYCLE = ["conv 8 k3 p1", "bn", "relu"]

WORKER = """
import gc, json, sys, time
from cnndsl.compiler import check_program
from cnndsl.diagnostics.model import Reporter
from cnndsl.syntax.source import SourceText
from cnndsl.syntax.parser import parse

# argv: repeats, then pairs of a file and its expected layer count ('-': any count)
repeats = int(sys.argv[1])
clock = time.process_time  # CPU time: what other processes take is not counted

def measure(path, expected):
    data = open(path, "rb").read()
    text = data.decode("utf-8")

    def parse_only():
        start = clock()
        parse(Reporter(SourceText(text, path)))
        return clock() - start

    def parse_and_check():
        start = clock()
        program = check_program(data, path)
        elapsed = clock() - start
        assert program.ok, program.diagnostics[:3]
        assert expected == "-" or len(program.layers) == int(expected), len(program.layers)
        return elapsed

    parse_only(); parse_and_check()  # warm up: grammar cache, the layer families, first-call costs
    results = {"parse": [], "check": []}
    for index in range(repeats):
        gc.collect()
        order = (parse_only, parse_and_check) if index % 2 == 0 else (parse_and_check, parse_only)
        for run in order:
            results["parse" if run is parse_only else "check"].append(run())
    return results

pairs = sys.argv[2:]
print(json.dumps({path: measure(path, expected) for path, expected in zip(pairs[::2], pairs[1::2])}))
"""


def run_worker(worker: Path, env: dict, repeats: int, files: list[tuple[Path, int | None]]) -> dict:
    """The worker's times for each file: {path: {"parse": [...], "check": [...]}}."""
    command = [PYTHON, str(worker), str(repeats)]
    for path, layers in files:
        command += [str(path), "-" if layers is None else str(layers)]
    out = subprocess.run(command, env=env, cwd=NEUTRAL_DIR, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def overhead_of(parse: Series, check: Series) -> Series:
    """What checking adds to parsing, pair by pair."""
    return Series([c / p - 1 for p, c in zip(parse.values, check.values)])


def example_files(names: str) -> list[Path]:
    """examples/*.cnn then examples/zoo/*.cnn; `names`: 'all', 'none' or comma-separated stems (zoo/NAME for the zoo)."""
    everything = sorted((ROOT / "examples").glob("*.cnn")) + sorted((ROOT / "examples" / "zoo").glob("*.cnn"))
    if names == "all":
        return everything
    if names == "none":
        return []
    by_name = {str(path.relative_to(ROOT / "examples").with_suffix("")): path for path in everything}
    unknown = [name for name in names.split(",") if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown example(s): {', '.join(unknown)} (have: {', '.join(by_name)})")
    return [by_name[name] for name in names.split(",")]


def examples_section(files: list[Path], worker: Path, env: dict, repeats: int) -> tuple[dict, str]:
    """The examples' table and its verdict line."""
    data = run_worker(worker, env, repeats, [(path, None) for path in files])
    rows, results = [], {}
    for path in files:
        times = data[str(path)]
        parse, check = Series(times["parse"]), Series(times["check"])
        overhead = overhead_of(parse, check)
        name = str(path.relative_to(ROOT / "examples").with_suffix(""))
        results[name] = {"parse": parse, "parse+check": check, "check overhead": overhead}
        rows.append([
            name,
            spread(parse),
            spread(check),
            f"{overhead.median:+.0%} ({overhead.min:+.0%} – {overhead.max:+.0%})",
        ])
    print(f"## Checking vs parsing on the examples ({repeats} pairs each; CPU time)\n")
    print(table(["example", "parse: median (min – max)", "parse + check", "checking adds (median, range)"], rows))
    worst = max(results, key=lambda name: results[name]["check overhead"].median)
    over = [name for name in results if results[name]["check overhead"].median > 0.5]
    text = f"checking adds at most {results[worst]['check overhead'].median:+.0%} to parsing on the {len(files)} example{'s' if len(files) != 1 else ''} ({worst}; at most +50%)"
    if over:
        text += f"; {len(over)} of {len(files)} over +50%, the table says which"
    return results, verdict(not over, text)


TAIL = ["avgpool to 1", "flatten", "linear 10"]


def generate(layers: int) -> str:
    """A program of exactly `layers` layers, one per line."""
    lines = ["# generated by benchmarks/scaling.py", "network Deep", "input 32x32x8"]
    lines += [CYCLE[i % len(CYCLE)] for i in range(layers - len(TAIL))]
    lines += TAIL
    return "\n".join(lines) + "\n"


def main() -> None:
    def extra(parser):
        parser.add_argument("--sizes", help="comma-separated layer counts (default: 10 to 19,998; --quick: to 10,000; 'none': skip)")
        parser.add_argument(
            "--examples", default="all", metavar="NAMES",
            help="the examples to time: 'all' (default), 'none', or comma-separated names (quiz,zoo/resnet50)",
        )

    args = arguments(__doc__.splitlines()[0], extra)
    if args.sizes == "none":
        sizes = []
    else:
        sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else QUICK_SIZES if args.quick else SIZES
    examples = example_files(args.examples)
    repeats = args.repeats or (2 if args.quick else 5)
    compiled = compiled_copy(bytecode=True)
    worker = NEUTRAL_DIR / "scaling_worker.py"
    worker.write_text(WORKER)
    rows = []
    per_layer: dict[int, float] = {}
    overheads: dict[int, Series] = {}
    results = {}
    for size in sizes:
        path = NEUTRAL_DIR / f"deep_{size}.cnn"
        path.write_text(generate(size))
        layers = size
        # Fewer repeats for the largest files; their times are long and steady.
        count = repeats if size <= 10_000 else max(2, repeats // 2)
        data = run_worker(worker, compiled, count, [(path, layers)])[str(path)]
        parse, check = Series(data["parse"]), Series(data["check"])
        overhead = overhead_of(parse, check)
        overheads[size] = overhead
        per_layer[size] = check.median / layers
        fresh = ""
        if not args.quick or size <= 1_000:
            fresh = seconds(run_command([*cnnc_command(), "check", str(path)], env=compiled))
        rows.append([
            f"{size:,}",
            spread(parse),
            spread(check),
            f"{parse.median / layers * 1e6:.1f} µs",
            f"{check.median / layers * 1e6:.1f} µs",
            f"{overhead.median:+.0%} ({overhead.min:+.0%} – {overhead.max:+.0%})",
            fresh,
        ])
        results[size] = {"parse": parse, "parse+check": check, "check overhead": overhead, "cnnc check": fresh}

    checks = []
    if sizes:
        print(f"## Scaling ({repeats} pairs per size; {max(2, repeats // 2)} above 10,000)\n")
        print(machine_line() + "\n")
        print(table(
            ["layers", "parse: median (min – max)", "parse + check", "parse per layer", "parse + check per layer",
             "checking adds (median, range)", "fresh cnnc check"],
            rows,
        ))
        largest = max(sizes)
        if 1_000 in per_layer and largest > 1_000:
            flat = per_layer[largest] / per_layer[1_000]
            checks.append(verdict(flat <= 1.5, f"per-layer cost at {largest:,} layers is {flat:.2f}x that at 1,000 (at most 1.5x)"))
        big = [size for size in sizes if size >= 1_000] or sizes
        worst = max(overheads[size].median for size in big)
        checks.append(verdict(worst <= 0.5, f"checking adds at most {worst:+.0%} to parsing from {min(big):,} layers up (at most +50%)"))
        print("\n" + "\n".join(checks) + "\n")
    if examples:
        # Programs of a few milliseconds: many pairs are cheap, and the median needs them.
        pairs = args.repeats or (5 if args.quick else 21)
        if not sizes:
            print(machine_line() + "\n")
        example_results, example_verdict = examples_section(examples, worker, compiled, pairs)
        results["examples"] = example_results
        checks.append(example_verdict)
        print("\n" + example_verdict)
    report("scaling", {"results": results, "verdicts": checks}, args)


if __name__ == "__main__":
    main()
