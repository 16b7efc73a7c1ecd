"""What a test needs from the machine: a skip that says why on a laptop, a failure in CI.

Under `CI=true` nothing a test needs may be skipped: `.ci/run` installs nginx, wrk, the agents,
zstd and Chromium, so a missing one is a broken CI machine and must fail the run, saying what is
missing (docs/development.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip the test saying `reason`, or, in CI, fail it saying the same."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def program(name: str, *fallbacks: str) -> str:
    """The path of an executable on PATH (or at one of `fallbacks`), else `missing`."""
    found = shutil.which(name) or next((f for f in fallbacks if Path(f).exists()), None)
    if found is None:
        missing(f"{name} is not installed (.ci/run installs it)")
    return found
