"""The redaction cost bench runs at a tiny size (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_bench_redact_reports_every_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_redact.py"), "--mb", "0.3", "--repeat", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("corpus: ")
    assert sum(" ratio " in line for line in lines) == 3
