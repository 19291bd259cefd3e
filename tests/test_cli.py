"""The `cnnc` command: exit codes, streams, formats, and never losing output."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
QUIZ = EXAMPLES_DIR / "quiz.cnn"


def cnnc(*args, cwd=None, env=None):
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cnndsl", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=300,
    )


@pytest.fixture
def bad(tmp_path):
    path = tmp_path / "bad.cnn"
    path.write_text("input 12x12x3\npool 4\nconv 20 k5\nflatten\nlinear 10\n")
    return path


def test_version_and_help():
    result = cnnc("--version")
    assert result.returncode == 0 and result.stdout.startswith("cnnc ")
    for command in ("check", "summary", "build", "verify", "explain", "lsp"):
        result = cnnc(command, "--help")
        assert result.returncode == 0, command
        assert "usage: cnnc " + command in result.stdout


def test_check_clean_file_prints_nothing_and_exits_0():
    result = cnnc("check", QUIZ)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_check_errors_go_to_stderr_gcc_style_with_a_caret(bad):
    result = cnnc("check", bad)
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == f"{bad}:3:1: error[E0030]: convolution window 5x5 does not fit the 3x3x3 feature map (padding 0)"
    assert "3 | conv 20 k5" in result.stderr
    assert "  | ^^^^^^^^^^ output height would be (3 + 2*0 - 5)/1 + 1 = -1" in result.stderr
    assert "\x1b[" not in result.stderr  # no colour when piped


def test_check_json_goes_to_stdout(bad):
    result = cnnc("check", "--format", "json", bad, QUIZ)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert [(d["file"], d["line"], d["column"], d["code"], d["severity"]) for d in data] == [(str(bad), 3, 1, "E0030", "error")]
    assert data[0]["end_line"] == 3 and data[0]["end_column"] == 11
    assert data[0]["notes"] and data[0]["help"]


def test_check_warnings_only_exits_0(tmp_path):
    path = tmp_path / "warn.cnn"
    path.write_text("input 8x8x3\ndropout 0\n")
    result = cnnc("check", path)
    assert result.returncode == 0
    assert "warning[W0002]" in result.stderr


def test_unreadable_file_is_exit_2(tmp_path):
    result = cnnc("check", tmp_path / "missing.cnn")
    assert result.returncode == 2
    assert result.stderr.startswith("cnnc: error: cannot read")
    assert "Traceback" not in result.stderr


def test_summary_text_and_json():
    result = cnnc("summary", QUIZ)
    assert result.returncode == 0
    assert "16x16x20" in result.stdout and "56,510" in result.stdout
    data = json.loads(cnnc("summary", "--format", "json", QUIZ).stdout)
    assert data["total_params"] == 56_510 and data["output"] == [10]


def test_summary_of_a_broken_file_exits_1(bad):
    result = cnnc("summary", bad)
    assert result.returncode == 1 and result.stdout == ""


def test_build_writes_next_to_the_source_and_verifies(tmp_path):
    source = tmp_path / "quiz.cnn"
    source.write_text(QUIZ.read_text())
    result = cnnc("build", source, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verified on cpu" in result.stdout
    assert (tmp_path / "quiz.py").read_text() == (EXAMPLES_DIR / "quiz.py").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.cnn", "quiz.py"]


def test_build_with_output_and_no_verify(tmp_path):
    out = tmp_path / "sub.py"
    result = cnnc("build", QUIZ, "-o", out, "--no-verify")
    assert result.returncode == 0
    assert "verified" not in result.stdout
    assert out.read_text() == (EXAMPLES_DIR / "quiz.py").read_text()


def test_failed_build_leaves_existing_output_byte_identical(tmp_path, bad):
    out = tmp_path / "bad.py"
    out.write_bytes(b"# precious\n")
    result = cnnc("build", bad, "-o", out)
    assert result.returncode == 1
    assert out.read_bytes() == b"# precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cnn", "bad.py"]


def test_build_into_a_missing_directory_is_a_clear_error(tmp_path):
    result = cnnc("build", QUIZ, "-o", tmp_path / "nope" / "quiz.py", "--no-verify")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_absent_device_is_a_one_line_error_and_writes_nothing(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "quiz.py"
    result = cnnc("build", QUIZ, "-o", out, "--device", "cuda")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not available" in result.stderr
    assert not out.exists()


def test_verify_runs_without_writing(tmp_path):
    source = tmp_path / "lenet5.cnn"
    source.write_text((EXAMPLES_DIR / "lenet5.cnn").read_text())
    result = cnnc("verify", source, "--device", "cpu", "--batch", "3")
    assert result.returncode == 0, result.stderr
    assert "verified on cpu, batch 3" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.cnn"]


def test_memory_budget_refuses_before_allocating(tmp_path):
    source = tmp_path / "huge.cnn"
    source.write_text("input 2000x2000x3\nconv 64 k3 p1\n")
    result = cnnc("verify", source, "--max-memory", "1G")
    assert result.returncode == 1
    assert "--max-memory" in result.stderr


def test_explain_known_and_unknown_codes():
    result = cnnc("explain", "E0030")
    assert result.returncode == 0 and "Wrong" in result.stdout and "Right" in result.stdout
    assert cnnc("explain", "e0030").returncode == 0
    unknown = cnnc("explain", "E9999")
    assert unknown.returncode == 2 and "unknown diagnostic code" in unknown.stderr
