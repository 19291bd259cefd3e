"""Huge inputs: a fresh `cnnc check` on 2 MB files of several shapes.

Issue 17: any input up to 2 MB gets its answer within 2 s on the project
machine. Each shape is a file of about 2 MB (`--scale` shrinks them all, for
a smoke run); each file is checked in a fresh process (`cnnc check FILE`,
byte-compiled copy of this checkout, as cold_start.py runs it), `--repeats`
times, the shapes in rotated order. Reported: wall clock, CPU time and the
process's peak memory, and what the check answered.

Shapes: one statement of 700,000 words (E0063 skips it unread), many
over-long statements, many ordinary statements (more than a file's 20,000:
E0064), a legal program of 20,000 layers (the most a file may have), braces
nested 200,000 deep (E0062), one 2-million-digit number (E0061), 60,000 block definitions, a
million `=` signs and a million `1,` in one blank-free run (E0063 counts
signs as words), two million blank lines and a million comment lines (a
long blank run is read as one separator), two million stray `}` and lines of
999 words (E0064 past 100,000 words and signs in a file).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    NEUTRAL_DIR,
    PYTHON,
    arguments,
    compiled_copy,
    machine_line,
    report,
    seconds,
    table,
    verdict,
)

LIMIT = 2.0  # seconds, wall clock: the target
SIZE = 2_000_000  # characters in each file at scale 1

# What the child runs: `cnnc check FILE` as the console script does, then its
# own peak memory (ru_maxrss, KiB on Linux) on stderr.
CHILD = (
    "import resource, sys\n"
    "sys.argv = ['cnnc', 'check', sys.argv[1]]\n"
    "from cnndsl.cli.main import main\n"
    "code = main()\n"
    "sys.stderr.write(f'\\nPEAK-KIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    "sys.exit(code)\n"
)


def shapes(size: int) -> dict[str, str]:
    """Each shape's text, about `size` characters."""
    line = "relu " + "k3 " * 1_100 + "\n"
    wordy = "conv 8 " + "k3 " * 997 + "\n"  # within the statement cap: only the file's word limit stops it
    block_count = size // 34
    return {
        "one statement of 700,000 words": "input 32x32x3\nconv 10 " + "k3 " * (size // 3) + "\nrelu\n",
        "lines of 1,100 words each": "input 32x32x3\n" + line * (size // len(line) + 1),
        "many statements (200,000 layers)": "input 32x32x3\n" + "conv 10 k3 p1\nrelu\n" * (size // 19),
        "legal: 20,000 layers (0.2 MB)": "input 32x32x3\n" + "conv 10 k3 p1\nrelu\n" * min(9_999, size // 38),
        "braces nested 200,000 deep": "input 32x32x3\n" + "repeat 1 {\n" * (size // 13) + "relu\n" + "}\n" * (size // 13),
        "one number of 2,000,000 digits": "input 32x32x3\nconv " + "9" * size + "\n",
        "60,000 block definitions": "input 32x32x3\n"
        + "".join(f"block b{i}(c) {{ conv c k3 p1 }}\n" for i in range(block_count)),
        "a million '=' signs": "input 32x32x3\n" + "= " * (size // 2) + "\n",
        "a million '1,' without a blank": "input 32x32x3\nconv " + "1," * (size // 2) + "\n",
        "two million blank lines": "input 32x32x3\n" + "\n" * size + "relu\n",
        "a million comment lines": "input 32x32x3\n" + "#\n" * (size // 2) + "relu\n",
        "two million stray '}'": "input 32x32x3\nconv 10 " + "}" * size + "\n",
        "lines of 999 words each": "input 32x32x3\n" + wordy * (size // len(wordy) + 1),
    }


def check_once(env: dict, path: Path) -> tuple[float, float, int, str]:
    """(wall, CPU, peak KiB, the diagnostic codes in order of first appearance) of one fresh check."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([PYTHON, "-c", CHILD, str(path)], env=env, capture_output=True, text=True, cwd=NEUTRAL_DIR)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode not in (0, 1) or "Traceback" in result.stderr:
        raise SystemExit(f"cnnc check failed on {path.name} ({result.returncode}):\n{result.stderr[-2000:]}")
    peak = int(re.findall(r"PEAK-KIB (\d+)", result.stderr)[-1])
    codes = re.findall(r"(?:error|warning)\[(\w+)\]", result.stderr)
    counts: dict[str, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    return wall, cpu, peak, ", ".join(f"{code} x{n:,}" if n > 1 else code for code, n in counts.items()) or "no diagnostics"


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        lambda parser: parser.add_argument("--scale", type=float, default=1.0, help="file size as a fraction of 2 MB"),
    )
    repeats = args.repeats or (1 if args.quick else 3)
    scale = min(args.scale, 0.02) if args.quick else args.scale
    env = compiled_copy(bytecode=True)
    directory = Path(tempfile.mkdtemp(prefix="cnndsl-huge-"))
    files = {}
    for index, (name, text) in enumerate(shapes(int(SIZE * scale)).items()):
        files[name] = directory / f"shape{index}.cnn"
        files[name].write_text(text, encoding="utf-8")
    names = list(files)
    times: dict[str, list[tuple[float, float, int]]] = {name: [] for name in names}
    answers: dict[str, str] = {}
    for round_ in range(repeats):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            wall, cpu, peak, answer = check_once(env, files[name])
            times[name].append((wall, cpu, peak))
            answers[name] = answer

    print(f"## Huge inputs ({repeats} rounds, files of {int(SIZE * scale):,} characters; fresh `cnnc check` each)\n")
    print(machine_line() + "\n")
    rows, results, checks = [], {}, []
    for name in names:
        walls = [t[0] for t in times[name]]
        cpus = [t[1] for t in times[name]]
        peak = max(t[2] for t in times[name])
        size = files[name].stat().st_size
        rows.append([name, f"{size / 1e6:.2f} MB", seconds(statistics.median(walls)), seconds(statistics.median(cpus)),
                     f"{peak / 1024:.0f} MB", answers[name]])
        results[name] = {"bytes": size, "wall": walls, "cpu": cpus, "peak_kib": peak, "answer": answers[name]}
        checks.append(verdict(statistics.median(walls) <= LIMIT, f"{name}: {seconds(statistics.median(walls))} (at most {LIMIT:g} s)"))
    print(table(["shape", "size", "wall (median)", "CPU (median)", "peak memory", "cnnc check says"], rows))
    print("\n" + "\n".join(checks))
    report("huge_inputs", {"scale": scale, "results": results, "verdicts": checks}, args)


if __name__ == "__main__":
    main()
