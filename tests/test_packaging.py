"""The wheel carries the grammar and templates: install it into a fresh venv
and compile an example from another directory. (The editable install is what
the rest of the suite runs on.)"""

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import dependency_dirs

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

    names = zipfile.ZipFile(wheel).namelist()
    assert "cnndsl/grammar/cnn.lark" in names
    assert "cnndsl/templates/module.py.jinja" in names
    # The playground (`cnnc serve`): its page, the CodeMirror bundle, the examples menu.
    for name in ("index.html", "app.js", "editor.js", "share.js", "style.css", "vendor/codemirror.js"):
        assert f"cnndsl/playground/static/{name}" in names
    assert "cnndsl/examples/quiz.cnn" in names and "cnndsl/examples/zoo/resnet50.cnn" in names

    # A venv that gets cnndsl only from the wheel and its dependencies (torch,
    # lark, ...) from wherever this test's interpreter has them. Not
    # system_site_packages=True: that shows the *base* interpreter's packages,
    # not those of the venv the suite runs in (a newcomer's venv, CI's), so
    # cnnc died with "No module named 'lark'". Not a pip install of the
    # dependencies either: slow, and torch must not be fetched again. A .pth
    # file lists the directories the dependencies were found in (a venv's
    # site-packages, a system dist-packages, a user site, ...): Python appends
    # them to sys.path after the venv's own site-packages, so the wheel's
    # cnndsl comes first, and the .pth files in those directories (the suite's
    # editable cnndsl among them) are not run, so the checkout stays off the path.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1] for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    (Path(site_dir) / "cnndsl-test-dependencies.pth").write_text("".join(f"{d}\n" for d in dependency_dirs(requires)))
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

    served = subprocess.run(
        [str(python), "-c", "from cnndsl.playground.server import PlaygroundServer as S; s = S(port=0); "
         "print(len(s.examples), len(s.assets), s.examples['quiz'].path); s.server_close()"],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,
    )
    assert served.returncode == 0, served.stderr
    examples, assets, quiz = served.stdout.split()
    assert int(examples) >= 15 and int(assets) >= 7 and quiz.startswith(str(env_dir))

    cnnc = env_dir / "bin" / "cnnc"
    result = subprocess.run([str(cnnc), "build", "quiz.cnn", "--device", "cpu"], capture_output=True, text=True, cwd=work, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (work / "quiz.py").read_text() == (ROOT / "examples" / "quiz.py").read_text()

