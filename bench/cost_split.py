"""Where Albicilla's CPU per request goes beyond the floor, by adding one layer at a time.

    uv run python bench/cost_split.py [--api chat] [--requests 300] [--rounds 25]

In one gevent-patched process, in front of one nginx, five WSGI callables answer the same
non-streaming POST: the floor (bench/floor_proxy.py); the floor inside a Flask view; the floor
plus what a record needs (parse both bodies, build, serialize and append the record through
`Exchange`); both; and Albicilla's real app. Each is called directly (no gunicorn, no client
sockets), the order rotated every round, and the CPU time of this process per request is
reported as the minimum over rounds: other load on the machine only ever adds to it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gevent import monkey

App = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


def build_apps(upstream: str, log_root: Path, path: str) -> dict[str, App]:
    """The five layers; imported here, after gevent has patched the process."""
    import floor_proxy
    from flask import Flask, Response, request

    from albicilla import create_app
    from albicilla.config import Settings
    from albicilla.logs.store import LogStore
    from albicilla.proxy.exchange import Exchange

    floor = floor_proxy.Floor(upstream, 1000)
    store = LogStore(log_root / "layers")

    def logged_floor(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body)
        exchange = Exchange(
            store, endpoint=path, session_id="bench", request=json.loads(body), stream=False
        )
        content = b"".join(floor(environ, start_response))
        exchange.status = 200
        exchange.finish(response=json.loads(content), complete=True, error=None)
        return [content]

    def in_flask(inner: App) -> Flask:
        app = Flask(f"layer-{id(inner)}")

        @app.post(path)
        def view() -> Response:
            head: dict[str, Any] = {}

            def start_response(status: str, headers: list, exc_info: Any = None) -> None:
                head.update(status=status, headers=headers)

            body = inner(request.environ, start_response)
            return Response(
                body, status=head["status"], headers=head["headers"], direct_passthrough=True
            )

        return app

    os.environ["PROXY_UPSTREAM_ENDPOINT"] = upstream
    os.environ["PROXY_LOG_ROOT"] = str(log_root / "albicilla")
    return {
        "floor": floor,
        "Flask + floor": in_flask(floor),
        "floor + record": logged_floor,
        "Flask + floor + record": in_flask(logged_floor),
        "Albicilla": create_app(Settings.load()),
    }


def environ_for(path: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "9000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:9000",
        "HTTP_AUTHORIZATION": "Bearer sk-bench",
        "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT": "*/*",
        "REMOTE_ADDR": "127.0.0.1",
    }


def call(app: App, path: str, body: bytes) -> None:
    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: {status}")

    result = app(environ_for(path, body), start_response)
    try:
        for _ in result:
            pass
    finally:
        if hasattr(result, "close"):
            result.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="chat", help="chat, responses, messages or gemini")
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    monkey.patch_all()
    import api_bodies
    import proxy_servers as servers

    path = api_bodies.url_path(args.api, "bench-model")
    body = api_bodies.request_body(args.api, "bench-model")
    with (
        tempfile.TemporaryDirectory(prefix="albench-split-") as tmp,
        servers.nginx(Path(tmp)) as nginx,
    ):
        apps = build_apps(nginx.url + "/v1", Path(tmp), path)
        names = list(apps)
        for name in names:  # warm-up: pools filled, code paths hot
            for _ in range(100):
                call(apps[name], path, body)
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.process_time()
                for _ in range(args.requests):
                    call(apps[name], path, body)
                cpu[name].append((time.process_time() - start) / args.requests * 1e6)
    floor = min(cpu["floor"])
    print(
        f"CPU per request, POST {path}, minimum over {args.rounds} rounds of "
        f"{args.requests} (load average {os.getloadavg()[0]:.1f}):"
    )
    for name in names:
        best = min(cpu[name])
        print(
            f"  {name:24s} {best:6.0f} us  {best - floor:+5.0f} us over the floor  "
            f"{best / floor:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
