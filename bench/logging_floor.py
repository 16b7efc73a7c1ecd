"""THE LOGGING FLOOR, a benchmark baseline and not part of Albicilla: the least a logger does.

    PROXY_UPSTREAM_ENDPOINT=http://127.0.0.1:8080/v1 PROXY_LOG_ROOT=/tmp/lf \\
        gunicorn --pythonpath bench logging_floor:app

A minimal Flask view for each logged API's path, under the same `gunicorn.conf.py` (gevent
workers) as `gunicorn wsgi:app`: it forwards through one pooled `requests` adapter, relays the
answer, parses the request and each stream event once with the fastest JSON library in the
project's environment (msgspec), joins a minimal rebuilt reply (the text deltas), and appends one
record under flock before the client's last byte (open, lock, one write, close, as Albicilla's
store does). No sessions, no checks, no header rules beyond hop-by-hop, no redaction, no error
handling. `bench/run proxy` reports Albicilla as a ratio to this and to the bare floor
(bench/floor_proxy.py). Never shipped: the package does not import it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import requests
from flask import Flask, Response, request
from requests.adapters import HTTPAdapter

READ_SIZE = 65536
PATHS = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1beta/models/<model>:generateContent",
    "/v1beta/models/<model>:streamGenerateContent",
)
_NOT_FORWARDED = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
_TERMINAL = frozenset({"response.completed", "message_stop"})
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def delta_text(path: str, event: Any) -> str | None:
    """The text an event adds to the reply, for each API's usual text stream."""
    if not isinstance(event, dict):
        return None
    if path == "/v1/chat/completions":
        choices = event.get("choices")
        return choices[0].get("delta", {}).get("content") if choices else None
    candidates = event.get("candidates")
    if candidates:  # Gemini: every event is a GenerateContentResponse
        parts = candidates[0].get("content", {}).get("parts") or ()
        return "".join(part.get("text") or "" for part in parts)
    kind = event.get("type")
    if kind == "response.output_text.delta":
        return event.get("delta")
    if kind == "content_block_delta":
        return event.get("delta", {}).get("text")
    return None


def read_chunk(path: str, held: bytes, chunk: bytes, texts: list[str]) -> tuple[bytes, bool]:
    """One read of a stream, after the line it cut (`held`): each whole line parsed once, the
    text deltas appended to `texts`; returns the new cut line and whether the stream ended."""
    lines = (held + chunk).split(b"\n")
    held = lines.pop()
    ended = False
    for line in lines:
        if line.startswith(b"data: {"):
            event = _decode(line[6:])
            text = delta_text(path, event)
            if text:
                texts.append(text)
            ended = ended or event.get("type") in _TERMINAL
        elif line.startswith(b"data: [DONE]"):
            ended = True
    return held, ended


def serialize_reply(texts: list[str]) -> bytes:
    """A stream's reply as the logging floor's record holds it, serialised with its encoder
    (what bench_rebuild.py sets beside Albicilla's rebuilt response)."""
    return _encode({"response": {"content": "".join(texts)}})


class LoggingFloor:
    """One per worker, built on its first request: the upstream base, one adapter, the log."""

    def __init__(self, endpoint: str, pool_size: int, log_root: str) -> None:
        base = endpoint.strip().rstrip("/")
        self.base = base[:-3] if base.endswith("/v1") else base
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.timeout = (10.0, 600.0)
        self.log_root = log_root

    def append(self, record: dict[str, Any]) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        directory = os.path.join(self.log_root, day)
        os.makedirs(directory, exist_ok=True)
        fd = os.open(
            os.path.join(directory, "floor.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, _encode(record) + b"\n")
        finally:
            os.close(fd)  # closing releases the lock

    def view(self) -> Response:
        body = request.get_data()
        payload = _decode(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        prepared = requests.PreparedRequest()
        prepared.prepare_method("POST")
        query = request.query_string.decode("latin-1")
        prepared.prepare_url(self.base + request.path + (f"?{query}" if query else ""), None)
        prepared.prepare_headers(headers)
        prepared.prepare_body(body, None)
        upstream = self.adapter.send(prepared, stream=True, timeout=self.timeout)
        raw = upstream.raw
        out = [(k, v) for k, v in raw.headers.items() if k.lower() not in _HOP_BY_HOP]
        record = {
            "timestamp": time.time(),
            "endpoint": request.path,
            "request": payload,
            "status": upstream.status_code,
        }
        if not raw.headers.get("Content-Type", "").startswith("text/event-stream"):
            try:
                content = raw.read(decode_content=True)
            finally:
                upstream.close()
            record["response"] = _decode(content)
            self.append(record)
            out.append(("Content-Length", str(len(content))))
            return Response(
                [content], status=upstream.status_code, headers=out, direct_passthrough=True
            )
        return Response(
            self.relay(upstream, request.path, record),
            status=upstream.status_code,
            headers=out,
            direct_passthrough=True,
        )

    def relay(
        self, upstream: requests.Response, path: str, record: dict[str, Any]
    ) -> Iterator[bytes]:
        """Chunks go out as they arrive; the record goes to disk before the chunk holding the
        terminal event (or, for a stream without one, Gemini's, when the body ends)."""
        raw = upstream.raw
        texts: list[str] = []
        held = b""
        written = False
        try:
            while chunk := raw.read1(READ_SIZE, decode_content=True):
                held, ended = read_chunk(path, held, chunk, texts)
                if ended and not written:
                    record["response"] = {"content": "".join(texts)}
                    self.append(record)
                    written = True
                yield chunk
        finally:
            upstream.close()
            if not written:
                record["response"] = {"content": "".join(texts)}
                self.append(record)


def create_app() -> Flask:
    app = Flask(__name__)
    floor: list[LoggingFloor] = []

    def view(model: str | None = None) -> Response:
        # Built in the worker on first use, after gevent has patched it.
        if not floor:
            floor.append(
                LoggingFloor(
                    os.environ["PROXY_UPSTREAM_ENDPOINT"],
                    int(os.environ.get("PROXY_WORKER_CONNECTIONS", "1000")),
                    os.environ["PROXY_LOG_ROOT"],
                )
            )
        return floor[0].view()

    for path in PATHS:
        app.add_url_rule(path, endpoint=path, view_func=view, methods=["POST"])
    return app


app = create_app()
