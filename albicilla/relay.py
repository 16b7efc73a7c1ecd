"""Relays: an upstream response becomes the client's status, headers and body iterator.

Each relay writes its exchange's record on the way, before the client's last byte, and closes
the upstream response however the iteration ends (done, client gone, worker stopping).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import NamedTuple

import requests

from .errors import UpstreamInvalidResponse, error_body, sse_error_event
from .exchange import SHUTDOWN_REASON, Exchange
from .hangup import ClientGone
from .streaming import StreamRebuilder
from .upstream import UpstreamBroken, client_headers, iter_body, read_body

# nginx's status for a client that closed the connection before the response began.
CLIENT_CLOSED = 499
WORKER_STOPPED = 503
# JSON bodies up to this size are sent whole, after their record is written.
SPLIT_BODY_BYTES = 65536
STREAM_HEADERS = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]


class Relayed(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: Iterator[bytes]


def relay_json(
    exchange: Exchange, upstream_response: requests.Response, stop_watching: Callable[[], None]
) -> Relayed:
    """Read the whole answer, then hand it to the client; the record is written on the way."""
    try:
        content = read_body(upstream_response)
    except UpstreamBroken as broken:
        stop_watching()
        err = broken.as_error()
        exchange.finish(status=err.status, response=err.body(), complete=False, error=err.message)
        raise err from None
    except BaseException as exc:
        stop_watching()
        record_interruption(exchange, exc)
        raise
    finally:
        upstream_response.close()
    status = upstream_response.status_code
    try:
        parsed = json.loads(content)
    except ValueError:
        parsed = None
    headers = client_headers(upstream_response.raw.headers.items(), decoded=True)
    if parsed is None:
        if status < 400:
            # A 2xx the SDK cannot parse is worse than a clear gateway error.
            stop_watching()
            err = UpstreamInvalidResponse(
                f"The upstream answered HTTP {status} with a body that is not JSON."
            )
            exchange.finish(
                status=err.status, response=err.body(), complete=False, error=err.message
            )
            raise err
        text = content.decode("utf-8", "replace")
        parsed = error_body(
            f"upstream HTTP {status}: {text[:1000]}", "upstream_error", code=f"upstream_{status}"
        )
        content = json.dumps(parsed).encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(content))))

    def deliver() -> Iterator[bytes]:
        # The record is written before the client has the last byte, so a client holding the
        # whole body finds its line on disk. A large body is sent in two parts, so a client
        # leaving while it is sent still shows up as a disconnect; a small one goes in one send.
        try:
            if len(content) > SPLIT_BODY_BYTES:
                yield content[:-1]
                content_tail = content[-1:]
            else:
                content_tail = content
            stop_watching()
            exchange.finish(response=parsed, complete=True, error=None)
            yield content_tail
        finally:
            stop_watching()
            exchange.finish(response=parsed, complete=False, error="client disconnected")

    return Relayed(status, headers, deliver())


def relay_stream(
    exchange: Exchange, upstream_response: requests.Response, stop_watching: Callable[[], None]
) -> Relayed:
    """Relay SSE bytes as they arrive, rebuilding the completion on the side for the record."""
    rebuilder = StreamRebuilder()
    exchange.partial_response = rebuilder.completion
    headers = client_headers(upstream_response.raw.headers.items(), decoded=True)
    headers += STREAM_HEADERS

    def record(error: str | None) -> None:
        stop_watching()
        exchange.finish(response=rebuilder.completion(), complete=error is None, error=error)

    def relay() -> Iterator[bytes]:
        # Records are written before the client's last byte (the [DONE] event or the error
        # event): a client that has seen the end of its stream finds its line on disk.
        error: str | None = "client disconnected"
        try:
            for chunk in iter_body(upstream_response, decode=True):
                rebuilder.feed(chunk)
                if rebuilder.done and not exchange.finished:
                    record(stream_outcome(rebuilder))
                yield chunk
            rebuilder.close()
            error = stream_outcome(rebuilder)
            record(error)
            if error is not None and rebuilder.error is None:
                yield sse_error_event(error)
        except UpstreamBroken as broken:
            rebuilder.close()
            if not rebuilder.done:  # a break after [DONE] loses nothing
                error = broken.reason
                record(error)
                yield sse_error_event(broken.reason)
        except GeneratorExit:
            error = "client disconnected"
            raise
        except BaseException as exc:
            error = _interruption(exc)
            raise
        finally:
            upstream_response.close()
            record(error)

    return Relayed(upstream_response.status_code, headers, relay())


def relay_passthrough(upstream_response: requests.Response) -> Relayed:
    """Relay any other /v1 answer untouched: raw bytes, encoding and length as sent."""
    streaming = is_event_stream(upstream_response)
    headers = client_headers(upstream_response.raw.headers.items(), decoded=False, keep_length=True)
    if streaming:
        headers += STREAM_HEADERS

    def relay() -> Iterator[bytes]:
        try:
            yield from iter_body(upstream_response, decode=False)
        except UpstreamBroken:
            if streaming:
                yield sse_error_event("upstream connection lost before the stream ended")
        finally:
            upstream_response.close()

    return Relayed(upstream_response.status_code, headers, relay())


def _interruption(exc: BaseException) -> str:
    """Why an exchange was cut short by something other than the upstream."""
    if isinstance(exc, ClientGone):
        return "client disconnected"
    # GreenletExit/SystemExit/KeyboardInterrupt: the worker is being stopped under us.
    return SHUTDOWN_REASON


def record_interruption(exchange: Exchange, exc: BaseException) -> None:
    """Record an exchange cut short before the client was sent anything."""
    status = CLIENT_CLOSED if isinstance(exc, ClientGone) else WORKER_STOPPED
    exchange.finish(status=status, response=None, complete=False, error=_interruption(exc))


def stream_outcome(rebuilder: StreamRebuilder) -> str | None:
    """None when the stream ended properly, else the reason it did not."""
    if rebuilder.error is not None:
        return "upstream error event"
    if rebuilder.done:
        return None
    choices = rebuilder.completion().get("choices") or []
    if choices and all(choice.get("finish_reason") for choice in choices):
        return None
    return "upstream stream ended without [DONE]"


def is_event_stream(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"
