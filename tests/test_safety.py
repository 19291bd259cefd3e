"""Safety: names, generated code, resource limits and output files.

- Names become Python identifiers only after validation (E0016); nothing from
  the source reaches the generated module except validated identifiers and
  numbers, whatever the source and its file name contain.
- Programs that would expand to billions of layers, or hold absurd sizes, get
  a diagnostic at once; `build` refuses what would not fit in memory.
- Output is never lost: writes are atomic, a failed build leaves an existing
  output byte-identical, and a bad output path is a one-line error.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cnndsl
from cnndsl.layers import LAYERS

ROOT = Path(__file__).resolve().parent.parent

# Every identifier a generated module may contain, besides the network's name.
STRUCTURE = {
    "torch", "nn", "Residual", "Module", "Sequential", "Tensor", "self", "x", "out", "super", "body", "shortcut",
    "features", "classifier", "forward", "__init__", "input_shape", "output_shape", "None",
}
MODULES = {kind.torch.removeprefix("nn.") for kind in LAYERS} | {
    "BatchNorm1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "MaxPool2d",
}


def generated(text: str, filename: str = "net.cnn") -> str | None:
    """The generated module, or None when the program has errors."""
    program = cnndsl.check_program(text, filename)
    if not program.ok:
        return None
    return cnndsl.Program(program).python_source


def assert_only_validated_text(source: str, network: str) -> None:
    """Parse the module; every name and string in it is ours or the network's name."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node, clean=False):
            docstrings.add(id(node.body[0].value))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.keyword):
            names = [node.arg]
        for name in names:
            assert name in STRUCTURE | MODULES | {network} | {
                "stride", "padding", "dilation", "groups", "bias", "inplace", "dim", "ceil_mode",
                "body", "shortcut", "Module",
            }, f"unexpected identifier {name!r} in the generated module"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            assert node.value == "same", f"unexpected string {node.value!r}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id in {"super", "Residual"}, f"unexpected call {node.func.id}"


# -- names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "network class", "network None", "network __import__", "network __init__", "network _", "network match",
        "network nn", "network torch", "network Residual", "network list", "network super", "network print",
        "network self", "network x", "network object",
        "network LayerNorm2d", "network PixelwiseLinear", "network LayerScale", "network StochasticDepth",
        "block nn(c) { conv c k3 }", "block torch(c) { conv c k3 }", "block Residual(c) { conv c k3 }",
        "block __call__(c) { conv c k3 }", "block lambda(c) { conv c k3 }", "block ok(nn) { conv 3 k3 }",
        "block ok(__x) { conv 3 k3 }", "block ok(if) { conv 3 k3 }",
    ],
)
def test_names_that_would_break_or_shadow_python_are_e0016(line):
    codes = [d.code for d in cnndsl.check_source(f"{line}\ninput 8x8x3\nconv 3 k3\n")]
    assert "E0016" in codes, codes


@pytest.mark.parametrize(
    "line",
    [
        "network Ｑuiz",  # fullwidth Q: looks like Quiz
        "network Quіz",  # Cyrillic i
        "network Quiz\u200b",  # zero-width space
        'network "Quiz"',
        "network Qu'iz",
        "network Quiz; import os",
        "network Qu\\iz",
        "network 3Quiz",
        "network Quiz-2",
    ],
)
def test_non_identifiers_never_become_a_class_name(line):
    program = cnndsl.check_program(f"{line}\ninput 8x8x3\nconv 3 k3\n", "net.cnn")
    assert not program.ok, [d.message for d in program.diagnostics]


def test_valid_names_are_used_as_written():
    source = generated("network My_Net2\nblock stem_1(c_in) { conv c_in k3 }\ninput 8x8x3\nstem_1 4\n")
    assert "class My_Net2(nn.Module):" in source
    assert_only_validated_text(source, "My_Net2")


# -- generated code carries nothing else from the source ---------------------------

HOSTILE_SOURCES = [
    # Comments are dropped, whatever they contain.
    'network Quiz  # """ + __import__("os").system("echo pwned") + """\ninput 8x8x3\nconv 3 k3  # \'\'\' \\\n',
    '# """\n# \'\'\'\\\ninput 8x8x3  # """)\nconv 3 k3 p1  # __import__("os")\nflatten\nlinear 2\n',
    # A block call's text is copied into a comment: it holds only words.
    "block evil(c) { conv c k3 p1 }\ninput 8x8x3\nevil 4  # \"\"\"\nevil 4 # \n\n",
    "input 8x8x3\nresidual { conv 3 k3 p1 }  # \"\"\" \nshortcut { conv 3 k1 } # __import__\n",
]


@pytest.mark.parametrize("text", HOSTILE_SOURCES)
def test_comments_and_call_texts_cannot_inject_code(text):
    source = generated(text)
    assert source is not None
    assert "__import__" not in source and "pwned" not in source and "'''" not in source
    assert source.count('"""') == 4 + (2 if "Residual(" in source else 0)  # module, class (+ Residual) docstrings
    name = cnndsl.check_program(text, "net.cnn").name
    assert_only_validated_text(source, name)


@pytest.mark.parametrize(
    "filename",
    [
        'a"""+__import__("os").system("echo pwned")+""".cnn',
        "line\nbreak.cnn",
        "back\\slash.cnn",
        "quote'\".cnn",
        "\u202eevil.cnn",
        "ünïcödé.cnn",
    ],
)
def test_file_names_cannot_inject_code(filename):
    source = generated("input 8x8x3\nconv 3 k3\n", filename)
    name = cnndsl.check_program("input 8x8x3\nconv 3 k3\n", filename).name
    assert name.isidentifier() and name.isascii()
    assert "__import__" not in source.replace("__import___", "") or '"""+__import__' not in source
    assert_only_validated_text(source, name)
    compile(source, "generated", "exec")  # plain, valid Python


def test_a_hostile_file_name_builds_and_imports(tmp_path):
    path = tmp_path / 'x"""+__import__("os").system("touch PWNED")+""".cnn'
    path.write_text("input 8x8x3\nconv 3 k3\n")
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "build", "--no-verify", str(path), "-o", str(tmp_path / "out.py")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    runpy = subprocess.run([sys.executable, str(tmp_path / "out.py")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert runpy.returncode == 0, runpy.stderr
    assert not (tmp_path / "PWNED").exists()


# -- resource limits ----------------------------------------------------------------

LIMITS = {
    "billions of layers": ("repeat 1000000 { repeat 1000000 { conv 8 k3 p1 } }", "E0060"),
    "a repeat count of 10**30": ("repeat 1000000000000000000000000000000 { relu }", "E0061"),
    "exponential blocks": (
        "".join(f"block b{i}(c) {{ b{i - 1} c; b{i - 1} c }}\n" for i in range(1, 64)) + "b63 8",
        "E0060",
    ),
    "10**12 channels": ("conv 1000000000000 k3", "E0061"),
    "2**31 channels": ("conv 2147483648 k3", "E0061"),
    "an output too large": ("conv 1000000 k1", "E0061"),
    "a 10**30 kernel": ("conv 8 k1000000000000000000000000000000", "E0061"),
    "a call chain 65 deep": ("".join(f"block c{i}(n) {{ c{i - 1} n }}\n" for i in range(1, 70)) + "c69 1", "E0062"),
}


@pytest.mark.parametrize("name", LIMITS)
def test_resource_limits_are_diagnosed_quickly(name):
    body, code = LIMITS[name]
    text = "block b0(c) { relu }\nblock c0(n) { relu }\ninput 64x64x8\n" + body + "\n"
    start = time.perf_counter()
    diagnostics = cnndsl.check_source(text)
    elapsed = time.perf_counter() - start
    assert code in [d.code for d in diagnostics], [(d.code, d.message) for d in diagnostics]
    assert elapsed < 2.0, f"{name}: {elapsed:.2f} s"


def test_a_huge_input_is_diagnosed_quickly():
    start = time.perf_counter()
    (d,) = cnndsl.check_source("input 1000000000x1000000000x3\nconv 8 k3\n")
    assert d.code == "E0061" and "3,000,000,000,000,000,000 elements" in d.message
    assert time.perf_counter() - start < 2.0


def test_a_long_but_legal_program_stays_fast():
    start = time.perf_counter()
    program = cnndsl.check_program("input 32x32x8\nrepeat 50000 { conv 8 k3 p1; relu }\n")
    assert program.ok and len(program.layers) == 100_000
    assert time.perf_counter() - start < 10.0


# -- build: refusal and output files ----------------------------------------------------


def cnnc(*args, cwd=None, timeout=300):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "cnndsl", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def test_build_refuses_a_network_too_large_to_build_quickly(tmp_path):
    """10000x10000x3 with 512 channels: 51 billion elements per sample."""
    source = tmp_path / "big.cnn"
    source.write_text("input 10000x10000x3\nconv 512 k3 p1\n")
    start = time.perf_counter()
    result = cnnc("build", str(source), cwd=tmp_path)
    assert time.perf_counter() - start < 30
    assert result.returncode == 1
    assert "error[E0061]" in result.stderr
    assert not (tmp_path / "big.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.cnn"]


def test_build_refuses_beyond_the_memory_budget_and_keeps_the_old_output(tmp_path):
    source = tmp_path / "wide.cnn"
    source.write_text("input 10000x10000x3\nconv 16 k3 p1\n")  # 1.6e9 elements: legal, but ~13 GB a batch
    old = b"# the previous build\n"
    (tmp_path / "wide.py").write_bytes(old)
    start = time.perf_counter()
    result = cnnc("build", str(source), cwd=tmp_path)
    assert time.perf_counter() - start < 60
    assert result.returncode == 1, result.stderr
    assert "--max-memory" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "wide.py").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide.cnn", "wide.py"]


def test_a_failed_check_leaves_the_output_byte_identical(tmp_path):
    source = tmp_path / "net.cnn"
    source.write_text("input 8x8x3\nconv 3 k9\n")
    old = b"\x00previous bytes\r\n, not even Python"
    (tmp_path / "net.py").write_bytes(old)
    result = cnnc("build", str(source), cwd=tmp_path)
    assert result.returncode == 1 and "error[E0030]" in result.stderr
    assert (tmp_path / "net.py").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.cnn", "net.py"]


def test_a_successful_build_replaces_the_output_atomically_and_keeps_its_mode(tmp_path):
    source = tmp_path / "net.cnn"
    source.write_text("input 8x8x3\nconv 3 k3\n")
    target = tmp_path / "net.py"
    target.write_text("old")
    target.chmod(0o640)
    result = cnnc("build", "--no-verify", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith('"""Net: generated by cnnc from net.cnn.')
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.cnn", "net.py"]  # no temporary left


@pytest.mark.parametrize(
    "output, message",
    [
        ("missing/dir/out.py", "the directory 'missing/dir' does not exist"),
        ("afile/out.py", "'afile' is a file, not a directory"),
        ("afile/deeper/out.py", "'afile' is a file, not a directory"),
        ("adir", "it is a directory"),
    ],
)
def test_bad_output_paths_are_one_line_errors_before_any_work(tmp_path, output, message):
    (tmp_path / "net.cnn").write_text("input 8x8x3\nconv 3 k3\n")
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "adir").mkdir()
    start = time.perf_counter()
    result = cnnc("build", "net.cnn", "-o", output, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"cnnc: error: cannot write '{output}': {message}\n"
    assert time.perf_counter() - start < 30  # refused before torch is imported
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "net.cnn"]
    assert (tmp_path / "afile").read_text() == "not a directory"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write into a read-only directory")
def test_a_read_only_directory_is_a_clear_error(tmp_path):
    (tmp_path / "net.cnn").write_text("input 8x8x3\nconv 3 k3\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "net.py").write_text("old")
    locked.chmod(0o555)
    try:
        result = cnnc("build", "--no-verify", "net.cnn", "-o", "locked/net.py", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("cnnc: error: cannot write 'locked/net.py': ")
        assert (locked / "net.py").read_text() == "old"
    finally:
        locked.chmod(0o755)


def test_the_output_cannot_overwrite_the_source(tmp_path):
    (tmp_path / "net.cnn").write_text("input 8x8x3\nconv 3 k3\n")
    result = cnnc("build", "net.cnn", "-o", "net.cnn", cwd=tmp_path)
    assert result.returncode == 2 and "would overwrite the source" in result.stderr
    assert (tmp_path / "net.cnn").read_text() == "input 8x8x3\nconv 3 k3\n"


def test_internal_errors_are_one_line_not_a_traceback(monkeypatch, capsys):
    from cnndsl.cli import commands
    from cnndsl.cli import main as cli

    def broken(args):
        raise RuntimeError("simulated bug\nsecond line")

    monkeypatch.setattr(commands, "check_command", broken)
    monkeypatch.delenv("CNNDSL_TRACEBACK", raising=False)
    assert cli.main(["check", "x.cnn"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "cnnc: internal error: RuntimeError: simulated bug"
    assert "Traceback" not in err
