"""What the scripted model servers share: a threaded HTTP server that logs what it was sent,
served in a background thread or as a process of its own."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar


class FakeServer(ThreadingHTTPServer):
    """A loopback server whose handler appends what each request carried to `log`."""

    daemon_threads = True
    handler: type[BaseHTTPRequestHandler]

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), self.handler)
        self.log: list[Any] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


Server = TypeVar("Server", bound=FakeServer)


@contextmanager
def serving_in_thread(server_class: type[Server], port: int = 0) -> Iterator[Server]:
    """`server_class` in a background thread of this process."""
    server = server_class(port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def serve_main(server_class: type[FakeServer], description: str, argv: list[str] | None) -> int:
    """`python -m ...`: serve on --port (0: any), printing the port first."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with server_class(args.port) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()
    return 0
