"""The proxy benchmark scripts run end to end at tiny sizes; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import need
from support.procs import ROOT

pytestmark = pytest.mark.e2e
BENCH = ROOT / "bench" / "bench_proxy.py"


def run_bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            *args,
            "--json",
            str(results),
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(results.read_text()), done.stdout


API_NAMES = ("chat", "responses", "messages", "gemini")


def test_every_phase_runs_for_every_api_without_nginx_or_wrk(tmp_path):
    results, output = run_bench(tmp_path, "--smoke")
    for api in API_NAMES:
        for target in ("direct", "floor", "logfloor", "albicilla"):
            assert results["latency_c1"][api][target]["rps"] > 0, (api, target)
            assert results["throughput_c64"][api][target]["errors"] == 0, (api, target)
            assert results["ttft"][api][target]["n"] == 5, (api, target)
            assert results["sse50_c32"][api][target]["errors"] == 0, (api, target)
        exact = results["throughput_c64"][api]["exact_count"]
        # Endpoints this build does not log yet give no line at all, never a wrong count.
        assert exact["ok"] and exact["sent"] == 40 and exact["logged"] in (0, 40), api
        assert results["sse50_c32"][api]["records"]["ok"], api
    # Every API is logged by this build: every request exactly once, every stream rebuilt.
    for api in API_NAMES:
        assert results["throughput_c64"][api]["exact_count"]["logged"] == 40, api
        assert results["sse50_c32"][api]["records"]["correct"] > 0, api
    many = results["many_streams"]
    assert many["ok"] and many["floor"]["complete"] == many["albicilla"]["complete"] == 24
    assert many["logfloor"]["complete"] == 24
    # 24 streams dealt over the four APIs: 6 each, each logged once and rebuilt.
    for api in API_NAMES:
        assert many["records"][api]["correct"] == many["records"][api]["records"] == 6, api
    assert len(many["albicilla"]["workers"]) == 2
    assert all(w["vmhwm_mb"] > 0 for w in many["albicilla"]["workers"])
    assert "| 1 | chat | latency median, 1 conn. (ms, added) |" in output
    assert "| 2 | messages | requests/s, 8 connections |" in output
    assert "| 4 | gemini | streams rebuilt in the log |" in output
    assert "| Albicilla / floor | Albicilla / logging floor | goal |" in output


def test_nginx_and_wrk_runs_at_tiny_sizes(tmp_path):
    need.program("wrk")
    need.program("nginx", "/usr/sbin/nginx")
    results, output = run_bench(
        tmp_path,
        "--phases",
        "1,2,4",
        "--no-litellm",
        "--rounds",
        "1",
        "--seconds",
        "1",
        "--rounds-load",
        "1",
        "--load-seconds",
        "1",
        "--warmup",
        "1",
        "--exact-requests",
        "50",
        "--connections",
        "8",
        "--sse-connections",
        "4",
    )
    assert "upstream: nginx" in output
    for api in API_NAMES:
        assert results["latency_c1"][api]["direct"]["rps"] > 0, api
        assert results["latency_c1"][api]["floor"]["rps"] > 0, api
        assert results["throughput_c64"][api]["exact_count"]["ok"], api
        assert results["sse50_c32"][api]["records"]["ok"], api
        assert results["sse50_c32"][api]["floor"]["errors"] == 0, api


@pytest.mark.parametrize("feed", [[], ["--as-written"], ["--chunk", "50"]])
def test_the_rebuild_bench_times_every_api(tmp_path, feed):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_rebuild.py"),
            "--tokens",
            "5",
            "--rounds",
            "1",
            "--streams",
            "3",
            *feed,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    assert sorted(rows) == sorted(API_NAMES)
    assert all(len(row) == 6 and int(row[0]) >= 5 for row in rows.values())
    assert all(float(row[2]) > 0 for row in rows.values())  # the logging floor's parse ran
    # The last column is the goal's measure: rebuild / one json.loads of the joined events.
    for row in rows.values():
        ratio = float(row[5].removesuffix("x"))
        assert abs(ratio - float(row[1]) / float(row[4])) <= 0.5 + 0.1 * ratio, row


@pytest.mark.parametrize("kind", [[], ["--stream"]])
def test_the_profile_beside_the_logging_floor_runs(kind):
    need.program("wrk")
    need.program("nginx", "/usr/sbin/nginx")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "profile_vs_floor.py"), "--seconds", "1", *kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[1].startswith("requests/s: ") and lines[2].startswith("all samples: ")
    # Both were sampled: each one's own code shows up in the inclusive list.
    assert "logging_floor.py" in done.stdout and "albicilla/proxy/views.py" in done.stdout


def test_the_side_by_side_bench_runs_the_logging_floor_beside_a_checkout():
    need.program("wrk")
    need.program("nginx", "/usr/sbin/nginx")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ab_proxy.py"),
            "floor=logging",
            f"main={ROOT}",
            "--api",
            "messages",
            "--stream",
            "--rounds",
            "1",
            "--seconds",
            "1",
            "--tests",
            "c64",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    medians = done.stdout.split("medians over rounds:")[1].split()
    # One line per checkout, every stream answered without an error.
    assert medians[:2] == ["c64", "floor"] and "main" in medians
    assert "errors 0" in done.stdout and done.stdout.count("errors 0") == 2, done.stdout


def test_the_side_by_side_bench_refuses_an_unknown_test():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ab_proxy.py"), f"main={ROOT}", "--tests", "c9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--tests" in done.stderr.splitlines()[-1], done.stderr


def gemini_record(response: dict, *, complete: bool = True) -> dict:
    return {
        "endpoint": "/v1beta/models/{model}:streamGenerateContent",
        "stream": True,
        "status": 200,
        "complete": complete,
        "error": None,
        "response": response,
    }


def test_a_gemini_stream_record_counts_only_when_it_equals_the_whole_response(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    from proxy_report import verify_streams

    text = "tok0 tok1 tok2 "
    whole = {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3, "totalTokenCount": 11},
        "modelVersion": "bench-model",
        "responseId": "resp-bench",
    }
    short_usage = json.loads(json.dumps(whole))
    short_usage["usageMetadata"]["candidatesTokenCount"] = 1  # an early chunk's usage kept
    unfinished = json.loads(json.dumps(whole))
    del unfinished["candidates"][0]["finishReason"]
    records = [
        gemini_record(whole),
        gemini_record(short_usage),
        gemini_record(unfinished),
        gemini_record(whole, complete=False),
    ]
    check = verify_streams(records, "gemini", 3)
    assert check == {
        "records": 4,
        "correct": 1,
        "wrong": 2,
        "cut_by_client_stop": 0,
        "other_incomplete": 1,
    }
