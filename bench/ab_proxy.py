"""Compare checkouts of the proxy side by side: one nginx, wrk runs interleaved, CPU per request.

    uv run python bench/ab_proxy.py main=. candidate=/tmp/scratch --rounds 3
    uv run python bench/ab_proxy.py floor=logging main=. --api messages --stream

Each NAME=DIR is a directory holding `wsgi.py`, `gunicorn.conf.py` and `albicilla/` (a copy of
the repository is enough); each runs as `gunicorn wsgi:app` with 2 gevent workers in front of
the same nginx. NAME=logging is the logging floor (bench/logging_floor.py) instead. Every
round runs each test on every checkout, the order rotated. The CPU time the workers spend per
request is the figure least disturbed by other load on the machine.

`--api` picks the logged API (chat by default) and `--stream` its 50-event stream instead of a
JSON answer (the bodies of bench/api_bodies.py, as in `bench/run proxy`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import api_bodies
import proxy_servers as servers

TESTS = {"c1": (1, 1), "c64": (64, 2)}  # connections, wrk threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--tests", default="c1,c64", help="c1 (latency), c64 (throughput)")
    parser.add_argument("--api", default="chat", choices=api_bodies.NAMES)
    parser.add_argument("--stream", action="store_true", help="50-event streams, not JSON")
    args = parser.parse_args(argv)
    checkouts: dict[str, Path | None] = {}
    for item in args.checkouts:
        name, _, path = item.partition("=")
        if path == "logging":
            checkouts[name] = None
        elif not path or not (Path(path) / "wsgi.py").is_file():
            parser.error(f"{item!r}: expected NAME=DIR with DIR/wsgi.py, or NAME=logging")
        else:
            checkouts[name] = Path(path).resolve()
    tests = [t for t in args.tests.split(",") if t in TESTS]
    if not tests:
        parser.error(f"--tests: none of {args.tests!r} is one of {', '.join(TESTS)}")
    path = api_bodies.url_path(args.api, "bench-model", stream=args.stream)
    body = api_bodies.request_body(args.api, "bench-model", stream=args.stream)
    results: dict[tuple[str, str], list[dict]] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="albench-ab-")))
        nginx = stack.enter_context(servers.nginx(workdir))
        upstream = nginx.url + ("/sse/v1" if args.stream else "/v1")
        proxies = {
            name: stack.enter_context(
                servers.logging_floor(upstream, workdir, name=name)
                if repo is None
                else servers.albicilla(upstream, workdir, repo=repo, name=name)
            )
            for name, repo in checkouts.items()
        }
        names = list(proxies)
        for name in names:  # warm-up
            servers.run_wrk(
                proxies[name].url + path,
                body,
                connections=64,
                threads=2,
                seconds=2,
                workdir=workdir,
            )
        for r in range(args.rounds):
            for test in tests:
                connections, threads = TESTS[test]
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    proxy = proxies[name]
                    cpu = proxy.cpu_seconds()
                    out = servers.run_wrk(
                        proxy.url + path,
                        body,
                        connections=connections,
                        threads=threads,
                        seconds=args.seconds,
                        workdir=workdir,
                    )
                    out["cpu_us"] = (proxy.cpu_seconds() - cpu) / max(out["requests"], 1) * 1e6
                    results.setdefault((test, name), []).append(out)
                    print(
                        f"round {r + 1} {test:4s} {name:12s} {out['rps']:8.1f} req/s  "
                        f"p50 {out['p50_us']:7d} us  p99 {out['p99_us']:8d} us  "
                        f"CPU {out['cpu_us']:6.0f} us/req  errors {out['errors']}  "
                        f"(load avg {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
    print("\nmedians over rounds:")
    for (test, name), outs in sorted(results.items()):
        med = {
            k: statistics.median(o[k] for o in outs) for k in ("rps", "p50_us", "p99_us", "cpu_us")
        }
        print(
            f"{test:4s} {name:12s} {med['rps']:8.1f} req/s  p50 {med['p50_us']:7.0f} us  "
            f"p99 {med['p99_us']:8.0f} us  CPU {med['cpu_us']:6.0f} us/req"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
