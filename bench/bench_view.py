"""albicilla-view at scale: first page, whole index against one json.loads pass, warm pages, RSS.

    uv run python bench/bench_view.py --mb 200 [--dir DIR]     (--smoke: a few MB)

Generates a root of Claude Code-like sessions (`/v1/messages`, a system prompt, tools, a growing
history) plus one 200-exchange session, then, in this process: the time until the first sessions
page is served by a freshly created app (background indexing), the CPU of a full index build
against the CPU of one `json.loads` pass over the same bytes, a warm sessions page, the
200-exchange session page, and the RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

DAY = "2026-12-03"
SYSTEM = "You are Claude Code, Anthropic's official CLI for Claude. " + "Be careful. " * 1500
TOOLS = [
    {"name": f"Tool{i}", "description": "d" * 400, "input_schema": {"type": "object"}}
    for i in range(20)
]


def record(session: str, turn: int, history: list[dict]) -> dict:
    return {
        "timestamp": f"{DAY}T{turn // 3600 % 24:02d}:{turn // 60 % 60:02d}:{turn % 60:02d}.000Z",
        "session_id": session,
        "endpoint": "/v1/messages",
        "request": {
            "model": "claude-opus-4-8",
            "system": [{"type": "text", "text": SYSTEM}],
            "tools": TOOLS,
            "metadata": {"user_id": json.dumps({"session_id": session})},
            "messages": history,
            "stream": True,
        },
        "response": {
            "type": "message",
            "model": "claude-opus-4-8",
            "content": [{"type": "text", "text": f"reply {turn} " + "x" * 300}],
            "usage": {"input_tokens": 1000 + turn, "output_tokens": 50},
        },
        "status": 200,
        "stream": True,
        "complete": True,
        "error": None,
        "duration_ms": 100,
        "schema_version": 1,
    }


def write_session(day: Path, session: str, turns: int) -> int:
    history: list[dict] = []
    lines = []
    for turn in range(turns):
        history = history + [{"role": "user", "content": f"step {turn} " + "y" * 400}]
        rec = record(session, turn, history)
        lines.append(json.dumps(rec))
        history = history + [{"role": "assistant", "content": rec["response"]["content"]}]
    data = ("\n".join(lines) + "\n").encode()
    (day / f"{session}.jsonl").write_bytes(data)
    return len(data)


def generate(root: Path, total_mb: float) -> tuple[int, int]:
    day = root / DAY
    day.mkdir(parents=True)
    size = write_session(day, "long-200", 200)
    sessions = 1
    while size < total_mb * 1e6:
        size += write_session(day, f"s{sessions:05d}", 3)
        sessions += 1
    return sessions, size


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=200)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--dir")
    parser.add_argument("--repeat", type=int, default=3, help="index/json.loads runs (best kept)")
    args = parser.parse_args(argv)
    from albicilla.view import create_app
    from albicilla.view.index import LogIndex
    from albicilla.view.settings import ViewSettings

    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-view-"))
    root = base / "logs"
    if root.exists():
        shutil.rmtree(root)
    sessions, size = generate(root, 5 if args.smoke else args.mb)
    print(f"root: {sessions} sessions, {size / 1e6:.0f} MB", flush=True)

    loads_runs, index_runs = [], []
    for _ in range(args.repeat):  # alternated, so both see the same machine load
        cpu = time.process_time()
        for path in sorted((root / DAY).iterdir()):
            with open(path, "rb") as handle:
                for line in handle:
                    json.loads(line)
        loads_runs.append(time.process_time() - cpu)
        cpu = time.process_time()
        index = LogIndex([str(root)])
        index.scan()
        index.read_all()
        index_runs.append(time.process_time() - cpu)
    loads_cpu, index_cpu = min(loads_runs), min(index_runs)
    per_run = ", ".join(f"{i / j:.2f}x" for i, j in zip(index_runs, loads_runs, strict=True))
    print(f"json.loads pass: {loads_cpu:.2f} s CPU (best of {args.repeat})")
    print(
        f"whole index: {index_cpu:.2f} s CPU = {index_cpu / loads_cpu:.2f}x the json.loads pass "
        f"(best of each; per run: {per_run})"
    )
    grown = sorted((root / DAY).iterdir())[-1]
    with open(grown, "ab") as handle:
        handle.write(grown.read_bytes().splitlines(keepends=True)[-1])
    cpu = time.process_time()
    index.refresh(force=True)
    index.read_all()
    print(f"one file grew by a record: re-index {time.process_time() - cpu:.3f} s CPU")
    del index

    start = time.perf_counter()
    app = create_app(ViewSettings((str(root),), background=True))
    client = app.test_client()
    response = client.get("/")
    first = time.perf_counter() - start
    assert response.status_code == 200
    print(f"first sessions page after start: {first:.3f} s (indexing in the background)")
    state = app.extensions["albicilla_view"]
    while not state.index.progress()["done"]:
        time.sleep(0.05)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        assert client.get("/").status_code == 200
        times.append(time.perf_counter() - start)
    print(f"warm sessions page: {min(times):.3f} s best of 5 (median {sorted(times)[2]:.3f} s)")
    for tab in ("", "?tab=conversations"):
        start = time.perf_counter()
        assert client.get("/session/long-200" + tab).status_code == 200
        print(f"200-exchange session page{tab}: {time.perf_counter() - start:.3f} s")
    print(f"RSS after indexing and pages: {rss_mb():.0f} MB")
    state.stop.set()
    if not args.dir:
        shutil.rmtree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
