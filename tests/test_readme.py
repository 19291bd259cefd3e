"""The README's promises: its set-up commands are what CI runs, and the tour
shows what the commands print today."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    install, tests = blocks[0].strip(), blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert install.startswith('python -m pip install -e ".[dev]"')
    assert 'python -m pip install -e ".[dev]"' in ci
    assert tests == "python -m pytest -q"
    assert ci.rstrip().endswith(tests)


def test_tour_summary_is_what_cnnc_prints():
    quoted = re.search(r"`cnnc summary examples/quiz.cnn`.*?```\n(.*?)```", README, re.S).group(1)
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "summary", "examples/quiz.cnn"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )
    assert result.stdout == quoted


def test_tour_diagnostic_is_what_cnnc_prints(tmp_path):
    quoted = re.search(r"\(`cnnc check`\):\n\n```\n(.*?)```", README, re.S).group(1)
    (tmp_path / "bad.cnn").write_text("input 12x12x3\npool 4\nconv 20 k5\n")
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", "bad.cnn"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )
    assert result.stderr.startswith(quoted)
