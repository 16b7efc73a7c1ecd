"""The processes bench_proxy.py runs: nginx, slow upstream, floor, Albicilla, LiteLLM and wrk.

Every server listens on a free loopback port, keeps its files under the run's work directory,
runs in the foreground as a child of the benchmark and is stopped by it (SIGKILL at the latest).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import api_bodies

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STARTUP_S = 120.0  # LiteLLM takes a while to import; everything else is up in a second or two
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


class Server:
    """A running child process and the base URL it answers on."""

    def __init__(self, name: str, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.log_root: Path | None = None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master), for RSS and profiling."""
        return children(self.proc.pid)

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds used so far by each worker, to see how evenly they share the load."""
        return {pid: process_cpu(pid) for pid in self.worker_pids()}

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and all its descendants."""
        total = 0.0
        pending = [self.proc.pid]
        while pending:
            pid = pending.pop()
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            pending += children(pid)
        return total

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def process_cpu(pid: int) -> float:
    """CPU time (user + system) of one process, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies, so no server outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command may hold spaces and parentheses: fields resume after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                values[name] = int(value.split()[0])
    return values


def open_sockets(pid: int) -> int:
    """How many sockets a process holds (a relayed stream holds two: client and upstream)."""
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass
    except OSError:
        pass
    return count


def wait_ready(server: Server, path: str = "/health", timeout: float = STARTUP_S) -> None:
    """Poll until GET path answers (any status), or fail with the server's log."""
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
                sock.sendall(request)
                if sock.recv(16).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"{server.name} did not start on port {server.port}:\n{server.tail()}")


@contextmanager
def _running(
    name: str,
    argv: list[str],
    workdir: Path,
    port: int,
    *,
    env: dict | None = None,
    ready_path: str = "/health",
    stop_sig: int = signal.SIGTERM,
    cwd: Path = ROOT,
    wait: bool = True,
) -> Iterator[Server]:
    """Start a server; with wait=False the caller calls wait_ready (to start several at once)."""
    log = workdir / f"{name}-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = Server(name, proc, port, log)
    try:
        if wait:
            wait_ready(server, ready_path)
        yield server
    finally:
        server.stop(stop_sig)


@contextmanager
def nginx(workdir: Path, sse_tokens: int = 50) -> Iterator[Server]:
    """nginx serving each API's fixed JSON answer (under /v1, Gemini's under /v1beta) and its
    fixed stream under /sse."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = (BENCH / "nginx.conf.template").read_text()
    for marker, value in {
        "@PREFIX@": str(prefix),
        "@PORT@": str(port),
        "@USER_DIRECTIVE@": "user root;" if os.geteuid() == 0 else "",
        "@TOKENS@": str(sse_tokens),
        **{
            f"@COMPLETION_{name.upper()}@": _nginx_string(api.completion())
            for name, api in api_bodies.API.items()
        },
    }.items():
        conf = conf.replace(marker, value)
    for name in api_bodies.API:
        # Gemini's stream is one file for any model (nginx.conf.template rewrites to it).
        path = "/v1beta/gemini.sse" if name == "gemini" else api_bodies.url_path(name, "-")
        sse_file = prefix / "html" / "sse" / path.lstrip("/")
        sse_file.parent.mkdir(parents=True, exist_ok=True)
        sse_file.write_bytes(api_bodies.stream_body(name, sse_tokens))
    conf_path = prefix / "nginx.conf"
    conf_path.write_text(conf)
    argv = [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf_path)]
    with _running("nginx", argv, workdir, port, stop_sig=signal.SIGQUIT) as server:
        yield server


def _nginx_string(data: bytes) -> str:
    """Bytes as the inside of a single-quoted nginx string (which understands \\n)."""
    text = data.decode()
    if "'" in text or "$" in text or "\\" in text:
        raise ValueError("the fixed bodies must not need quoting in nginx")
    return text.replace("\n", "\\n")


@contextmanager
def slow(
    workdir: Path,
    *,
    tokens: int,
    interval: float,
    first_delay: float = 0.0,
    max_seconds: float = 3600.0,
) -> Iterator[Server]:
    port = free_port()
    argv = [
        sys.executable,
        str(BENCH / "slow_upstream.py"),
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--interval",
        str(interval),
        "--first-delay",
        str(first_delay),
        "--max-seconds",
        str(max_seconds),
    ]
    with _running("slow-upstream", argv, workdir, port) as server:
        yield server


@contextmanager
def albicilla(
    upstream_endpoint: str,
    workdir: Path,
    *,
    workers: int = 2,
    name: str = "albicilla",
    repo: Path = ROOT,
    wait: bool = True,
) -> Iterator[Server]:
    """`gunicorn wsgi:app` from the repository, configured only through PROXY_* variables.

    `repo` may be another checkout (gunicorn puts its working directory first on sys.path),
    to compare a change side by side.
    """
    port = free_port()
    log_root = workdir / f"{name}-{port}-logs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update(
        PROXY_UPSTREAM_ENDPOINT=upstream_endpoint,
        PROXY_PORT=str(port),
        PROXY_LOG_ROOT=str(log_root),
        PROXY_WORKERS=str(workers),
        PROXY_HOST="127.0.0.1",
    )
    argv = [str(Path(sys.executable).parent / "gunicorn"), "wsgi:app"]
    with _running(name, argv, workdir, port, env=env, cwd=repo, wait=wait) as server:
        server.log_root = log_root
        yield server


@contextmanager
def floor(
    upstream_endpoint: str,
    workdir: Path,
    *,
    workers: int = 2,
    name: str = "floor",
    repo: Path = ROOT,
    wait: bool = True,
) -> Iterator[Server]:
    """The floor (bench/floor_proxy.py) under the repository's gunicorn.conf.py, as Albicilla runs.

    Only forwarding: no log is written (`log_root` stays None).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update(
        PROXY_UPSTREAM_ENDPOINT=upstream_endpoint,
        PROXY_PORT=str(port),
        PROXY_WORKERS=str(workers),
        PROXY_HOST="127.0.0.1",
    )
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--pythonpath",
        str(BENCH),
        "floor_proxy:app",
    ]
    with _running(name, argv, workdir, port, env=env, cwd=repo, wait=wait) as server:
        yield server


@contextmanager
def logging_floor(
    upstream_endpoint: str,
    workdir: Path,
    *,
    workers: int = 2,
    name: str = "logging-floor",
    repo: Path = ROOT,
    wait: bool = True,
) -> Iterator[Server]:
    """The logging floor (bench/logging_floor.py) under the repository's gunicorn.conf.py: a
    minimal Flask view that forwards, parses once and appends one record per exchange."""
    port = free_port()
    log_root = workdir / f"{name}-{port}-logs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update(
        PROXY_UPSTREAM_ENDPOINT=upstream_endpoint,
        PROXY_PORT=str(port),
        PROXY_LOG_ROOT=str(log_root),
        PROXY_WORKERS=str(workers),
        PROXY_HOST="127.0.0.1",
    )
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--pythonpath",
        str(BENCH),
        "logging_floor:app",
    ]
    with _running(name, argv, workdir, port, env=env, cwd=repo, wait=wait) as server:
        server.log_root = log_root
        yield server


def litellm_available(venv: Path | None) -> bool:
    return venv is not None and (venv / "bin" / "litellm").is_file()


@contextmanager
def litellm(
    venv: Path, models: dict[str, str], workdir: Path, *, workers: int = 2
) -> Iterator[Server]:
    """LiteLLM's proxy with default settings, no database: one model name per upstream base."""
    port = free_port()
    lines = ["model_list:"]
    for model, api_base in models.items():
        lines += [
            f"  - model_name: {model}",
            "    litellm_params:",
            f"      model: openai/{model}",
            f"      api_base: {api_base}",
            "      api_key: sk-bench",
        ]
    config = workdir / "litellm.yaml"
    config.write_text("\n".join(lines) + "\n")
    env = dict(os.environ)
    for var in ("DATABASE_URL", "LITELLM_MASTER_KEY", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(var, None)
    # Offline (the bundled model price list, no telemetry), and no master key: recent releases
    # refuse to start without one unless told, and older ones ran without auth by default.
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY="true",
        NO_PROXY="*",
        no_proxy="*",
    )
    # A patient worker health check: uvicorn's supervisor kills a worker that takes 5 s to
    # answer its ping, and LiteLLM's workers take longer than that to import on a busy
    # 2-core machine (they were killed and restarted in a loop). Requests are not affected.
    argv = [
        str(venv / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        str(workers),
        "--timeout_worker_healthcheck",
        "120",
    ]
    with _running(
        "litellm", argv, workdir, port, env=env, ready_path="/health/liveliness"
    ) as server:
        yield server


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"mean_us":%%.1f,"max_us":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""


def wrk_script(body: bytes, workdir: Path) -> Path:
    """The wrk Lua script that POSTs `body` and prints its summary as JSON."""
    script = workdir / "wrk.lua"
    script.write_text(WRK_SCRIPT % json.dumps(body.decode()))
    return script


def run_wrk(
    url: str, body: bytes, *, connections: int, threads: int, seconds: float, workdir: Path
) -> dict:
    """One wrk run; returns its summary (requests, errors, latency percentiles in µs)."""
    script = wrk_script(body, workdir)
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            result = json.loads(line[len("WRKJSON ") :])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["errors"] = sum(
                result[k] for k in ("connect", "read", "write", "status", "timeout")
            )
            return result
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
