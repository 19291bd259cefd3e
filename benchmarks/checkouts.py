"""Two checkouts of cnndsl in one process: checks, summaries and editor features, call by call.

For a change that should not change speed (a refactoring): BEFORE and AFTER
are copied side by side as two packages (`cnndsl_before`, `cnndsl_after`;
cnndsl imports itself only relatively) and imported into this one process,
then every workload runs once from each, in alternating order, for a number
of rounds. A ratio is taken within each pair, so the machine's swings (a
shared machine runs other sessions) cancel out far better than across
processes. CPU time (`time.process_time`), the cyclic collector off while
timing. Workloads: checking the examples, the language-server benchmark's
500-line file and a flat 3,000-layer file; the summary table of ResNet-34;
one analysis of the 500-line file as the server makes it (check, index,
diagnostics), from scratch and after a one-line edit (with the document's
parse cache: the statements after the edit are shifted); hovers, symbols,
inlay hints and a completion on it.
Target: AFTER is not slower beyond noise: every median ratio AFTER/BEFORE
at most 1.05, or 1.0 at or above the lower quartile of its ratios.

    python benchmarks/checkouts.py --before main            # a git ref, or a directory
    python benchmarks/checkouts.py --before ../old --after . --repeats 60
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Series, arguments, machine_line, report, table, verdict  # noqa: E402

EXAMPLES = ("quiz", "vgg16", "mobilenet", "resnet18", "resnet34")


def checkout(where: str, into: Path) -> Path:
    """A directory holding cnndsl/, grammar/ and templates/: `where` itself, or a git ref extracted."""
    path = Path(where)
    if (path / "cnndsl").is_dir():
        return path.resolve()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", where], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def load(source: Path, name: str, place: Path):
    """Import source/cnndsl as the package `name` (resources found next to it)."""
    shutil.copytree(source / "cnndsl", place / name, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("grammar", "templates"):
        if not (place / folder).exists():
            shutil.copytree(source / folder, place / folder)
    return importlib.import_module(name)


def workloads(name: str, texts: dict[str, str], big: str, edits: list[str]) -> dict:
    package = importlib.import_module(name)
    try:
        incremental = importlib.import_module(f"{name}.syntax.incremental")
    except ImportError:  # before the syntax package was split
        incremental = importlib.import_module(f"{name}.syntax.parser")
    cache = incremental.ParseCache()
    turn = [0]
    analysis = importlib.import_module(f"{name}.lsp.analysis")
    summary = importlib.import_module(f"{name}.reports.summary")
    fixed = package.check_program(texts["resnet34"].replace("input HxWx3", "input 224x224x3"), "resnet34.cnn")

    def features() -> None:
        document = analysis.Analysis(big, "big.cnn")
        offsets = [statement.command.span.start + 1 for statement in document.statements]
        for offset in offsets[::5]:
            document.hover(offset)
        document.symbols()
        document.inlay_hints()
        document.completion(offsets[len(offsets) // 2])

    runs = {f"check {key}": (lambda text=text: package.check_program(text, "x.cnn")) for key, text in texts.items()}
    runs["summary table resnet34"] = lambda: (summary.summarize(fixed), summary.render_table(fixed, explain=True))
    runs["analysis lsp500"] = lambda: analysis.Analysis(big, "big.cnn").diagnostics("file:///big.cnn")
    runs["editor features lsp500"] = features

    def edit() -> None:  # the server after an edit: the document's parse cache, statements after it shifted
        turn[0] += 1
        analysis.Analysis(edits[turn[0] % len(edits)], "big.cnn", parse_cache=cache).diagnostics("file:///big.cnn")

    runs["analysis after an edit lsp500"] = edit
    return runs


def measure(before: dict, after: dict, repeats: int) -> dict[str, tuple[Series, Series, Series]]:
    results = {}
    gc.disable()
    try:
        for key in before:
            for run in (before[key], after[key], before[key], after[key]):  # warm up
                run()
            a, b, ratios = Series(), Series(), Series()
            for index in range(repeats):
                order = ((before[key], a), (after[key], b))
                for run, series in order if index % 2 == 0 else order[::-1]:
                    start = time.process_time()
                    run()
                    series.values.append(time.process_time() - start)
                ratios.values.append(b.values[-1] / a.values[-1])
                gc.collect()
            results[key] = (a, b, ratios)
    finally:
        gc.enable()
    return results


def quartiles(series: Series) -> tuple[float, float]:
    ordered = sorted(series.values)
    return ordered[(len(ordered) - 1) // 4], ordered[3 * (len(ordered) - 1) // 4]


def main() -> None:
    def extra(parser):
        parser.add_argument("--before", required=True, help="a checkout directory, or a git ref of this repository")
        parser.add_argument("--after", default=str(ROOT), help="a checkout directory, or a git ref (default: this checkout)")

    args = arguments(__doc__.splitlines()[0], extra)
    repeats = args.repeats or (4 if args.quick else 40)
    place = Path(tempfile.mkdtemp(prefix="cnndsl-checkouts-"))
    try:
        before_root = checkout(args.before, place / "before-src")
        after_root = checkout(args.after, place / "after-src")
        sys.path.insert(0, str(place / "packages"))
        (place / "packages").mkdir()
        load(before_root, "cnndsl_before", place / "packages")
        load(after_root, "cnndsl_after", place / "packages")
        spec = importlib.util.spec_from_file_location("lsp_latency", Path(__file__).resolve().parent / "lsp_latency.py")
        latency = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(latency)
        big = latency.program(500)
        lines = big.splitlines()
        edits = [latency.edited(lines, latency.middle_line(lines), number) for number in range(2)]
        texts = {key: (after_root / "examples" / f"{key}.cnn").read_text(encoding="utf-8") for key in EXAMPLES}
        texts["lsp500"] = big
        texts["flat3000"] = "input 64x64x3\n" + "conv 8 k3 p1\nbn\nrelu\n" * 1000 + "avgpool to 1\nflatten\nlinear 10\n"
        results = measure(workloads("cnndsl_before", texts, big, edits), workloads("cnndsl_after", texts, big, edits), repeats)
    finally:
        shutil.rmtree(place, ignore_errors=True)

    rows, within = [], []
    for key, (a, b, ratios) in results.items():
        low, high = quartiles(ratios)
        ok = ratios.median <= 1.05 or low <= 1
        within.append(ok)
        rows.append([key, f"{a.median * 1000:.2f} ms", f"{b.median * 1000:.2f} ms",
                     f"{ratios.median:.3f} ({low:.3f} – {high:.3f})", f"{b.min / a.min:.3f}", "yes" if ok else "**no**"])
    print(f"## {args.before} -> {args.after} ({repeats} pairs, one process, CPU time)\n")
    print(machine_line() + "\n")
    print(table(["workload", "before", "after", "after / before: median (middle half)", "min / min", "not slower"], rows))
    verdicts = [verdict(all(within), "no workload slower beyond noise (median ratio at most 1.05, or 1.0 in its middle half)")]
    print("\n" + "\n".join(verdicts))
    report(
        "checkouts",
        {"before": args.before, "after": args.after, "results": {k: {"before": a, "after": b, "ratio": r} for k, (a, b, r) in results.items()},
         "verdicts": verdicts},
        args,
    )


if __name__ == "__main__":
    main()
