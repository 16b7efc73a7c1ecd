"""The converter's bench scripts run at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def test_generator_writes_proxy_records_that_the_converter_reads(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    small = ("--mb", "0.5", "--seed", "7", "--max-steps", "6", "--result-words", "60")
    run(str(BENCH / "gen_agent_logs.py"), "--out", str(logs), *small)
    files = sorted(logs.glob("*/*.jsonl"))
    assert files and all(f.parent.name.startswith("2026-11-") for f in files)
    first = json.loads(files[0].read_text(encoding="utf-8").splitlines()[0])
    assert {"timestamp", "session_id", "request", "response", "status", "complete"} <= set(first)
    assert first["response"]["object"] == "chat.completion"
    # By default sessions take turns between a chat agent, Codex CLI and Claude Code.
    endpoints = [
        json.loads(f.read_text(encoding="utf-8").splitlines()[0])["endpoint"] for f in files
    ]
    assert set(endpoints) == {"/v1/chat/completions", "/v1/responses", "/v1/messages"}

    again = tmp_path / "again"
    run(str(BENCH / "gen_agent_logs.py"), "--out", str(again), *small)
    assert [f.read_bytes() for f in files] == [
        f.read_bytes() for f in sorted(again.glob("*/*.jsonl"))
    ]

    done = run("-m", "albicilla.conv", "--logs", str(logs), "--output", str(tmp_path / "out"))
    summary = done.stderr.splitlines()[-1]
    assert summary.startswith(f"albicilla-conv: {len(files)} files, ")
    assert " 0 conversations written" not in summary


def test_generator_writes_only_the_session_kinds_asked_for(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    gen = str(BENCH / "gen_agent_logs.py")
    run(gen, "--out", str(logs), "--mb", "0.3", "--max-steps", "6", "--apis", "messages,chat")
    files = sorted(logs.glob("*/*.jsonl"), key=lambda f: f.name)  # in the order written
    endpoints = [json.loads(f.read_text().splitlines()[0])["endpoint"] for f in files]
    kinds = ["/v1/messages", "/v1/chat/completions"]
    assert len(endpoints) >= 2 and endpoints == [kinds[i % 2] for i in range(len(endpoints))]


def test_bench_reports_every_phase_side_by_side(tmp_path: Path) -> None:
    done = run(
        str(BENCH / "bench_conv.py"), "--mb", "0.3", "--repeat", "1", "--workdir", str(tmp_path)
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("corpus: ")
    header = lines[1].split()
    assert header[0] == "phase" and "ratio" in header
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert sorted(rows) == ["conv-json", "conv-native", "loads"]
    assert rows["loads"][3] == rows["loads"][5] == "1.00"  # ratios are relative to json.loads
    for phase in ("conv-json", "conv-native"):
        best, _, _, ratio, cpu, _, peak = map(float, rows[phase])
        assert best > 0 and ratio > 0 and cpu > 0 and peak > 0
    assert any(line.startswith("conv-json: albicilla-conv: ") for line in lines)
