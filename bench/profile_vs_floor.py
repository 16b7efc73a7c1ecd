"""Where Albicilla's CPU goes beyond the logging floor's: py-spy on both, under the same load.

    uv run python bench/profile_vs_floor.py [--api chat] [--stream] [--seconds 8]

One nginx upstream; the logging floor (bench/logging_floor.py) and Albicilla (`gunicorn wsgi:app`),
2 gevent workers each, run one after the other under the same wrk load (64 connections for JSON
requests, 32 for 50-event streams). py-spy samples every worker of the one under load, and each
function's samples are reported per 1,000 requests: inclusive for the pieces of both (the
view, the relay, the record's append) and self time where the two differ most. py-spy counts a
worker's time on CPU and in system calls alike; samples per request are comparable between the
two, not microseconds (they include the time a busy machine keeps a runnable worker waiting).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import api_bodies
import proxy_servers as servers
from proxy_report import collapsed_stacks

RATE = 500  # samples per second


def profile(server: servers.Server, url: str, body: bytes, args: argparse.Namespace, workdir: Path):
    """py-spy on each worker while wrk keeps the server busy; (inclusive, self, total, req/s)."""
    script = servers.wrk_script(body, workdir)
    connections = 32 if args.stream else 64
    load = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{args.seconds + 3:g}s", "-s", str(script), url],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    spies = []
    for pid in server.worker_pids():
        out = workdir / f"{server.name}-{pid}.txt"
        spy = subprocess.Popen(
            [
                args.py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                f"{args.seconds:g}",
                "--rate",
                str(RATE),
                "--function",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        spies.append((spy, out))
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for spy, out in spies:
        spy.wait(args.seconds + 60)
        if spy.returncode != 0 or not out.exists():
            raise SystemExit(f"profile_vs_floor: py-spy failed ({spy.returncode})")
        o, i, t = collapsed_stacks(out.read_text())
        inclusive += i
        own += o
        total += t
    summary = next(line for line in load.communicate()[0].splitlines() if line.startswith("WRK"))
    result = json.loads(summary[len("WRKJSON ") :])
    rate = result["requests"] / (result["duration_us"] / 1e6)
    return inclusive, own, total, rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="chat", choices=api_bodies.NAMES)
    parser.add_argument("--stream", action="store_true", help="50-event streams, not JSON")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--py-spy", default=str(Path(sys.executable).parent / "py-spy"))
    args = parser.parse_args(argv)
    if not Path(args.py_spy).exists():
        parser.error(f"no py-spy at {args.py_spy} (uv sync installs it)")
    path = api_bodies.url_path(args.api, "bench-model", stream=args.stream)
    body = api_bodies.request_body(args.api, "bench-model", stream=args.stream)
    results = {}
    with tempfile.TemporaryDirectory(prefix="albench-spy-") as tmp:
        workdir = Path(tmp)
        with servers.nginx(workdir) as nginx:
            upstream = nginx.url + ("/sse/v1" if args.stream else "/v1")
            for name, start in (("floor", servers.logging_floor), ("albicilla", servers.albicilla)):
                with start(upstream, workdir) as server:
                    results[name] = profile(server, server.url + path, body, args, workdir)
    per = {}  # samples per 1,000 requests
    for name, (inclusive, own, total, rate) in results.items():
        scale = 1000 / (rate * args.seconds)
        per[name] = (
            {k: v * scale for k, v in inclusive.items()},
            {k: v * scale for k, v in own.items()},
            total * scale,
            rate,
        )
    (f_inc, f_own, f_total, f_rate), (a_inc, a_own, a_total, a_rate) = (
        per["floor"],
        per["albicilla"],
    )
    kind = "50-event streams" if args.stream else "JSON requests"
    print(f"{args.api} {kind}; samples per 1,000 requests at {RATE} Hz, logging floor / Albicilla")
    print(f"requests/s: {f_rate:.0f} / {a_rate:.0f} ({a_rate / f_rate:.2f}x)")
    print(f"all samples: {f_total:.0f} / {a_total:.0f} ({a_total / f_total:.2f}x)")
    print("inclusive, each one's own code:")
    for frame in sorted(
        set(f_inc) | set(a_inc), key=lambda k: -max(f_inc.get(k, 0), a_inc.get(k, 0))
    ):
        if ("albicilla/" in frame or "logging_floor" in frame) and max(
            f_inc.get(frame, 0), a_inc.get(frame, 0)
        ) >= 5:
            print(f"  {f_inc.get(frame, 0):6.1f} {a_inc.get(frame, 0):6.1f}  {frame}")
    print("self time, largest differences (Albicilla more first):")
    frames = sorted(set(f_own) | set(a_own), key=lambda k: f_own.get(k, 0) - a_own.get(k, 0))
    for frame in frames[: args.top] + ["..."] + frames[-8:]:
        if frame == "...":
            print("  ...")
            continue
        print(f"  {f_own.get(frame, 0):6.1f} {a_own.get(frame, 0):6.1f}  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
