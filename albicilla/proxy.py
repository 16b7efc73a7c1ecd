"""The /v1 blueprint: thin views that parse, resolve the session, forward and relay."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from flask import Blueprint, Response, current_app, request
from werkzeug.wsgi import get_input_stream

from .errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProxyError,
    UnsupportedMediaType,
    UpstreamInvalidResponse,
    error_body,
    sse_error_event,
)
from .exchange import SHUTDOWN_REASON, Exchange
from .hangup import ClientGone, watch_for_hangup
from .sessions import resolve_session_id
from .streaming import StreamRebuilder
from .upstream import (
    UpstreamBroken,
    client_headers,
    decodable_encodings,
    forward_headers,
    iter_body,
    read_body,
)

bp = Blueprint("v1", __name__)
CHAT_PATH = "/v1/chat/completions"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# nginx's status for a client that closed the connection before the response began.
CLIENT_CLOSED = 499
WORKER_STOPPED = 503
# JSON bodies up to this size are sent whole, after their record is written.
SPLIT_BODY_BYTES = 65536
STREAM_HEADERS = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
_SHORT_BODY = "The request body ended before the length its Content-Length header announced."


def _state():
    return current_app.extensions["albicilla"]


@bp.post(CHAT_PATH)
def chat_completions() -> Response:
    arrived = time.time()
    state = _state()
    body = _read_limited_body(state.settings.max_body_bytes)
    payload = parse_json_object(body)
    session_id = resolve_session_id(payload, request.headers, state.settings.session_headers)
    exchange = Exchange(
        state.store,
        endpoint=CHAT_PATH,
        session_id=session_id,
        request=payload,
        stream=payload.get("stream") is True,
        arrived=arrived,
    )
    stop_watching = watch_for_hangup(request.environ)
    try:
        headers = decodable_encodings(forward_headers(request.headers.items()))
        upstream_response = state.upstream.send(
            "POST", CHAT_PATH, request.query_string, headers, body
        )
    except ProxyError as err:
        stop_watching()
        exchange.finish(status=err.status, response=err.body(), complete=False, error=err.message)
        raise
    except BaseException as exc:
        stop_watching()
        exchange.finish(
            status=_interrupted_status(exc), response=None, complete=False,
            error=_interruption(exc),
        )
        raise
    exchange.status = upstream_response.status_code
    if _is_event_stream(upstream_response):
        return _relay_stream(exchange, upstream_response, stop_watching)
    return _relay_json(exchange, upstream_response, stop_watching)


@bp.route("/v1/<path:subpath>", methods=ALL_METHODS)
def passthrough(subpath: str) -> Response:
    """Every other /v1 call goes upstream untouched, its body relayed as it arrives."""
    path = request.path
    if any(part in (".", "..") for part in path.split("/")):
        raise NotFound(f"Invalid URL ({request.method} {path})")
    state = _state()
    body = _RequestBody(get_input_stream(request.environ), request.content_length)
    upstream_response = state.upstream.send(
        request.method,
        path,
        request.query_string,
        forward_headers(request.headers.items()),
        body if request.content_length or _is_chunked() else None,
    )
    streaming = _is_event_stream(upstream_response)
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

    return Response(
        relay(), status=upstream_response.status_code, headers=headers, direct_passthrough=True
    )


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    except ValueError:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The body must be a JSON object."
        ) from None
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return payload


def _read_limited_body(limit: int) -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported: send the JSON body uncompressed."
        )
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")
    body = get_input_stream(request.environ).read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")
    if request.content_length is not None and len(body) < request.content_length:
        # The client hung up early: a prefix of a body is never forwarded as if it were whole.
        raise InvalidRequest(_SHORT_BODY)
    return body


def _relay_json(
    exchange: Exchange, upstream_response: requests.Response, stop_watching: Callable[[], None]
) -> Response:
    try:
        content = read_body(upstream_response)
    except UpstreamBroken as broken:
        stop_watching()
        err = broken.as_error()
        exchange.finish(status=err.status, response=err.body(), complete=False, error=err.message)
        raise err from None
    except BaseException as exc:
        stop_watching()
        exchange.finish(
            status=_interrupted_status(exc), response=None, complete=False,
            error=_interruption(exc),
        )
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

    return Response(deliver(), status=status, headers=headers, direct_passthrough=True)


def _relay_stream(
    exchange: Exchange, upstream_response: requests.Response, stop_watching: Callable[[], None]
) -> Response:
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
                    record(_stream_outcome(rebuilder))
                yield chunk
            rebuilder.close()
            error = _stream_outcome(rebuilder)
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

    return Response(
        relay(), status=upstream_response.status_code, headers=headers, direct_passthrough=True
    )


def _interruption(exc: BaseException) -> str:
    """Why an exchange was cut short by something other than the upstream."""
    if isinstance(exc, ClientGone):
        return "client disconnected"
    # GreenletExit/SystemExit/KeyboardInterrupt: the worker is being stopped under us.
    return SHUTDOWN_REASON


def _interrupted_status(exc: BaseException) -> int:
    """The status to record when the client was sent nothing at all."""
    return CLIENT_CLOSED if isinstance(exc, ClientGone) else WORKER_STOPPED


def _stream_outcome(rebuilder: StreamRebuilder) -> str | None:
    """None when the stream ended properly, else the reason it did not."""
    if rebuilder.error is not None:
        return "upstream error event"
    if rebuilder.done:
        return None
    choices = rebuilder.completion().get("choices") or []
    if choices and all(choice.get("finish_reason") for choice in choices):
        return None
    return "upstream stream ended without [DONE]"


def _is_event_stream(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def _is_chunked() -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


class _RequestBody:
    """A file-like body with a length, so requests sends Content-Length instead of chunking."""

    def __init__(self, stream: Any, length: int | None) -> None:
        self._stream = stream
        self._length = length or 0
        self._missing = length  # bytes the Content-Length still promises

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if self._missing is not None:
            self._missing -= len(data)
            if not data and self._missing > 0:
                # Raised through requests, which closes the upstream connection instead of
                # leaving the upstream waiting for bytes that will never come.
                raise InvalidRequest(_SHORT_BODY)
        return data
