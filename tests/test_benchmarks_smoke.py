"""The benchmark scripts run end to end (tiny sizes, one round) and report what they promise.

The real numbers are in docs/benchmarks.md; this only keeps the scripts from
rotting: each runs, prints its tables and verdict lines, and writes JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

pytest.importorskip("torch")
pytest.importorskip("torchinfo")


def run(tmp_path: Path, script: str, *args: str) -> tuple[str, dict]:
    result_file = tmp_path / f"{script}.json"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{script}.py"), "--json", str(result_file), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result_file.read_text())
    assert data["benchmark"] == script
    assert {"date", "nproc", "cpu", "python", "torch"} <= set(data["machine"])
    assert data["verdicts"] and all(v.startswith(("target met: ", "target MISSED: ")) for v in data["verdicts"])
    for verdict in data["verdicts"]:
        assert verdict in result.stdout
    assert "| " in result.stdout and "|--" in result.stdout  # a Markdown table
    return result.stdout, data


def test_scaling(tmp_path):
    out, data = run(tmp_path, "scaling", "--sizes", "10,100", "--repeats", "1", "--examples", "quiz,zoo/resnet18")
    assert set(data["results"]) == {"10", "100", "examples"}
    assert set(data["results"]["examples"]) == {"quiz", "zoo/resnet18"}
    assert "checking adds" in out
    assert any("on the 2 examples" in line for line in data["verdicts"])


def test_the_largest_scaling_file_is_a_legal_program():
    # Its default largest size once went past the file limit (E0064) and the full run died in its worker.
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import scaling
    finally:
        sys.path.remove(str(BENCHMARKS))
    from cnndsl import check_source

    assert max(scaling.SIZES) == scaling.LARGEST
    text = scaling.generate(scaling.LARGEST)
    assert len(text.splitlines()) == 1 + 2 + scaling.LARGEST  # the comment, network, input, the layers
    assert [d.code for d in check_source(text, "deep.cnn") if d.severity == "error"] == []


def test_scaling_examples_alone(tmp_path):
    out, data = run(tmp_path, "scaling", "--sizes", "none", "--repeats", "1", "--examples", "lenet5")
    assert list(data["results"]) == ["examples"]
    assert len(data["verdicts"]) == 1 and "on the 1 example (lenet5" in data["verdicts"][0]
    assert "| lenet5 " in out


def test_checkouts(tmp_path):
    """A checkout against itself, in one process: every workload measured, ratios near 1."""
    out, data = run(tmp_path, "checkouts", "--before", str(ROOT), "--after", str(ROOT), "--repeats", "2")
    assert {"check resnet34", "summary table resnet34", "analysis lsp500", "editor features lsp500"} <= set(data["results"])
    assert all(0 < entry["ratio"]["median"] for entry in data["results"].values())
    assert "not slower" in out


def test_summary_anchors_agree(tmp_path):
    out, data = run(tmp_path, "summary_anchors", "--models", "quiz", "--repeats", "1")
    assert "target met: identical parameter totals, MACs == flop counter / 2" in data["verdicts"]
    assert "56,510" in out and "9,594,880" in out


def test_playground_latency(tmp_path, chromium):
    out, data = run(tmp_path, "playground_latency", "--quick", "--keys", "4")
    results = data["results"]
    assert results["keys"] == 4 and results["lines"] == 100
    assert results["labels"][1].startswith("-> 64x64x164")
    assert 0 < results["keystroke_to_frame"]["median_ms"] < 10_000
    assert "keystroke -> the frame showing the new type" in out


def test_generated_code(tmp_path):
    out, data = run(tmp_path, "generated_code", "--models", "lenet5", "--no-compile", "--repeats", "1")
    assert list(data["results"]) == ["lenet5 eager"]


@pytest.mark.slow
def test_cold_start_and_fresh_summary(tmp_path):
    out, data = run(tmp_path, "cold_start", "--repeats", "1")
    assert "torch, black, jinja2, lark imported by `cnnc check`: none" in out
    assert data["heavy imports"] == []
    out, data = run(tmp_path, "fresh_summary", "--example", "quiz", "--repeats", "1")
    assert "cnnc summary examples/quiz.cnn" in out


def test_huge_inputs(tmp_path):
    out, data = run(tmp_path, "huge_inputs", "--quick")
    answers = {name: result["answer"] for name, result in data["results"].items()}
    assert answers["one statement of 700,000 words"] == "E0063"
    assert answers["braces nested 200,000 deep"] == "E0062"
    assert "peak memory" in out


def test_run_py_runs_the_named_benchmarks_and_collects_the_verdicts(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--only", "scaling", "--json", str(tmp_path), "--", "--sizes", "10", "--repeats", "1", "--examples", "quiz"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = result.stdout.split("## All targets", 1)[1]
    assert "- scaling: target " in summary
    assert (tmp_path / "scaling.json").is_file()
    unknown = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--only", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown benchmark" in unknown.stderr


# -- the optimisations the benchmarks led to ------------------------------------------


def test_importing_cnndsl_leaves_the_import_hook_machinery_unloaded():
    # `-S`: no site packages, so that nothing else loads importlib.abc first.
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import cnndsl\n"
        "before = 'importlib.abc' in sys.modules\n"
        "from cnndsl import install_import_hook, uninstall_import_hook\n"
        "assert cnndsl.install_import_hook is install_import_hook\n"
        "print(before, 'importlib.abc' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
    import cnndsl

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cnndsl.nope  # noqa: B018


def test_check_program_pauses_the_collector_and_restores_it(monkeypatch):
    import gc

    import cnndsl
    import cnndsl.check.checker

    during = []
    real = cnndsl.check.checker.check_module

    def spy(*args, **kwargs):
        during.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(cnndsl.check.checker, "check_module", spy)
    original = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            program = cnndsl.check_program("input 8x8x1\nconv 2 k3\nflatten\nlinear 3\n")
            assert program.ok
            assert gc.isenabled() is enabled  # restored as it was
        gc.enable()
        assert cnndsl.check_program("input 8x8x1\nconv 2 k9\n").diagnostics  # errors too
        assert gc.isenabled()
        assert during == [False, False, False]  # the checker ran with the collector paused
    finally:
        (gc.enable if original else gc.disable)()


def test_the_summary_command_imports_neither_lark_nor_regex_nor_interegular_and_pauses_the_collector(tmp_path):
    # The generated parser is Lark's own code without its optional imports;
    # `lark` itself (and its `regex` and `interegular` imports) stays out.
    code = (
        "import sys\n"
        f"sys.argv = ['cnnc', 'summary', {str(ROOT / 'examples' / 'quiz.cnn')!r}]\n"
        "from cnndsl.cli.main import main\n"
        "code = main()\n"
        "import gc\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('lark', 'regex', 'interegular')), gc.isenabled())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 [] False"
    assert "Estimated Total Size" in result.stdout  # the summary itself is unchanged


def test_main_called_with_arguments_leaves_sys_modules_and_the_collector_alone(capsys):
    import gc

    from cnndsl.cli.main import main

    assert gc.isenabled()
    assert main(["check", str(ROOT / "examples" / "quiz.cnn")]) == 0
    assert main(["summary", str(ROOT / "examples" / "quiz.cnn")]) == 0
    assert gc.isenabled()
    # Nothing marked a module as absent.
    assert all(sys.modules.get(name, "absent") is not None for name in ("regex", "interegular", "lark"))


@pytest.mark.parametrize("command", ["check", "summary"])
def test_a_fresh_check_or_summary_imports_no_heavy_standard_module(tmp_path, command):
    # Issue 17: no heavy standard library modules on the check path. `dataclasses` brings `inspect` (with
    # `ast`, `dis`, `tokenize`): the configurations are DeclaredRecords, and the generated parser imports
    # `inspect` and `copy` only when used. `check` reads every example (the zoo's and the tutorial's too): every layer family.
    files = sorted(str(path) for path in (ROOT / "examples").rglob("*.cnn"))
    code = (
        "import json, sys\n"
        f"sys.argv = ['cnnc', {command!r}, *{files if command == 'check' else files[:1]!r}]\n"
        "from cnndsl.cli.main import main\n"
        "code = main()\n"
        "heavy = ('dataclasses', 'inspect', 'ast', 'dis', 'tokenize', 'copy', 'shutil', 'logging', 'pickle')\n"
        "families = [m for m in sys.modules if m.startswith('cnndsl.layers.')]\n"
        "print(json.dumps([code, [m for m in heavy if m in sys.modules], len(families)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    code, heavy, families = json.loads(result.stdout.splitlines()[-1])
    # The tutorial's 07_mistake.cnn is wrong on purpose: the diagnostics' path is covered too.
    assert (code, heavy) == (1 if command == "check" else 0, [])
    if command == "check":
        assert families >= 20, families  # the family modules were all imported
