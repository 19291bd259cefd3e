"""The README's promises: its set-up commands are what CI runs, and the tour
shows what the commands print today."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def setup_commands() -> list[str]:
    """The README's set-up commands: the shell blocks of its Set-up section."""
    section = README.split("\n## Set-up\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_setup_is_two_commands_in_a_virtual_environment():
    # A current Debian or Ubuntu refuses pip installs into the system's Python:
    # the first command makes and activates a venv, then installs and does the main job.
    install, tests = setup_commands()
    steps = install.split(" && ")
    assert steps[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    assert steps[2] == 'python -m pip install -e ".[dev]"'
    assert steps[3:] == ["cnnc build examples/quiz.cnn"]
    assert tests == "python -m pytest -q"
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_ci_runs_exactly_the_readme_commands():
    install, tests = setup_commands()
    script = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    # The two commands close the script, the first as written (eval: a failure inside its && chain stops the script).
    assert "'" not in install
    assert lines[-2:] == [f"eval '{install}'", tests]
    # In a fresh venv, with the browser tests made to run.
    assert "set -euo pipefail" in lines and "export CI=true" in lines
    assert lines.index("rm -rf .venv") == len(lines) - 3
    before = "\n".join(lines[:-2])
    assert not re.search(r"\bpip\b|activate|pytest", before)
    assert "apt-get install -y -qq chromium" in before
    syntax = subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


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
