"""Shared pytest configuration for the cnndsl tests.

Golden files (expected outputs kept in tests/golden/) are updated on purpose
with either

    python -m pytest --update-goldens
    CNNDSL_UPDATE_GOLDENS=1 python -m pytest

The option only sets the environment variable, which every golden test reads;
review the diff with `git diff tests/golden` before committing.
"""

from __future__ import annotations

import os
from collections import Counter

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
