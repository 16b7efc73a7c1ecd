"""A scriptable OpenAI-like upstream on a real socket, for end-to-end tests and benchmarks.

Every scenario answers in the shape of the API its path belongs to: chat completions,
`/v1/responses` (Response objects, Responses events) or `/v1/messages...` (Anthropic Messages,
Anthropic events, Anthropic error bodies); see `wire.py`.

Run it as `python -m tests.support.fake_upstream --port N`. Each request picks its behaviour with
the `X-Scenario` header (query-string syntax), e.g. `stream?chunks=50&delay=0.01&framing=close`:

  json                       a chat.completion (Content-Length)
  stream                     SSE chunks: chunks=N, delay=S, framing=chunked|close|length,
                             tools=K parallel tool calls, done=0 to omit [DONE]
  cut                        like stream, then the connection is dropped mid-body after=N chunks
  stall                      like stream, then silence for stall=S seconds after=N chunks
  status                     code=N with an OpenAI error body
  html                       code=N with an HTML page
  empty                      200 with an empty body
  sleep                      wait delay=S before answering (connect/read timeouts)
  reset                      a chat.completion whose connection is reset halfway through the body
  sse                        malformed streams: shape=invalid (unparsable events among valid
                             ones), split (every event sent in two packets, cut inside the `data:`
                             line and inside a UTF-8 character), truncated (a clean end after=N
                             events, without finish_reason or [DONE])
  watch                      like stream (first=S before the headers; mode=json for a
                             chat.completion instead), and notes in `/_events` under tag=T how far
                             it got before its client went away
  inband                     a stream of after=N events, then an in-band error of kind=K
                             (overloaded, flat, nested, failed: see `wire.in_band_error`)
  big                        a chat.completion with size=N bytes of content (Content-Length)
  redirect                   code=N (302) with `Location: to`

`GET /_requests` lists what was received (method, path, headers, body); `DELETE /_requests`
clears it. `GET /_events` lists what `watch` saw (tag, events sent, whether the client left).
Anything without a scenario gets `json`.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import socketserver
import threading
import time
from urllib.parse import parse_qsl

from . import wire
from .wire import stream_events

_received: list[dict] = []
_events: list[dict] = []
_lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        line = self.rfile.readline(65537)
        if not line or not line.strip():
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self._read_body(headers)
        path, _, query = target.partition("?")
        self.endpoint = wire.api_of(path)
        if path == "/_requests":
            with _lock:
                if method == "DELETE":
                    _received.clear()
                data = json.dumps(_received).encode()
            self._send(200, "application/json", data)
            return True
        if path == "/_events":
            with _lock:
                if method == "DELETE":
                    _events.clear()
                data = json.dumps(_events).encode()
            self._send(200, "application/json", data)
            return True
        with _lock:
            _received.append(
                {
                    "method": method,
                    "path": target,
                    "headers": headers,
                    "body": body.decode("utf-8", "replace"),
                }
            )
        scenario, _, params = headers.get("x-scenario", "json").partition("?")
        args = dict(parse_qsl(params))
        return getattr(self, "do_" + scenario, self.do_json)(args, body)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", ""):
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(headers.get("content-length", "0") or 0))

    def _send(self, status: int, ctype: str, data: bytes, extra: str = "") -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n"
        )
        self.wfile.write(head.encode() + data)
        self.wfile.flush()

    def do_json(self, args: dict, body: bytes) -> bool:
        try:
            model = json.loads(body).get("model", "fake-model")
        except (ValueError, AttributeError):
            model = "fake-model"
        answer = wire.whole_answer(self.endpoint, "Hello!", model)
        self._send(200, "application/json", json.dumps(answer).encode())
        return True

    def do_sleep(self, args: dict, body: bytes) -> bool:
        time.sleep(float(args.get("delay", "5")))
        return self.do_json(args, body)

    def do_status(self, args: dict, body: bytes) -> bool:
        status = int(args.get("code", "500"))
        err = wire.error_answer(self.endpoint, status)
        self._send(status, "application/json", json.dumps(err).encode())
        return True

    def do_html(self, args: dict, body: bytes) -> bool:
        self._send(int(args.get("code", "502")), "text/html", b"<html><h1>502 Bad Gateway</h1>")
        return True

    def do_empty(self, args: dict, body: bytes) -> bool:
        self._send(200, "application/json", b"")
        return True

    def do_stream(self, args: dict, body: bytes) -> bool:
        chunks = int(args.get("chunks", "5"))
        delay = float(args.get("delay", "0"))
        framing = args.get("framing", "chunked")
        events = stream_events(
            chunks, int(args.get("tools", "0")), args.get("done", "1") == "1", self.endpoint
        )
        cut_after = int(args["after"]) if "after" in args else None
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        if framing == "chunked":
            head += "Transfer-Encoding: chunked\r\n"
        elif framing == "length":
            head += f"Content-Length: {sum(map(len, events))}\r\n"
        else:
            head += "Connection: close\r\n"
        self.wfile.write((head + "\r\n").encode())
        self.wfile.flush()
        for i, ev in enumerate(events):
            if cut_after is not None and i == cut_after:
                return self._interrupt(args)
            if delay and i:
                time.sleep(delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev) if framing == "chunked" else ev)
            self.wfile.flush()
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return True
        return framing == "length"

    do_cut = do_stream
    do_stall = do_stream

    def _interrupt(self, args: dict) -> bool:
        if "stall" in args:
            time.sleep(float(args["stall"]))
        # An abortive close (RST) after a partial body.
        linger_zero = b"\x01\x00\x00\x00\x00\x00\x00\x00"
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)
        return False

    def do_reset(self, args: dict, body: bytes) -> bool:
        data = json.dumps(wire.whole_answer(self.endpoint, "reset " * 2000)).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + data[: len(data) // 2])
        self.wfile.flush()
        time.sleep(0.1)
        return self._interrupt(args)

    def do_sse(self, args: dict, body: bytes) -> bool:
        shape = args.get("shape", "invalid")
        chunks = int(args.get("chunks", "5"))
        events = stream_events(chunks, endpoint=self.endpoint)
        if shape == "invalid":
            events = [
                events[0],
                b"data: {not json\n\n",
                b"data: [1, 2]\n\n",
                b"data: \xff\xfe\n\n",
                *events[1:],
            ]
        elif shape == "truncated":
            events = events[: int(args.get("after", "3"))]
        elif shape == "split":
            # "tok" events carry a multi-byte character, and are cut inside it and before CRLF.
            events = [
                ev.replace(b'"tok', '"t\u00f6k'.encode()).replace(b"\n", b"\r\n") for ev in events
            ]
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for ev in events:
            pieces = [ev]
            if shape == "split":
                cut = ev.find(b"\xc3\xb6") + 1 if b"\xc3\xb6" in ev else len(ev) // 2
                pieces = [ev[:cut], ev[cut:-3], ev[-3:]]
            for piece in pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                if shape == "split":
                    time.sleep(0.02)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return True

    def do_inband(self, args: dict, body: bytes) -> bool:
        events = stream_events(5, endpoint=self.endpoint)[: int(args.get("after", "4"))]
        data = b"".join(events) + wire.in_band_error(args.get("kind", "overloaded"))
        self._send(200, "text/event-stream", data)
        return True

    def do_watch(self, args: dict, body: bytes) -> bool:
        tag = args.get("tag", "")
        events = stream_events(int(args.get("chunks", "100")), endpoint=self.endpoint)
        delay = float(args.get("delay", "0.1"))
        sent = 0
        if self._client_left_within(float(args.get("first", "0"))):
            with _lock:
                _events.append({"tag": tag, "sent": 0, "of": len(events), "client_gone": True})
            return False
        if args.get("mode") == "json":
            answer = wire.whole_answer(self.endpoint, "watched")
            self._send(200, "application/json", json.dumps(answer).encode())
            with _lock:
                _events.append({"tag": tag, "sent": 1, "of": 1, "client_gone": False})
            return True
        try:
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            self.wfile.flush()
            for ev in events:
                if sent:
                    time.sleep(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                self.wfile.flush()
                sent += 1
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            with _lock:
                _events.append({"tag": tag, "sent": sent, "of": len(events), "client_gone": True})
            return False
        with _lock:
            _events.append({"tag": tag, "sent": sent, "of": len(events), "client_gone": False})
        return True

    def _client_left_within(self, seconds: float) -> bool:
        """Wait, watching the connection: True as soon as the client closes it."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return True
                except OSError:
                    return True
                time.sleep(min(left, 0.05))  # pipelined bytes, not a close
        return False

    def do_big(self, args: dict, body: bytes) -> bool:
        size = int(args.get("size", str(8 * 1024 * 1024)))
        answer = wire.whole_answer(self.endpoint, "x" * size)
        self._send(200, "application/json", json.dumps(answer).encode())
        return True

    def do_redirect(self, args: dict, body: bytes) -> bool:
        location = args.get("to", "http://127.0.0.1:9/")
        self._send(
            int(args.get("code", "302")), "text/plain", b"moved", f"Location: {location}\r\n"
        )
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with Server((args.host, args.port), Handler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
