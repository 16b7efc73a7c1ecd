"""Side-by-side proxy benchmarks: direct, the two floors, Albicilla (and LiteLLM), as ratios.

    bench/run proxy                      # installs nginx and wrk if missing, then runs this
    uv run python bench/bench_proxy.py [--phases 1,2,3,4,5] [--apis chat,responses,messages,gemini]
    uv run python bench/bench_proxy.py --smoke     # tiny sizes, no nginx, wrk or LiteLLM

The floor (bench/floor_proxy.py) is the same gunicorn gevent stack doing nothing but forwarding
through one pooled `requests` adapter: what Albicilla costs beyond it is what its features cost,
so every phase is reported as Albicilla / floor. The logging floor (bench/logging_floor.py) is a
minimal Flask view that also parses once and appends one record under flock: the limit for a
proxy that logs, and the goals are set against it (Albicilla / logging floor). Each phase runs
for each logged API (/v1/chat/completions, /v1/responses, /v1/messages, and Gemini's
/v1beta/models/M:generateContent and :streamGenerateContent?alt=sse), every target measured back
to back, the order rotated every round:
  1  added latency (over direct), non-streaming, 1 connection (wrk -c1 --latency): p50 and p99
  2  throughput, non-streaming, 64 connections; log lines counted per endpoint, and an exact
     count check: N requests from our own client give exactly N log lines (or none at all for
     an endpoint this build does not log)
  3  added time to first token on a slow stream (sequential raw-socket client): median, p99
  4  50-chunk SSE streams, 32 connections: rate, and every record rebuilt correctly
  5  many concurrent slow streams (1,000 x a token every 100 ms for 20 s, dealt over the four
     APIs), through the floor, the logging floor, then Albicilla: all complete, all logged
     with the right content, CPU per relayed chunk, RSS and open sockets of each gunicorn
     worker (how evenly they split)
Albicilla runs as `gunicorn wsgi:app` and the floor as `gunicorn floor_proxy:app`, both with 2
gevent workers under the repository's gunicorn.conf.py, configured by PROXY_* only.
LiteLLM is included for chat when its separate virtual environment exists
(`bench/run litellm-setup`); its proxy is configured with OpenAI-shaped models only, so it has no
column for the other APIs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import api_bodies
import proxy_clients as clients
import proxy_servers as servers
from proxy_report import (
    endpoint_lines,
    machine,
    profile_top,
    py_spy_command,
    read_records,
    settled_lines,
    summarize,
    table,
    verify_streams,
)

DEFAULT_LITELLM_VENV = "/tmp/albicilla-bench-litellm"
Target = tuple[str, str, servers.Server]  # name, URL, the server charged for the CPU time


def chat_body(model: str, *, stream: bool = False) -> bytes:
    return api_bodies.request_body("chat", model, stream=stream)


def say(text: str) -> None:
    print(text, flush=True)


def verdict(ok: bool, logging: bool) -> str:
    """OK / MISMATCH, or why a count of zero is not a failure."""
    if not logging:
        return "not logged by this build" if ok else "MISMATCH"
    return "OK" if ok else "MISMATCH"


def stream_check(api: str, expected: str):
    def check(status: int, data: bytes) -> bool:
        return status == 200 and api_bodies.API[api].stream_text(data) == (expected, True)

    return check


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, stack: ExitStack) -> None:
        self.args = args
        self.workdir = workdir
        self.stack = stack
        self.results: dict = {}
        self.use_wrk = not args.smoke
        self.upstream: servers.Server | None = None  # nginx (or the Python upstream in --smoke)
        self.ttft_upstream: servers.Server | None = None
        self.litellm: servers.Server | None = None
        self.warmups: dict[str, list[dict]] = {}
        self.pairs: dict[str, tuple[servers.Server, servers.Server]] = {}
        self.logging_floors: dict[str, servers.Server] = {}  # by base, as pairs

    # -- servers ----------------------------------------------------------------------------

    def start_shared(self) -> None:
        a = self.args
        if a.smoke:
            self.upstream = self.stack.enter_context(
                servers.slow(self.workdir, tokens=a.sse_tokens, interval=0.0)
            )
        else:
            self.upstream = self.stack.enter_context(servers.nginx(self.workdir, a.sse_tokens))
        say(f"upstream: {self.upstream.name} at {self.upstream.url}")
        if {3} & a.phases:
            self.ttft_upstream = self.stack.enter_context(
                servers.slow(
                    self.workdir,
                    tokens=a.ttft_tokens,
                    interval=a.ttft_interval,
                    first_delay=a.ttft_first_delay,
                )
            )
        venv = None if a.no_litellm or a.smoke else Path(a.litellm_venv)
        if servers.litellm_available(venv):
            models = {
                "bench-model": self.upstream.url + "/v1",
                "bench-sse": self.sse_base() + "/v1",
            }
            if self.ttft_upstream:
                models["bench-slow"] = self.ttft_upstream.url + "/v1"
            say("starting LiteLLM (2 workers, no database) ...")
            try:
                self.litellm = self.stack.enter_context(servers.litellm(venv, models, self.workdir))
                say(f"LiteLLM at {self.litellm.url}")
            except RuntimeError as exc:
                say(f"LiteLLM: skipped, it did not start: {exc}")
        else:
            say(
                f"LiteLLM: skipped (no virtual environment at {a.litellm_venv}; "
                "`bench/run litellm-setup` makes one)"
                if not a.smoke and not a.no_litellm
                else "LiteLLM: skipped"
            )

    def sse_base(self) -> str:
        """Where the upstream serves its fixed 50-event streams (the slow upstream: anywhere)."""
        return self.upstream.url + ("" if self.args.smoke else "/sse")

    def proxies(self, base: str, tag: str) -> tuple[servers.Server, servers.Server]:
        """The floor and Albicilla in front of `base`, started together (with the logging floor)
        on first use and shared by the phases using the same upstream (counts and checks are
        per endpoint and kind)."""
        if base not in self.pairs:
            floor = self.stack.enter_context(
                servers.floor(base + "/v1", self.workdir, name=f"floor-{tag}", wait=False)
            )
            logging_floor = self.stack.enter_context(
                servers.logging_floor(
                    base + "/v1", self.workdir, name=f"logfloor-{tag}", wait=False
                )
            )
            proxy = self.stack.enter_context(
                servers.albicilla(
                    base + "/v1",
                    self.workdir,
                    name=f"albicilla-{tag}",
                    wait=False,
                    repo=self.args.albicilla_repo,
                )
            )
            servers.wait_ready(floor)
            servers.wait_ready(logging_floor)
            servers.wait_ready(proxy)
            self.pairs[base] = (floor, proxy)
            self.logging_floors[base] = logging_floor
        return self.pairs[base]

    def targets(
        self,
        api: str,
        upstream: servers.Server,
        base: str,
        floor: servers.Server,
        proxy: servers.Server,
        model: str,
        *,
        stream: bool = False,
    ) -> list[Target]:
        path = api_bodies.url_path(api, model, stream=stream)
        logging_floor = next(
            lf for b, lf in self.logging_floors.items() if self.pairs[b][0] is floor
        )
        found = [
            ("direct", base + path, upstream),
            ("floor", floor.url + path, floor),
            ("logfloor", logging_floor.url + path, logging_floor),
            ("albicilla", proxy.url + path, proxy),
        ]
        if self.litellm and api == "chat":
            found.append(("litellm", self.litellm.url + path, self.litellm))
        return found

    # -- measuring --------------------------------------------------------------------------

    def measure(
        self,
        url: str,
        body: bytes,
        *,
        connections: int,
        threads: int,
        seconds: float,
        server: servers.Server | None = None,
        check=None,
    ) -> dict:
        """One load run; with `server`, also its CPU time per request (robust to other load)
        and each worker's share of that CPU time."""
        cpu = server.cpu_seconds() if server else 0.0
        per_worker = server.worker_cpu() if server else {}
        if self.use_wrk:
            result = servers.run_wrk(
                url,
                body,
                connections=connections,
                threads=threads,
                seconds=seconds,
                workdir=self.workdir,
            )
        else:
            result = clients.load(
                url, body, connections=connections, total=10**9, seconds=seconds, check=check
            )
        if server:
            used = server.cpu_seconds() - cpu
            result["cpu_us_per_request"] = used / max(result["requests"], 1) * 1e6
            result["cpu_percent"] = (
                used / (result.get("duration_us", 0) / 1e6 or result.get("seconds", 1)) * 100
            )
            if len(per_worker) > 1:
                after = server.worker_cpu()
                spent = [after.get(pid, 0.0) - before for pid, before in per_worker.items()]
                result["worker_split"] = [round(x / (sum(spent) or 1), 3) for x in spent]
        return result

    def rounds(
        self,
        phase: str,
        targets: list[Target],
        body: bytes,
        *,
        connections: int,
        threads: int,
        seconds: float,
        rounds: int,
        check=None,
        after=None,
    ) -> dict[str, list[dict]]:
        """Every target once per round, the order rotated each round; a warm-up first."""
        runs: dict[str, list[dict]] = {name: [] for name, _, _ in targets}
        self.warmups = {}
        for name, url, _ in targets:
            self.warmups[name] = [
                self.measure(
                    url,
                    body,
                    connections=connections,
                    threads=threads,
                    seconds=self.args.warmup,
                    check=check,
                )
            ]
            if after:
                after(name, None)
        for r in range(rounds):
            order = targets[r % len(targets) :] + targets[: r % len(targets)]
            for name, url, server in order:
                result = self.measure(
                    url,
                    body,
                    connections=connections,
                    threads=threads,
                    seconds=seconds,
                    server=server,
                    check=check,
                )
                runs[name].append(result)
                split = "/".join(f"{100 * x:.0f}" for x in result.get("worker_split", []))
                say(
                    f"[{phase}] round {r + 1} {name:9s} {result['rps']:9.1f} req/s  "
                    f"p50 {result['p50_us']:8.0f} us  p99 {result['p99_us']:8.0f} us  "
                    f"{result['requests']} ok, {result['errors']} errors  server CPU "
                    f"{result['cpu_percent']:4.0f}%, {result['cpu_us_per_request']:6.0f} us/req"
                    f"{'  workers ' + split + '%' if split else ''}"
                    f"  (load avg {os.getloadavg()[0]:.1f})"
                )
                if after:
                    after(name, result)
        return runs

    def apis(self) -> list[str]:
        return self.args.apis

    def settle(self, proxy: servers.Server) -> None:
        """Wait until the log stops growing (a shorter quiet spell at --smoke sizes)."""
        settled_lines(proxy.log_root, quiet=0.15 if self.args.smoke else 0.5)

    # -- phases -----------------------------------------------------------------------------

    def phase_latency(self) -> None:
        a = self.args
        group = self.results["latency_c1"] = {}
        floor, proxy = self.proxies(self.upstream.url, "json")
        for api in self.apis():
            targets = self.targets(
                api, self.upstream, self.upstream.url, floor, proxy, "bench-model"
            )
            runs = self.rounds(
                f"1 latency c1 {api}",
                targets,
                api_bodies.request_body(api, "bench-model"),
                connections=1,
                threads=1,
                seconds=a.seconds,
                rounds=a.rounds,
            )
            group[api] = summarize(runs)

    def phase_throughput(self) -> None:
        a = self.args
        group = self.results["throughput_c64"] = {}
        floor, proxy = self.proxies(self.upstream.url, "json")
        for api in self.apis():
            group[api] = self.throughput(api, floor, proxy)
        if a.profile > 0 and self.use_wrk:
            self.results["profile"] = self.profile(proxy, chat_body("bench-model"))

    def throughput(self, api: str, floor: servers.Server, proxy: servers.Server) -> dict:
        a = self.args
        path = api_bodies.url_path(api, "bench-model")
        logged_as = api_bodies.endpoint(api)
        body = api_bodies.request_body(api, "bench-model")
        targets = self.targets(api, self.upstream, self.upstream.url, floor, proxy, "bench-model")
        checks: list[dict] = []
        before = [endpoint_lines(proxy.log_root, logged_as)]

        def count(name: str, result: dict | None) -> None:
            if name != "albicilla":
                return
            self.settle(proxy)
            lines = endpoint_lines(proxy.log_root, logged_as)
            if result is not None:
                added = lines - before[0]
                checks.append(
                    {
                        "completed": result["requests"],
                        "logged": added,
                        "in_flight_at_stop": added - result["requests"],
                    }
                )
                ok = added == 0 or 0 <= added - result["requests"] <= a.connections
                say(
                    f"[2 throughput {api}] log lines {added} for {result['requests']} "
                    f"completed ({added - result['requests']} in flight when the client "
                    f"stopped) {verdict(ok, added > 0)}"
                )
            before[0] = lines

        runs = self.rounds(
            f"2 throughput c64 {api}",
            targets,
            body,
            connections=a.connections,
            threads=2,
            seconds=a.load_seconds,
            rounds=a.rounds_load,
            after=count,
        )
        # Exact: a fixed number of requests, all answered, gives exactly that many lines.
        self.settle(proxy)
        start_lines = endpoint_lines(proxy.log_root, logged_as)
        exact = clients.load(
            proxy.url + path,
            body,
            connections=a.connections,
            total=a.exact_requests,
            seconds=a.load_seconds * 10,
        )
        self.settle(proxy)
        logged = endpoint_lines(proxy.log_root, logged_as) - start_lines
        answered = exact["requests"] == a.exact_requests and exact["errors"] == 0
        logging = logged > 0
        exact_ok = answered and (logged == a.exact_requests or not logging)
        say(
            f"[2 throughput {api}] exact count: {a.exact_requests} sent, {exact['requests']} "
            f"answered 200, {logged} log lines -> {verdict(exact_ok, logging)}"
        )
        summary = summarize(runs)
        summary["log_checks"] = checks
        summary["exact_count"] = {
            "sent": a.exact_requests,
            "answered": exact["requests"],
            "logged": logged,
            "logging": logging,
            "ok": exact_ok,
        }
        return summary

    def profile(self, proxy: servers.Server, body: bytes) -> list[str]:
        """py-spy on one worker while wrk keeps 64 connections busy."""
        load = subprocess.Popen(
            [
                "wrk",
                "-t2",
                f"-c{self.args.connections}",
                f"-d{self.args.profile + 4:g}s",
                "-s",
                str(servers.wrk_script(body, self.workdir)),
                proxy.url + "/v1/chat/completions",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.5)
            spy = self.start_py_spy(proxy.worker_pids()[0], "profile-c64.txt")
            return self.finish_py_spy(spy, "one worker under 64 connections")
        finally:
            load.wait(self.args.profile + 60)

    def start_py_spy(self, pid: int, name: str) -> tuple[subprocess.Popen, Path] | None:
        spy = py_spy_command(self.args.py_spy)
        if spy is None:
            say("[profile] skipped: no py-spy (pass --py-spy PATH, or install uv for uvx)")
            return None
        raw = self.workdir / name
        proc = subprocess.Popen(
            [
                *spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                f"{self.args.profile:g}",
                "--rate",
                "250",
                "--function",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return proc, raw

    def finish_py_spy(self, spy: tuple[subprocess.Popen, Path] | None, what: str) -> list[str]:
        if spy is None:
            return []
        proc, raw = spy
        proc.wait(self.args.profile + 120)
        if proc.returncode != 0 or not raw.exists():
            say(f"[profile] py-spy failed ({proc.returncode})")
            return []
        lines = profile_top(raw.read_text(), self.args.profile_top)
        say(f"[profile] py-spy on {what}:")
        for line in lines:
            say("  " + line)
        return lines

    def phase_ttft(self) -> None:
        a = self.args
        up = self.ttft_upstream
        group = self.results["ttft"] = {}
        floor, proxy = self.proxies(up.url, "ttft")
        budget = a.ttft_budget / len(self.apis())
        for api in self.apis():
            targets = self.targets(api, up, up.url, floor, proxy, "bench-slow", stream=True)
            group[api] = self.ttft(api, targets, budget)
            records = [
                r
                for r in read_records(proxy.log_root)
                if r.get("endpoint") == api_bodies.endpoint(api, stream=True)
            ]
            group[api]["albicilla_records"] = {
                "records": len(records),
                "complete": sum(1 for r in records if r["complete"]),
            }

    def ttft(self, api: str, targets: list[Target], budget: float) -> dict:
        a = self.args
        body = api_bodies.request_body(api, "bench-slow", stream=True)
        times: dict[str, list[float]] = {name: [] for name, _, _ in targets}
        deadline = time.monotonic() + budget
        for _, url, _ in targets:
            for _ in range(a.warmup_requests):
                clients.time_to_first_token(url, body, b"tok0")
        for i in range(a.ttft_pairs):
            if time.monotonic() > deadline:
                say(f"[3 ttft {api}] stopped after {i} rounds: time budget {budget:g}s spent")
                break
            order = targets[i % len(targets) :] + targets[: i % len(targets)]
            for name, url, _ in order:
                times[name].append(clients.time_to_first_token(url, body, b"tok0"))
        summary = {}
        for name, values in times.items():
            stats = clients.percentiles([v * 1000 for v in values])
            summary[name] = {"n": stats["n"], "median_ms": stats["p50"], "p99_ms": stats["p99"]}
            say(
                f"[3 ttft {api}] {name:9s} n={stats['n']} median {stats['p50']:.3f} ms  "
                f"p99 {stats['p99']:.3f} ms"
            )
        return summary

    def phase_sse(self) -> None:
        group = self.results["sse50_c32"] = {}
        floor, proxy = self.proxies(self.sse_base(), "sse")
        for api in self.apis():
            group[api] = self.sse(api, floor, proxy)

    def sse(self, api: str, floor: servers.Server, proxy: servers.Server) -> dict:
        a = self.args
        targets = self.targets(
            api, self.upstream, self.sse_base(), floor, proxy, "bench-sse", stream=True
        )
        body = api_bodies.request_body(api, "bench-sse", stream=True)
        expected = api_bodies.expected_content(a.sse_tokens)
        runs = self.rounds(
            f"4 sse50 c32 {api}",
            targets,
            body,
            connections=a.sse_connections,
            threads=2,
            seconds=a.load_seconds,
            rounds=a.rounds_load,
            check=stream_check(api, expected),
        )
        self.settle(proxy)
        check = verify_streams(read_records(proxy.log_root), api, a.sse_tokens)
        completed = sum(r["requests"] for r in runs["albicilla"] + self.warmups["albicilla"])
        # Each client run may stop with up to `connections` streams cut off mid-way.
        budget = a.sse_connections * (a.rounds_load + 1)
        check["client_completed"] = completed
        check["logging"] = check["records"] > 0
        check["ok"] = not check["logging"] or (
            check["wrong"] == 0
            and check["correct"] >= completed
            and check["cut_by_client_stop"] <= budget
            and check["other_incomplete"] == 0
        )
        say(
            f"[4 sse50 {api}] records: {check['correct']} rebuilt correctly (client completed "
            f"{completed}), {check['wrong']} wrong, {check['cut_by_client_stop']} cut when "
            f"the client stopped (at most {budget}), {check['other_incomplete']} other "
            f"incomplete -> {verdict(check['ok'], check['logging'])}"
        )
        summary = summarize(runs)
        summary["records"] = check
        return summary

    def phase_many_streams(self) -> None:
        a = self.args
        tokens = max(1, round(a.stream_seconds / a.stream_interval))
        group = self.results["many_streams"] = {"apis": self.apis()}
        with ExitStack() as phase:
            up = phase.enter_context(
                servers.slow(self.workdir, tokens=tokens, interval=a.stream_interval)
            )
            floor, proxy = self.proxies(up.url, "streams")
            say(
                f"[5 streams] {a.streams} streams x {tokens} tokens every "
                f"{a.stream_interval:g}s, dealt over {', '.join(self.apis())}"
            )
            logging_floor = self.logging_floors[up.url]
            for name, server in (
                ("floor", floor),
                ("logfloor", logging_floor),
                ("albicilla", proxy),
            ):
                group[name] = self.many_streams(name, server, tokens)
            records = read_records(proxy.log_root)
            group["records"] = {}
            for i, api in enumerate(self.apis()):
                sent = len(range(i, a.streams, len(self.apis())))
                check = verify_streams(records, api, tokens)
                check["sent"] = sent
                check["logging"] = check["records"] > 0
                check["ok"] = not check["logging"] or check["correct"] == check["records"] == sent
                group["records"][api] = check
                say(
                    f"[5 streams] {api}: {sent} streams, {check['records']} records, "
                    f"{check['correct']} rebuilt correctly -> "
                    f"{verdict(check['ok'], check['logging'])}"
                )
            group["ok"] = (
                group["floor"]["ok"]
                and group["logfloor"]["ok"]
                and group["albicilla"]["ok"]
                and all(v["ok"] for v in group["records"].values())
            )

    def many_streams(self, name: str, server: servers.Server, tokens: int) -> dict:
        a = self.args
        expected = api_bodies.expected_content(tokens)
        kinds = [
            (
                server.url + api_bodies.url_path(api, "bench-slow", stream=True),
                api_bodies.request_body(api, "bench-slow", stream=True),
                stream_check(api, expected),
            )
            for api in self.apis()
        ]
        workers = server.worker_pids()
        idle = {pid: servers.memory_kb(pid) for pid in workers}
        peak_rss = {pid: 0 for pid in workers}
        peak_sockets = {pid: 0 for pid in workers}
        spy: list = []
        started = time.monotonic()

        def sample() -> None:
            for pid in workers:
                peak_rss[pid] = max(peak_rss[pid], servers.memory_kb(pid)["VmRSS"])
                peak_sockets[pid] = max(peak_sockets[pid], servers.open_sockets(pid))
            # Once every stream is open, profile Albicilla's busiest worker for a while.
            if (
                name == "albicilla"
                and a.profile > 0
                and not spy
                and time.monotonic() - started > 3
                and a.stream_seconds > a.profile + 5
            ):
                busiest = max(workers, key=peak_sockets.get)
                spy.append(self.start_py_spy(busiest, "profile-streams.txt"))

        cpu = server.cpu_seconds()
        result = clients.many_streams(
            kinds, count=a.streams, seconds=a.stream_seconds * 3 + 60, sample=sample
        )
        sample()
        # Upstream writes per stream: the opening events, the tokens, the closing events (Gemini
        # has neither), for the streams dealt to each API.
        apis = self.apis()
        chunks = sum(
            len(range(i, a.streams, len(apis))) * len(api_bodies.stream_writes(api, tokens))
            for i, api in enumerate(apis)
        )
        result["cpu_s"] = server.cpu_seconds() - cpu
        result["cpu_us_per_chunk"] = result["cpu_s"] / chunks * 1e6
        if spy:
            self.results["profile_streams"] = self.finish_py_spy(
                spy[0], f"the busiest worker during {a.streams} slow streams"
            )
        final = {pid: servers.memory_kb(pid) for pid in workers}
        result["workers"] = [
            {
                "pid": pid,
                "idle_rss_mb": idle[pid]["VmRSS"] / 1024,
                "peak_rss_mb": peak_rss[pid] / 1024,
                "vmhwm_mb": final[pid]["VmHWM"] / 1024,
                "peak_sockets": peak_sockets[pid],
            }
            for pid in workers
        ]
        result["ok"] = result["complete"] == a.streams
        say(
            f"[5 streams] {name}: {result['complete']}/{a.streams} complete at the client; "
            f"wall {result['wall_s']:.1f}s, stream p50 {result['stream_p50_s']:.2f}s max "
            f"{result['stream_max_s']:.2f}s; CPU {result['cpu_s']:.1f} s, "
            f"{result['cpu_us_per_chunk']:.0f} us per relayed upstream write -> "
            f"{'OK' if result['ok'] else 'FAILED'}"
        )
        for w in result["workers"]:
            say(
                f"[5 streams] {name} worker {w['pid']}: RSS idle {w['idle_rss_mb']:.1f} MB, "
                f"peak sampled {w['peak_rss_mb']:.1f} MB, VmHWM {w['vmhwm_mb']:.1f} MB, at most "
                f"{w['peak_sockets']} sockets open (a stream holds two)"
            )
        if result["failures"]:
            say(f"[5 streams] {name} first failures: {result['failures']}")
        return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, the Python upstream and client: no nginx, wrk or LiteLLM",
    )
    p.add_argument("--phases", default="1,2,3,4,5", help="comma-separated phase numbers")
    p.add_argument(
        "--apis", default=",".join(api_bodies.NAMES), help="comma-separated APIs each phase covers"
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds of the 1-connection test")
    p.add_argument("--seconds", type=float, default=3, help="length of one 1-connection run")
    p.add_argument("--rounds-load", type=int, default=2, help="rounds of the loaded tests")
    p.add_argument("--load-seconds", type=float, default=5, help="length of one loaded run")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per target")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--exact-requests", type=int, default=3000)
    p.add_argument("--ttft-pairs", type=int, default=200, help="TTFT rounds (one per target)")
    p.add_argument(
        "--ttft-budget",
        type=float,
        default=120,
        help="TTFT time limit, seconds (shared by the APIs)",
    )
    p.add_argument("--ttft-tokens", type=int, default=3)
    p.add_argument("--ttft-interval", type=float, default=0.005)
    p.add_argument("--ttft-first-delay", type=float, default=0.005)
    p.add_argument("--warmup-requests", type=int, default=20)
    p.add_argument("--sse-tokens", type=int, default=50)
    p.add_argument("--sse-connections", type=int, default=32)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--stream-seconds", type=float, default=20)
    p.add_argument("--stream-interval", type=float, default=0.1)
    p.add_argument(
        "--litellm-venv", default=os.environ.get("BENCH_LITELLM_VENV", DEFAULT_LITELLM_VENV)
    )
    p.add_argument("--no-litellm", action="store_true")
    p.add_argument(
        "--profile",
        type=float,
        default=0,
        help="seconds of py-spy on one worker under the 64-connection load",
    )
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--py-spy", help="py-spy executable (default: py-spy on PATH, else uvx)")
    p.add_argument(
        "--albicilla-repo",
        type=Path,
        default=servers.ROOT,
        help="run Albicilla from this checkout (default: this repository)",
    )
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--workdir", help="keep servers' files and logs here (default: a temp dir)")
    args = p.parse_args(argv)
    args.phases = {int(x) for x in args.phases.split(",") if x.strip()}
    args.apis = [x.strip() for x in args.apis.split(",") if x.strip()]
    unknown = set(args.apis) - set(api_bodies.NAMES)
    if unknown or not args.apis:
        p.error(f"--apis: choose from {', '.join(api_bodies.NAMES)}")
    if args.smoke:
        args.rounds, args.seconds, args.rounds_load, args.load_seconds = 1, 0.3, 1, 0.3
        args.warmup, args.connections, args.exact_requests = 0.1, 8, 40
        args.ttft_pairs, args.warmup_requests, args.sse_connections = 5, 1, 4
        args.streams = min(args.streams, 24)
        args.stream_seconds = min(args.stream_seconds, 1.0)
        args.profile = 0
    return args


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack: every server is stopped


def failures(results: dict) -> list[str]:
    """The checks that failed: counts, records, and errors from anything but LiteLLM."""
    failed = []
    if results.get("many_streams", {}).get("ok") is False:
        failed.append("many_streams")
    for group in ("throughput_c64", "sse50_c32"):
        for api, sub in results.get(group, {}).items():
            if (
                sub.get("exact_count", {}).get("ok") is False
                or sub.get("records", {}).get("ok") is False
            ):
                failed.append(f"{group}/{api}")
    for group in ("latency_c1", "throughput_c64", "sse50_c32"):
        for api, sub in results.get(group, {}).items():
            for name, run in sub.items():
                if isinstance(run, dict) and run.get("errors"):
                    say(
                        f"{group} {api}: {name} answered {run['errors']} requests with errors "
                        "(socket errors, timeouts or HTTP status >= 400)"
                    )
                    if name != "litellm":
                        failed.append(f"{group}/{api}/{name}")
    return failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    if not args.smoke:
        missing = [
            tool
            for tool in ("nginx", "wrk")
            if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists())
        ]
        if missing:
            print(
                f"bench_proxy: {', '.join(missing)} not installed (bench/run installs them; "
                "or use --smoke)",
                file=sys.stderr,
            )
            return 2
    say(f"# Albicilla proxy benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    say(f"machine: {machine()}")
    say(f"args: {' '.join(sys.argv[1:]) or '(defaults)'}")
    with ExitStack() as stack:
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="albench-")))
        bench = Bench(args, workdir, stack)
        bench.start_shared()
        phases = {
            1: bench.phase_latency,
            2: bench.phase_throughput,
            3: bench.phase_ttft,
            4: bench.phase_sse,
            5: bench.phase_many_streams,
        }
        for number in sorted(args.phases):
            say(f"\n## phase {number}")
            began = time.monotonic()
            phases[number]()
            say(f"(phase {number}: {time.monotonic() - began:.0f} s)")
        if bench.litellm:
            log = bench.litellm.log.read_text(errors="replace")
            restarts = log.count("] died")
            bench.results["litellm_worker_restarts"] = restarts
            say(f"\nLiteLLM workers restarted by their supervisor during the run: {restarts}")
    say(
        "\n## summary: Albicilla as a ratio to the floor (the same stack, only forwarding) and to "
        "the logging floor (a minimal Flask view that forwards, parses once, logs once)\n"
    )
    for row in table(bench.results, args):
        say(row)
    if args.json:
        Path(args.json).write_text(json.dumps(bench.results, indent=2, default=str) + "\n")
    failed = failures(bench.results)
    if failed:
        say(f"\nFAILED checks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
