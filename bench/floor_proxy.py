"""THE FLOOR, a benchmark baseline and not part of Albicilla: a bare forwarding WSGI callable.

    PROXY_UPSTREAM_ENDPOINT=http://127.0.0.1:8080/v1 gunicorn --pythonpath bench floor_proxy:app

It runs under the same `gunicorn.conf.py` (gevent workers) as `gunicorn wsgi:app` and sends each
request through one pooled `requests` adapter, as Albicilla does, then relays the body: a body of
announced length in one piece, anything else (SSE) as it arrives with read1. No Flask, no
logging, no sessions, no checks, no hangup watcher. What Albicilla costs beyond this is what its
features cost; `bench/run proxy` reports every phase as a ratio to this. Never shipped: it lives
in bench/ and the package does not import it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter

READ_SIZE = 65536
# Request headers a proxy must not forward (hop-by-hop) or sets itself.
_NOT_FORWARDED = frozenset(
    {
        "HTTP_HOST",
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_TE",
        "HTTP_TRAILER",
        "HTTP_TRANSFER_ENCODING",
        "HTTP_UPGRADE",
        "HTTP_PROXY_AUTHORIZATION",
        "HTTP_PROXY_CONNECTION",
        "HTTP_EXPECT",
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
    }
)


class Floor:
    """One per worker, built on its first request: the upstream base and one pooled adapter."""

    def __init__(self, endpoint: str, pool_size: int) -> None:
        base = endpoint.strip().rstrip("/")
        self.base = base[:-3] if base.endswith("/v1") else base
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.timeout = (10.0, 600.0)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else None
        headers = {
            key[5:].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key not in _NOT_FORWARDED
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        url = self.base + environ["PATH_INFO"]
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        prepared = requests.PreparedRequest()
        prepared.prepare_method(environ["REQUEST_METHOD"])
        prepared.prepare_url(url, None)
        prepared.prepare_headers(headers)
        prepared.prepare_body(body, None)
        response = self.adapter.send(prepared, stream=True, timeout=self.timeout)
        raw = response.raw
        out = [(k, v) for k, v in raw.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{response.status_code} {response.reason}", out)
        streaming = raw.headers.get("Content-Type", "").startswith("text/event-stream")
        if raw.headers.get("Content-Length") and not streaming:
            try:
                return [raw.read(decode_content=False)]
            finally:
                response.close()
        return _relay(response)


def _relay(response: requests.Response) -> Iterator[bytes]:
    raw = response.raw
    try:
        while chunk := raw.read1(READ_SIZE, decode_content=False):
            yield chunk
    finally:
        response.close()


_floor: Floor | None = None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI entry point; the adapter is built in the worker, after gevent has patched it."""
    global _floor
    if _floor is None:
        _floor = Floor(
            os.environ["PROXY_UPSTREAM_ENDPOINT"],
            int(os.environ.get("PROXY_WORKER_CONNECTIONS", "1000")),
        )
    return _floor(environ, start_response)
