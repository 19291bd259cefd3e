"""The registry of diagnostic codes (cnndsl/codes.py) against the compiler.

- every code in the registry is produced somewhere, and every code the
  compiler produces is in the registry;
- every explanation has a wrong and a right example, and each example behaves
  as its explanation says when run through `check_source`;
- `cnnc explain` prints them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnndsl
from cnndsl.diagnostics.codes import CODES, lookup

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnndsl"
GOLDEN = Path(__file__).resolve().parent / "golden" / "diagnostics"
CODE_PATTERN = re.compile(r"\A[EW]\d{4}\Z")

# Headings that introduce an example. The first kind must produce the code,
# the second must not (and must produce no error at all).
BAD_HEADINGS = ("Wrong", "Warned")
GOOD_HEADINGS = ("Right", "Quiet")

# Examples that cannot be written out in full (a non-UTF-8 file, 65 nested
# braces) are built here; the explanation shows them abbreviated.
BUILT_EXAMPLES = {
    "E0002": (b"input 32x32x3\n# caf\xe9\nconv 16 k3\n", b"input 32x32x3\n# caf\xc3\xa9\nconv 16 k3\n"),
    "E0062": (
        "input 32x32x3\n" + "repeat 1 {\n" * 65 + "relu\n" + "}\n" * 65,
        "input 32x32x3\n" + "repeat 1 {\n" * 3 + "relu\n" + "}\n" * 3,
    ),
    "E0063": ("input 32x32x3\nconv 10" + " k3" * 1_000 + "\n", "input 32x32x3\nconv 10 k3\n"),
    "E0064": ("input 32x32x3\n" + "conv 10 k3 p1\nrelu\n" * 10_001, "input 32x32x3\nrepeat 1000 { conv 10 k3 p1; relu }\n"),
}
# Programs whose example must not get an `input` line added.
NO_INPUT = {"E0020"}


def produced_codes() -> dict[str, list[str]]:
    """Every code literal passed to a report call in the package, by file."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "codes.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_PATTERN.match(node.value):
                found.setdefault(node.value, []).append(path.name)
    return found


def test_the_registry_is_well_formed():
    assert CODES, "empty registry"
    names = set()
    for code, entry in CODES.items():
        assert CODE_PATTERN.match(code), code
        assert entry.code == code
        assert entry.severity == ("warning" if code.startswith("W") else "error")
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", entry.name), entry.name
        assert entry.name not in names, f"two codes are called {entry.name}"
        names.add(entry.name)
        assert entry.summary and not entry.summary.endswith(".")
        assert len(entry.explanation.split()) >= 25, f"{code}: the explanation is too short"


def test_every_produced_code_is_registered_and_every_registered_code_is_produced():
    produced = produced_codes()
    unregistered = sorted(set(produced) - set(CODES))
    assert not unregistered, f"codes used but not in cnndsl/codes.py: {unregistered}"
    unused = sorted(set(CODES) - set(produced))
    assert not unused, f"codes in the registry that nothing produces: {unused}"


def test_every_code_has_a_golden_file():
    """The goldens prove each code is actually produced, not only mentioned."""
    for code in CODES:
        assert (GOLDEN / f"{code}.cnn").exists(), f"no golden input for {code}"


def examples(code: str) -> tuple[list[str | bytes], list[str | bytes]]:
    """The bad and good example programs of one explanation."""
    if code in BUILT_EXAMPLES:
        bad, good = BUILT_EXAMPLES[code]
        return [bad], [good]
    bad: list[str | bytes] = []
    good: list[str | bytes] = []
    lines = CODES[code].explanation.splitlines()
    index = 0
    while index < len(lines):
        heading = re.match(r"(\w+)( \(.*\))?:\s*$", lines[index])
        index += 1
        if not heading or heading[1] not in BAD_HEADINGS + GOOD_HEADINGS:
            continue
        while index < len(lines) and not lines[index].strip():
            index += 1
        block = []
        while index < len(lines) and (lines[index].startswith("    ") or not lines[index].strip()):
            block.append(lines[index][4:])
            index += 1
        program = "\n".join(block).strip("\n") + "\n"
        if code not in NO_INPUT and not any(line.strip().startswith("input") for line in block):
            program = "input 32x32x3\n" + program
        (bad if heading[1] in BAD_HEADINGS else good).append(program)
    return bad, good


@pytest.mark.parametrize("code", sorted(CODES))
def test_explanation_examples_behave_as_explained(code):
    bad, good = examples(code)
    assert bad, f"{code}: the explanation has no Wrong:/Warned: example"
    assert good, f"{code}: the explanation has no Right:/Quiet: example"
    for program in bad:
        found = [d.code for d in cnndsl.check_source(program, "example.cnn")]
        assert code in found, f"{code}: the wrong example gives {found}:\n{program}"
    for program in good:
        diagnostics = cnndsl.check_source(program, "example.cnn")
        assert not diagnostics, f"{code}: the right example gives {[(d.code, d.message) for d in diagnostics]}:\n{program}"


# Explanations whose wrong example is a list of independent mistakes.
ONE_MISTAKE_PER_LINE = ("E0011", "E0012", "E0013", "E0015", "E0035")


@pytest.mark.parametrize("code", ONE_MISTAKE_PER_LINE)
def test_each_line_of_a_list_of_mistakes_is_wrong_on_its_own(code):
    """`conv 0 k3` / `pool 2 s0` / `dropout 1.0`: each line shows the mistake."""
    (bad,), _ = examples(code)
    lines = [line for line in bad.splitlines() if line.strip() and line != "input 32x32x3"]  # not the added input
    assert len(lines) >= 2
    for line in lines:
        program = line + "\n" if line.startswith("input") else "input 32x32x3\n" + line + "\n"
        found = [d.code for d in cnndsl.check_source(program)]
        assert found == [code], f"{code}: '{line}' alone gives {found}"


def test_explain_prints_the_long_explanation():
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "explain", "e0030"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("E0030 (error, window-too-large): ")
    assert "Wrong" in result.stdout and "Right" in result.stdout
    assert CODES["E0030"].explanation in result.stdout


def test_explain_an_unknown_code_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "explain", "E9999"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("cnnc: error: unknown diagnostic code 'E9999'")
    assert "Traceback" not in result.stderr


def test_lookup_accepts_any_case_and_spaces():
    assert lookup(" w0001 ") is CODES["W0001"]
    assert lookup("E00") is None
