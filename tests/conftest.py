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

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles: "ci" (the default) keeps the whole property suite within
# about a minute on two cores; "campaign" is a long local fuzzing run:
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
    max_examples=20_000,
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
