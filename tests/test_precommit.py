"""The pre-commit hooks of .pre-commit-hooks.yaml (README.md, "pre-commit").

pre-commit itself runs them here, from this checkout (`pre-commit try-repo`),
on a temporary git repository with a good and a broken .cnn file, exactly as
they are published: language python, so pre-commit makes its own virtualenv and
pip-installs this checkout into it.

Only where the dependencies come from differs from a user's first run: pip
would download them into that virtualenv (torch alone is a CUDA build of
several GB from PyPI on Linux), minutes and no test. Instead the run sees the
dependencies the suite itself runs on, through PYTHONPATH (pre-commit passes
it on to pip and to the hooks): pip finds every requirement satisfied, builds
cnndsl from the checkout with the installed hatchling (no build isolation) and
downloads nothing (no index at all). The hooks' own cnndsl is the one pip
installed into pre-commit's virtualenv. About 10 seconds.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import dependency_dirs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
GOOD = (ROOT / "examples" / "quiz.cnn").read_text()
# A type error (E0030), and not in the canonical layout.
BROKEN = "input   12x12x3\npool 4\nconv 20   k5\n"


def test_the_published_hooks():
    assert [hook["id"] for hook in HOOKS] == ["cnnc-check", "cnnc-fmt"]
    assert {hook["id"]: hook["entry"] for hook in HOOKS} == {"cnnc-check": "cnnc check", "cnnc-fmt": "cnnc fmt --check"}
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["files"] == r"\.cnn$"
        assert hook.get("pass_filenames", True) and "args" not in hook
    # The entries are console scripts the package installs.
    assert '\n[project.scripts]\ncnnc = "cnndsl.cli.main:main"\n' in (ROOT / "pyproject.toml").read_text()


def test_the_readme_shows_the_same_hooks():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    remote, local = (yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S))
    assert [hook["id"] for hook in remote["repos"][0]["hooks"]] == [hook["id"] for hook in HOOKS]
    # The local form: the published hooks with cnnc from the active environment.
    assert local["repos"][0]["repo"] == "local"
    assert local["repos"][0]["hooks"] == [
        {key: (value if key != "language" else "system") for key, value in hook.items() if key != "description"} for hook in HOOKS
    ]


@pytest.fixture
def project(tmp_path):
    """A git repository with one good and one broken .cnn file, and a file the hooks leave alone."""
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / "good.cnn").write_text(GOOD)
    (repo / "broken.cnn").write_text(BROKEN)
    (repo / "notes.txt").write_text("conv 20   k5\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    return repo


def try_repo(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    requirements = importlib.metadata.distribution("cnndsl").requires or []
    lent = dependency_dirs([*requirements, "hatchling"])
    environ = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PRE_COMMIT", "VIRTUALENV_"))},
        "PRE_COMMIT_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(lent),
        "PIP_NO_INDEX": "1",
        # pip reads its --no-build-isolation from this variable the other way round: "0" switches isolation off.
        "PIP_NO_BUILD_ISOLATION": "0",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), *args, "--color", "never"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=environ,
        timeout=600,
    )


@pytest.mark.slow
def test_pre_commit_runs_the_hooks_from_this_checkout(project, tmp_path):
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True).returncode:
        pytest.skip("pre-commit try-repo needs this checkout to be a git repository")
    result = try_repo(project, tmp_path / "home", "--all-files", "--verbose")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    sections = output.split("- hook id: ")
    check = next(s for s in sections if s.startswith("cnnc-check"))
    fmt = next(s for s in sections if s.startswith("cnnc-fmt"))
    assert "cnnc check....." in output and "cnnc fmt --check....." in output
    assert "broken.cnn:3:1: error[E0030]" in check and "good.cnn" not in check
    assert "would reformat broken.cnn" in fmt and "good.cnn" not in fmt and "notes.txt" not in output
    assert output.count("Failed") == 2, output
    # pre-commit made its virtualenv and pip installed this checkout into it.
    assert "Installing environment for" in output

    # The good file alone passes both.
    (project / "broken.cnn").unlink()
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    passed = try_repo(project, tmp_path / "home", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("Passed") == 2
