"""Cold start: a fresh `cnnc check` / `cnnc summary` against a fresh `python -c "import torch"`.

What a user waits for before learning a network's shapes: with PyTorch, at
least the import of torch; with cnndsl, the whole `cnnc` command. Every
command is a new process. Target: cnnc at most 1/25 of the torch import
(issue 17; it was 1/15 before the generated parser and the start-up work of
docs/design.md, "Start-up").

cnndsl runs from a byte-compiled copy (what a wheel install has); the
editable install here recompiles cnndsl in every process (this environment
sets PYTHONDONTWRITEBYTECODE=1), measured too, for information.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    EXAMPLES,
    NEUTRAL_DIR,
    PYTHON,
    arguments,
    cnnc_command,
    installed_environment,
    python_option,
    compiled_copy,
    interleaved,
    machine_line,
    ratio,
    report,
    run_process,
    seconds,
    spread,
    table,
    verdict,
)

TARGET = 1 / 25
HEAVY = ("torch", "black", "jinja2", "lark")


def import_profile(python: str, env: dict, runs: int, argv: list[str]) -> tuple[dict[str, float], set[str]]:
    """Import time per top-level package (best of `runs`, seconds) and every module imported."""
    best: dict[str, float] = {}
    modules: set[str] = set()
    for _ in range(runs):
        result = subprocess.run(
            [python, "-X", "importtime", *argv], env=env, capture_output=True, text=True, check=True, cwd=NEUTRAL_DIR
        )
        totals: dict[str, float] = {}
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
            if not match:
                continue
            name = match[3]
            modules.add(name)
            top = name.split(".")[0]
            totals[top] = totals.get(top, 0.0) + int(match[1]) / 1e6
        for top, value in totals.items():
            best[top] = min(best.get(top, value), value)
    return best, modules


def main() -> None:
    args = arguments(__doc__.splitlines()[0], python_option)
    repeats = args.repeats or (3 if args.quick else 12)
    python = args.python or PYTHON
    quiz = str(EXAMPLES / "quiz.cnn")
    cnnc = cnnc_command(python)
    if args.python:
        compiled = torch_env = installed_environment(args.python)
        setting = f"{args.python}: its own wheel install of cnndsl (byte-compiled by pip) and of torch"
    else:
        compiled = compiled_copy(bytecode=True)
        source_only = compiled_copy(bytecode=False)
        torch_env = None
        setting = f"{python}: a byte-compiled copy of this checkout first on PYTHONPATH; 'no .pyc': the same, compiled in every process"

    runs = {
        "import torch": lambda: run_process([python, "-c", "import torch"], env=torch_env),
        "cnnc check": lambda: run_process([*cnnc, "check", quiz], env=compiled),
        "cnnc summary": lambda: run_process([*cnnc, "summary", quiz], env=compiled),
    }
    if not args.python:
        runs["cnnc check (no .pyc)"] = lambda: run_process([*cnnc, "check", quiz], env=source_only)
        runs["cnnc summary (no .pyc)"] = lambda: run_process([*cnnc, "summary", quiz], env=source_only)
    runs['python -c "pass"'] = lambda: run_process([python, "-c", "pass"], env=torch_env)
    results = interleaved(runs, "import torch", repeats)
    reference = next(iter(results.values()))
    torch_times = reference.a

    print(f"## Cold start ({repeats} rounds; each round runs every command once, order rotated)\n")
    print(machine_line() + "\n")
    print(f"Interpreter: {setting}.\n")
    rows = [["python -c \"import torch\"", spread(torch_times), "1", "", seconds(reference.cpu_a.median), "1"]]
    for name, pair in results.items():
        rows.append([
            name,
            spread(pair.b),
            f"1/{1 / pair.ratios.median:.1f}",
            f"1/{1 / pair.ratios.max:.1f} – 1/{1 / pair.ratios.min:.1f}",
            seconds(pair.cpu_b.median),
            f"1/{1 / pair.cpu_ratios.median:.1f}",
        ])
    print(table(
        ["command (fresh process)", "wall: median (min – max)", "vs torch", "range of pairs", "CPU: median", "vs torch (CPU)"],
        rows,
    ))

    profile, modules = import_profile(python, compiled, runs=2 if args.quick or repeats < 3 else 5, argv=["-c", "import sys; sys.argv = ['cnnc', 'check', sys.argv[1]]; "
                                                 "from cnndsl.cli.main import main; main()", quiz])
    runs_note = "best of 2" if args.quick or repeats < 3 else "best of 5"
    leaked = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    heaviest = sorted(profile.items(), key=lambda item: -item[1])[:10]
    print(f"\nImports of `cnnc check` (python -X importtime, {runs_note}, self time summed per top-level package):\n")
    print(table(["package", "import time"], [[name, seconds(value)] for name, value in heaviest]))
    print(f"\ntorch, black, jinja2, lark imported by `cnnc check`: {', '.join(leaked) if leaked else 'none'}")

    checks = []
    for name in ("cnnc check", "cnnc summary"):
        median = results[name].ratios.median
        checks.append(verdict(
            median <= TARGET, f"{name} (byte-compiled) takes 1/{1 / median:.1f} of the torch import (at most 1/{1 / TARGET:.0f})"
        ))
    checks.append(verdict(not leaked, "cnnc check imports none of torch, black, jinja2, lark"))
    print("\n" + "\n".join(checks))
    report("cold_start", {"torch import": torch_times, "pairs": results, "imports": profile, "heavy imports": leaked, "verdicts": checks}, args)


if __name__ == "__main__":
    main()
