"""The proxy benchmark scripts run end to end at tiny sizes; no timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.procs import ROOT

pytestmark = pytest.mark.e2e
BENCH = ROOT / "bench" / "bench_proxy.py"


def run_bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), *args, "--json", str(results),
         "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(results.read_text()), done.stdout


def test_every_phase_runs_without_nginx_or_wrk(tmp_path):
    results, output = run_bench(tmp_path, "--smoke")
    assert results["latency_c1"]["albicilla"]["rps"] > 0
    exact = results["throughput_c64"]["exact_count"]
    assert exact["ok"] and exact["logged"] == exact["sent"] == 40
    assert results["ttft"]["albicilla"]["n"] == 5
    assert results["sse50_c32"]["records"]["ok"]
    many = results["many_streams"]
    assert many["ok"] and many["complete"] == many["records"]["correct"] == 20
    assert len(many["workers"]) == 2 and all(w["vmhwm_mb"] > 0 for w in many["workers"])
    assert "| non-streaming latency median, 1 connection (ms) |" in output


@pytest.mark.skipif(
    not (shutil.which("wrk") and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists())),
    reason="nginx and wrk are not installed (`bench/run proxy` installs them from Debian)",
)
def test_nginx_and_wrk_runs_at_tiny_sizes(tmp_path):
    results, output = run_bench(
        tmp_path, "--phases", "1,2,4", "--no-litellm", "--rounds", "1", "--seconds", "1",
        "--rounds-load", "1", "--load-seconds", "1", "--warmup", "1", "--exact-requests", "50",
        "--connections", "8", "--sse-connections", "4",
    )
    assert "upstream: nginx" in output
    assert results["latency_c1"]["direct"]["rps"] > 0
    assert results["throughput_c64"]["exact_count"]["ok"]
    assert results["sse50_c32"]["records"]["ok"]
