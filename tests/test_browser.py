"""The browser the tests drive: found or, in CI, a failure (tests/conftest.py),
and Playwright driving Debian's Chromium (the web playground's tests will)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need_chromium

import cnndsl
from cnndsl.reports.draw import render_html

ROOT = Path(__file__).resolve().parent.parent


def test_without_a_browser_a_test_skips_but_fails_in_ci(tmp_path):
    nowhere = {"PATH": str(tmp_path)}
    with pytest.raises(pytest.skip.Exception):
        need_chromium(nowhere)
    for ci in ("true", "1"):
        with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
            need_chromium({**nowhere, "CI": ci})
    with pytest.raises(pytest.skip.Exception):
        need_chromium({**nowhere, "CI": "false"})


def test_in_ci_a_skipped_browser_test_is_a_failure(tmp_path):
    """The whole mechanism, in a pytest run of its own with this conftest.py."""
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    (tmp_path / "test_it.py").write_text(
        "import pytest\n"
        "def test_needs_a_browser(chromium):\n    pass\n"
        "@pytest.mark.browser\ndef test_skips_anyway():\n    pytest.skip('no playwright')\n"
        "def test_other_skip():\n    pytest.skip('not a browser test')\n"
    )
    environ = {key: value for key, value in os.environ.items() if key not in ("CI", "CNNDSL_CHROMIUM", "PYTEST_ADDOPTS")}
    environ["PATH"] = str(tmp_path)  # no browser on it
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    outside = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120)
    assert "3 skipped" in outside.stdout, outside.stdout + outside.stderr
    inside = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env={**environ, "CI": "true"}, timeout=120)
    # The fixture fails in set-up (an error), the test that skipped by itself fails.
    assert inside.returncode == 1
    assert inside.stdout.rstrip().splitlines()[-1].startswith("1 failed, 1 skipped, 1 error"), inside.stdout
    assert "CI must run the browser tests" in inside.stdout and "a browser test may not skip in CI" in inside.stdout


def test_chromium_starts_headless(chromium):
    result = chromium.run("--dump-dom", "data:text/html,<p id=x>cnndsl</p>")
    assert '<p id="x">cnndsl</p>' in result.stdout, result.stderr[-2000:]


def test_playwright_drives_debians_chromium(chromium, tmp_path):
    """Playwright from the dev extra, with the machine's browser (its own
    download cannot work offline): open `cnnc draw`'s page, count the layers."""
    sync_api = pytest.importorskip("playwright.sync_api")
    program = cnndsl.check_program((ROOT / "examples" / "quiz.cnn").read_text(), "quiz.cnn")
    page_file = tmp_path / "quiz.html"
    page_file.write_text(render_html(program))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium.playwright_options())
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            assert page.locator("svg [data-layer]").count() == len(program.layers)
            assert "56,510" in page.text_content("body")
            page.screenshot(path=str(tmp_path / "quiz.png"))
        finally:
            browser.close()
    assert (tmp_path / "quiz.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
