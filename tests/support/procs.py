"""Start and stop real processes for end-to-end tests: the fake upstream, gunicorn, the runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            requests.get(url, timeout=1).close()
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Running:
    def __init__(self, proc: subprocess.Popen, port: int, stderr_path: Path | None = None):
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stderr_path = stderr_path

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextmanager
def fake_upstream() -> Iterator[Running]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_upstream", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    running = Running(proc, port)
    try:
        wait_for_http(running.url + "/_requests", proc)
        yield running
    finally:
        running.stop(signal.SIGKILL)


def proxy_env(upstream_url: str, log_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
    env.update(
        PROXY_UPSTREAM_ENDPOINT=upstream_url + "/v1",
        PROXY_LOG_ROOT=str(log_root),
        PROXY_HOST="127.0.0.1",
        **extra,
    )
    return env


@contextmanager
def gunicorn(
    upstream_url: str, log_root: Path, tmp_path: Path, *, workers: int = 2, **env: str
) -> Iterator[Running]:
    """`gunicorn wsgi:app` from the repo root, as a user runs it, on a free port."""
    port = free_port()
    env = proxy_env(upstream_url, log_root, PROXY_PORT=str(port), PROXY_WORKERS=str(workers), **env)
    with _serving([str(BIN / "gunicorn"), "wsgi:app"], ROOT, env, port, tmp_path, "gunicorn") as r:
        yield r


@contextmanager
def runner(args: list[str], tmp_path: Path, env: dict[str, str]) -> Iterator[Running]:
    """`albicilla-proxy ARGS` on a free port (the port is appended)."""
    port = free_port()
    command = [str(BIN / "albicilla-proxy"), *args, "--host", "127.0.0.1", "--port", str(port)]
    with _serving(command, tmp_path, env, port, tmp_path, "runner") as running:
        yield running


@contextmanager
def _serving(
    command: list[str], cwd: Path, env: dict[str, str], port: int, tmp_path: Path, name: str
) -> Iterator[Running]:
    """Start a proxy process, wait for its /health, stop it (SIGTERM) on the way out."""
    stderr_path = tmp_path / f"{name}-{port}.err"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    running = Running(proc, port, stderr_path)
    try:
        wait_for_http(running.url + "/health", proc)
        yield running
    finally:
        running.stop()


T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll until `probe()` returns something truthy; fail with its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting, last value {value!r}")
        time.sleep(interval)


def worker_pids(master: Running) -> set[int]:
    """The pids of the gunicorn master's worker processes (its children)."""
    children: set[int] = set()
    for task in Path(f"/proc/{master.proc.pid}/task").iterdir():
        try:
            children.update(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return children


class Watched:
    """A local TCP server that must receive nothing: it counts connections and bytes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(0.5)
            try:
                self.received += conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._closed = True
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(5)


@contextmanager
def watched_server() -> Iterator[Watched]:
    server = Watched()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def black_hole() -> Iterator[int]:
    """A port that listens but never accepts, with its backlog full: connecting to it hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        time.sleep(0.2)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def raw_exchange(port: int, data: bytes, *, timeout: float = 10.0, shut: bool = False) -> bytes:
    """Send raw bytes to 127.0.0.1:port; return all that comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def session_records(log_root: Path, session: str) -> list[dict]:
    """A session's finished records (a line still being written has no newline yet)."""
    import json

    from albicilla.proxy.sessions import session_file_name

    name = session_file_name(session) + ".jsonl"
    return [
        json.loads(line)
        for path in sorted(log_root.glob("*/" + name))
        for line in path.read_bytes().split(b"\n")[:-1]
    ]


def wait_records(log_root: Path, session: str, count: int = 1, timeout: float = 15) -> list[dict]:
    """The session's records once `count` are there; records land after the last byte is sent."""
    wait_for(lambda: len(session_records(log_root, session)) >= count, timeout)
    time.sleep(0.1)  # a surplus record would show up now
    records = session_records(log_root, session)
    assert len(records) == count, records
    return records
