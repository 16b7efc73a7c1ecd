"""Relays: an upstream response becomes the client's status, headers and body iterator.

Each relay writes its exchange's record on the way, before the client's last byte, and closes
the upstream response however the iteration ends (done, client gone, worker stopping).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import requests

from ..apis import ApiStream
from ..errors import ProxyError, UpstreamErrorPage, UpstreamInvalidResponse
from ..jsonio import loads_for_record
from .exchange import SHUTDOWN_REASON, Exchange
from .hangup import ClientGone, WorkerStopping, stopper
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
    exchange: Exchange,
    upstream_response: requests.Response,
    stop_watching: Callable[[], None],
    shape_error: Callable[[ProxyError], dict[str, Any]],
) -> Relayed:
    """Read the whole answer, then hand it to the client; the record is written on the way.

    `shape_error` renders the errors the proxy makes itself in the API's own JSON shape.
    """
    try:
        content = read_body(upstream_response)
    except UpstreamBroken as broken:
        stop_watching()
        err = broken.as_error()
        exchange.finish(
            status=err.status, response=shape_error(err), complete=False, error=err.message
        )
        raise err from None
    except BaseException as exc:
        stop_watching()
        record_interruption(exchange, exc)
        raise
    finally:
        upstream_response.close()
    status = upstream_response.status_code
    try:
        parsed = loads_for_record(content)
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
                status=err.status, response=shape_error(err), complete=False, error=err.message
            )
            raise err
        text = content.decode("utf-8", "replace")
        parsed = shape_error(UpstreamErrorPage(f"upstream HTTP {status}: {text[:1000]}", status))
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
    exchange: Exchange,
    upstream_response: requests.Response,
    stop_watching: Callable[[], None],
    stream: ApiStream,
) -> Relayed:
    """Relay SSE bytes as they arrive, accumulating the API's response on the side for the record.

    What the upstream sent reaches the client unchanged. When the upstream's connection breaks,
    the client's is broken the same way; only a stream the proxy ends itself (its read timeout,
    the worker stopping) gets an error frame, in the API's own shape.
    """
    exchange.partial_response = stream.response
    exchange.interrupt = stopper()
    headers = client_headers(upstream_response.raw.headers.items(), decoded=True)
    headers += STREAM_HEADERS

    def record(error: str | None) -> None:
        # The response is rebuilt (for Responses: deep-copied) only for the one record written.
        stop_watching()
        if not exchange.finished:
            exchange.finish(response=stream.response(), complete=error is None, error=error)

    def relay() -> Iterator[bytes]:
        # Records are written before the client's last byte (the chunk with the terminal event):
        # a client that has seen the end of its stream finds its line on disk.
        error: str | None = "client disconnected"
        try:
            for chunk in iter_body(upstream_response, decode=True):
                stream.feed(chunk)
                if stream.finished and not exchange.finished:
                    error = stream.outcome()
                    record(error)
                yield chunk
            stream.close()
            if not exchange.finished:
                error = stream.outcome()
                record(error)
        except UpstreamBroken as broken:
            stream.close()
            if stream.finished:  # a break after the terminal event loses nothing
                if not exchange.finished:
                    error = stream.outcome()
                return
            error = broken.reason
            record(error)
            if not broken.timeout:
                raise UpstreamConnectionLost(broken.reason) from None
            yield stream.end_frame(broken.reason, timeout=True)
        except GeneratorExit:
            error = "client disconnected"
            raise
        except WorkerStopping:
            error = SHUTDOWN_REASON
            if not exchange.finished:
                record(error)  # then the client is told, in its API's shape, and the body ends
                yield stream.end_frame("the proxy is shutting down", timeout=False)
        except BaseException as exc:
            error = _interruption(exc)
            raise
        finally:
            upstream_response.close()
            record(error)

    return Relayed(upstream_response.status_code, headers, relay())


def relay_passthrough(upstream_response: requests.Response) -> Relayed:
    """Relay any other /v1 answer untouched: raw bytes, encoding and length as sent."""
    headers = client_headers(upstream_response.raw.headers.items(), decoded=False, keep_length=True)
    if is_event_stream(upstream_response):
        headers += STREAM_HEADERS

    def relay() -> Iterator[bytes]:
        try:
            yield from iter_body(upstream_response, decode=False)
        except UpstreamBroken as broken:
            raise UpstreamConnectionLost(broken.reason) from None
        finally:
            upstream_response.close()

    return Relayed(upstream_response.status_code, headers, relay())


class UpstreamConnectionLost(ConnectionResetError):
    """Raised from a body being relayed to break the client's connection as the upstream's broke.

    A ConnectionResetError, so gunicorn closes the connection without ending the chunked body
    and logs it at debug level only: the client's SDK sees the same broken read it would have
    seen without the proxy (the openai SDK raises APIConnectionError, which its retries key on).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.ECONNRESET, reason)


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


def is_event_stream(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"
