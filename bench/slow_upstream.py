"""An asyncio upstream for the four logged APIs that holds thousands of slow streams at once.

    python bench/slow_upstream.py --port 0 --tokens 200 --interval 0.1 --first-delay 0

`POST .../chat/completions`, `.../responses` or `.../messages` with `"stream": true` in the body,
or `.../models/M:streamGenerateContent` (Gemini), answers an SSE stream (chunked) in that API's
shape (api_bodies.py): the opening events (if the API has any) at once,
then `--tokens` text deltas (`tok0 `, `tok1 `, ...), the first after `--first-delay` seconds and
the others every `--interval` seconds on a fixed schedule (so 1,000 streams do not drift), then
the closing events (if any). Without a stream it answers that API's fixed JSON body. `GET /health`
answers 200. Connections are kept alive. The port it listens on is printed on the first line
of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time

import api_bodies

MAX_HEAD = 65536


class SlowUpstream:
    def __init__(self, tokens: int, interval: float, first_delay: float) -> None:
        self.tokens = tokens
        self.interval = interval
        self.first_delay = first_delay
        self.completions = {name: api.completion() for name, api in api_bodies.API.items()}
        self.active = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target = request_line.split(" ", 2)[:2]
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        keep_alive = headers.get("connection", "").lower() != "close"
        if method == "GET" and target.startswith("/health"):
            await self._send(writer, b"application/json", b'{"status":"ok"}')
            return keep_alive
        stream = api_bodies.asks_stream(target, body)
        api = api_bodies.for_path(target)
        if stream:
            await self._stream(writer, api)
        else:
            await self._send(writer, b"application/json", self.completions[api.name])
        return keep_alive

    async def _send(self, writer: asyncio.StreamWriter, ctype: bytes, data: bytes) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (ctype, len(data), data)
        )
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, api: type) -> None:
        def chunk(data: bytes) -> bytes:
            return b"%x\r\n%s\r\n" % (len(data), data)

        loop = asyncio.get_running_loop()
        start = loop.time()
        self.active += 1
        try:
            # An empty write would be the chunked body's end: an API without opening or closing
            # events (Gemini) sends none.
            opening, closing = api.opening(), api.closing(self.tokens)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (chunk(opening) if opening else b"")
            )
            await writer.drain()
            for i in range(self.tokens):
                due = start + self.first_delay + i * self.interval
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(chunk(api.token(i, i == self.tokens - 1)))
                await writer.drain()
            writer.write((chunk(closing) if closing else b"") + b"0\r\n\r\n")
            await writer.drain()
        finally:
            self.active -= 1


async def serve(args: argparse.Namespace) -> None:
    upstream = SlowUpstream(args.tokens, args.interval, args.first_delay)
    server = await asyncio.start_server(
        upstream.handle, args.host, args.port, backlog=4096, limit=MAX_HEAD
    )
    sock = server.sockets[0]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print(sock.getsockname()[1], flush=True)
    deadline = time.monotonic() + args.max_seconds
    async with server:
        # Bounded: the server stops by itself after --max-seconds even if nobody stops it.
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=200, help="content chunks per stream")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between tokens")
    parser.add_argument(
        "--first-delay",
        type=float,
        default=0.0,
        help="seconds from the response head to the first token",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop by itself after this long"
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
