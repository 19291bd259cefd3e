"""Shared pytest configuration for the cnndsl tests.

Golden files (expected outputs kept in tests/golden/) are updated on purpose
with either

    python -m pytest --update-goldens
    CNNDSL_UPDATE_GOLDENS=1 python -m pytest

The option only sets the environment variable, which every golden test reads;
review the diff with `git diff tests/golden` before committing.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles: "ci" (the default) has no deadline (shared CI machines
# are slow and uneven); "campaign" is for a long local fuzzing run, where
# tests/test_fuzz.py also multiplies its example counts:
#     HYPOTHESIS_PROFILE=campaign python -m pytest tests/test_fuzz.py
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "campaign",
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files in tests/golden/ from the current output (same as CNNDSL_UPDATE_GOLDENS=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a headless Chromium (the chromium fixture); never skipped in CI")
    if config.getoption("--update-goldens"):
        os.environ["CNNDSL_UPDATE_GOLDENS"] = "1"


def updating_goldens() -> bool:
    """Whether golden files are being rewritten in this run."""
    return os.environ.get("CNNDSL_UPDATE_GOLDENS") == "1"


# How many generated inputs the fuzz tests (tests/test_fuzz.py) checked, by
# kind; printed at the end of the run so the campaign size is on record.
FUZZ_COUNTS: Counter = Counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if FUZZ_COUNTS:
        total = sum(FUZZ_COUNTS.values())
        parts = ", ".join(f"{kind} {count:,}" for kind, count in sorted(FUZZ_COUNTS.items()))
        terminalreporter.write_line(f"fuzz: {total:,} generated inputs checked ({parts})")


# -- a real browser ---------------------------------------------------------
#
# Browser tests take the `chromium` fixture: the browser found on this machine
# (CNNDSL_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH),
# with the flags that start it headless here, a fresh profile for each run, and
# the launch options for Playwright. Without a browser a test skips, except in
# CI (CI=true, as .ci/run sets it, which installs Debian's chromium): there it
# fails, and so does a browser test that skips for any other reason, so that a
# green CI has run every browser test.

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which a closed network refuses (or makes it wait for);
# --no-sandbox because CI runs as root.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def in_ci(environ=os.environ) -> bool:
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_chromium(environ=os.environ) -> str | None:
    explicit = environ.get("CNNDSL_CHROMIUM")
    if explicit:
        return shutil.which(explicit, path=environ.get("PATH"))
    return next(filter(None, (shutil.which(name, path=environ.get("PATH")) for name in CHROMIUM_NAMES)), None)


def need_chromium(environ=os.environ) -> str:
    """The browser's path; skip without one, but fail in CI."""
    path = find_chromium(environ)
    if path is None:
        message = "no headless Chromium installed (Debian: apt-get install chromium)"
        if in_ci(environ):
            pytest.fail(f"{message}; CI must run the browser tests (.ci/run installs it)", pytrace=False)
        pytest.skip(message)
    return path


@dataclass
class Chromium:
    path: str
    profiles: Path

    def command(self, *args: str) -> list[str]:
        """A headless run with a fresh, empty profile."""
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.profiles)
        return [self.path, "--headless", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)

    def playwright_options(self) -> dict:
        """For `playwright.chromium.launch(**options)`: Debian's Chromium, not a
        browser of Playwright's own (`playwright install` needs a download)."""
        return {"executable_path": self.path, "args": list(CHROMIUM_FLAGS)}


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> Chromium:
    return Chromium(need_chromium(), tmp_path_factory.mktemp("chromium"))


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker("browser")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and item.get_closest_marker("browser") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"a browser test may not skip in CI (CI=true): {reason}"


# -- where the dependencies are ---------------------------------------------


def dependency_dirs(requirements: Iterable[str]) -> list[str]:
    """The directories this interpreter loads these requirements from, their
    own requirements included (extras left out): for a test that installs
    cnndsl into a fresh environment and lends it the installed dependencies
    (a .pth file, PYTHONPATH) instead of downloading them again. Wherever they
    live: a venv's site-packages, a system's dist-packages, a user site."""
    from packaging.requirements import Requirement

    wanted, seen, dirs = list(requirements), set(), []
    while wanted:
        requirement = Requirement(wanted.pop())
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name}, which cnndsl needs, is not installed for {sys.executable}")
        where = str(Path(distribution.locate_file("")).resolve())
        if where not in dirs:
            dirs.append(where)
        wanted.extend(distribution.requires or [])
    return dirs
