"""The wheel carries the grammar and templates: install it into a fresh venv
and compile an example from another directory. (The editable install is what
the rest of the suite runs on.)"""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_builds_from_another_directory(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next(dist.glob("cnndsl-*.whl"))

    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "cnndsl/grammar/cnn.lark" in names
    assert "cnndsl/templates/module.py.jinja" in names

    # A venv that sees the already installed dependencies (torch, lark, ...)
    # but gets cnndsl itself only from the wheel.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "quiz.cnn", work / "quiz.cnn")
    where = subprocess.run(
        [str(python), "-c", "import cnndsl, cnndsl.resources as r; print(cnndsl.__file__); print(r.resource_dir('grammar'))"],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    package_file, grammar_dir = where.stdout.split()
    assert str(env_dir) in package_file and str(env_dir) in grammar_dir

    cnnc = env_dir / "bin" / "cnnc"
    result = subprocess.run([str(cnnc), "build", "quiz.cnn", "--device", "cpu"], capture_output=True, text=True, cwd=work, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (work / "quiz.py").read_text() == (ROOT / "examples" / "quiz.py").read_text()
