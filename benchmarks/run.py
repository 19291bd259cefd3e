"""Run every benchmark: `python benchmarks/run.py [--quick]`.

Each benchmark runs in its own process, one after the other, and prints a
Markdown section (tables, then `target met` / `target MISSED` lines). At the
end, the verdicts of all of them are repeated together. Results are recorded
in docs/benchmarks.md; `--json DIR` also keeps each benchmark's raw numbers.
A full run takes about half an hour on 2 cores (torch.compile of nine models
is most of it); `--quick` takes a few minutes.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["cold_start", "summary_anchors", "fresh_summary", "scaling", "huge_inputs", "generated_code"]
OPTIONAL = ["lsp_latency", "playground_latency"]  # written separately; run when present (the playground's needs Chromium)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--json", metavar="DIR", help="keep each benchmark's results as DIR/NAME.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="after --: options passed on to each benchmark run (with --only)")
    args = parser.parse_args()
    passed_on = args.rest[1:] if args.rest[:1] == ["--"] else args.rest

    names = BENCHMARKS + [name for name in OPTIONAL if (HERE / f"{name}.py").is_file()]
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(names)})")
        names = [name for name in names if name in wanted]
    if args.json:
        out_dir = Path(args.json)
    else:
        out_dir = Path(tempfile.mkdtemp(prefix="cnndsl-bench-results-"))
        atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    verdicts: list[str] = []
    failures: list[str] = []
    for name in names:
        script = HERE / f"{name}.py"
        command = [sys.executable, str(script)]
        supported = _options(script)
        if args.quick and "--quick" in supported:
            command.append("--quick")
        result_file = out_dir / f"{name}.json"
        if "--json PATH" in supported:  # lsp_latency.py's --json is a flag: it prints JSON instead
            command += ["--json", str(result_file)]
        command += passed_on
        print(f"\n<!-- {' '.join(command[1:])} -->", flush=True)
        start = time.perf_counter()
        code = subprocess.call(command)
        elapsed = time.perf_counter() - start
        if code != 0:
            failures.append(f"{name} exited with {code}")
            continue
        print(f"\n({name}: {elapsed:.0f} s)", flush=True)
        if result_file.is_file():
            verdicts += [f"{name}: {line}" for line in json.loads(result_file.read_text()).get("verdicts", [])]
        else:
            verdicts.append(f"{name}: see its section above")

    print("\n## All targets\n")
    for line in verdicts + failures:
        print(f"- {line}")
    if args.json:
        print(f"\nraw results: {out_dir}")
    missed = failures or any("MISSED" in line for line in verdicts)
    return 1 if (failures or (args.strict and missed)) else 0


def _options(script: Path) -> str:
    """The script's --help text (to pass only the options it knows)."""
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


if __name__ == "__main__":
    sys.exit(main())
