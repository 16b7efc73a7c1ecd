"""Start and stop real processes for end-to-end tests: the fake upstream, gunicorn, the runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    stderr_path = tmp_path / f"gunicorn-{port}.err"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "wsgi:app"],
            cwd=ROOT,
            env=proxy_env(
                upstream_url, log_root, PROXY_PORT=str(port), PROXY_WORKERS=str(workers), **env
            ),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    running = Running(proc, port, stderr_path)
    try:
        wait_for_http(running.url + "/health", proc)
        yield running
    finally:
        running.stop()


@contextmanager
def runner(args: list[str], tmp_path: Path, env: dict[str, str]) -> Iterator[Running]:
    """`albicilla-proxy ARGS` on a free port (the port is appended)."""
    port = free_port()
    stderr_path = tmp_path / f"runner-{port}.err"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [str(BIN / "albicilla-proxy"), *args, "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    running = Running(proc, port, stderr_path)
    try:
        wait_for_http(running.url + "/health", proc)
        yield running
    finally:
        running.stop()
