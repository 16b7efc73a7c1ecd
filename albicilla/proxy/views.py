"""The /v1 blueprint: thin views that parse, resolve the session, forward and relay."""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.wsgi import get_input_stream

from ..apis import LOGGED_APIS, LoggedApi
from ..errors import InvalidRequest, NotFound, PayloadTooLarge, ProxyError, UnsupportedMediaType
from ..jsonio import loads_for_record, loads_native
from .exchange import Exchange
from .hangup import watch_for_hangup
from .relay import (
    Relayed,
    is_event_stream,
    record_interruption,
    relay_json,
    relay_passthrough,
    relay_stream,
)
from .sessions import resolve_session_id
from .upstream import decodable_encodings, forward_headers

bp = Blueprint("v1", __name__)
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_SHORT_BODY = "The request body ended before the length its Content-Length header announced."


def _state():
    return current_app.extensions["albicilla"]


def logged_exchange(api: LoggedApi, model: str | None = None) -> Response:
    """Forward one call of a logged API and relay its answer, writing exactly one record."""
    arrived = time.time()
    state = _state()
    body = _read_limited_body(state.settings.max_body_bytes)
    payload = parse_json_object(body)
    path, headers = request.path, request.headers
    session_id = resolve_session_id(
        payload,
        headers,
        state.settings.session_headers,
        api.session_candidates(payload, headers),
        api.api_key(headers, request.query_string),
    )
    rule = request.url_rule.rule if request.url_rule is not None else path
    exchange = Exchange(
        state.store,
        endpoint=_endpoint(rule),
        session_id=session_id,
        request=payload,
        stream=api.is_stream(path, payload),
        arrived=arrived,
        instance=state.settings.instance,
        redact=state.redactor.redact_value if state.redactor else None,
        model=model,
    )
    stop_watching = watch_for_hangup(request.environ)
    try:
        forwarded = decodable_encodings(forward_headers(headers.items()))
        upstream_response = state.upstream.send("POST", path, request.query_string, forwarded, body)
    except ProxyError as err:
        stop_watching()
        exchange.finish(
            status=err.status, response=api.error_body(err), complete=False, error=err.message
        )
        raise
    except BaseException as exc:
        stop_watching()
        record_interruption(exchange, exc)
        raise
    exchange.status = upstream_response.status_code
    if is_event_stream(upstream_response):
        relayed = relay_stream(exchange, upstream_response, stop_watching, api.new_stream())
    elif api.new_json_stream is not None and exchange.stream and _is_json_2xx(upstream_response):
        relayed = relay_stream(exchange, upstream_response, stop_watching, api.new_json_stream())
    else:
        relayed = relay_json(exchange, upstream_response, stop_watching, api.error_body)
    return _respond(relayed)


for _api in LOGGED_APIS:
    for _rule in _api.routes:
        bp.add_url_rule(
            _rule,
            endpoint=_rule,
            view_func=logged_exchange,
            methods=["POST"],
            defaults={"api": _api},
        )


@bp.route("/v1/<path:subpath>", methods=ALL_METHODS)
@bp.route("/v1beta/<path:subpath>", methods=ALL_METHODS)
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
    return _respond(relay_passthrough(upstream_response))


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        # The usual body, read from its bytes (msgspec checks the UTF-8 itself): the value the
        # full way below gives, without decoding a large body to text first.
        payload = loads_native(body)
    except (ValueError, RecursionError):
        payload = _parse_json_body(body)
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return payload


def _parse_json_body(body: bytes) -> Any:
    try:
        return loads_for_record(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.") from None
    except ValueError:
        raise InvalidRequest(
            "We could not parse the JSON body of your request. The body must be a JSON object."
        ) from None


@functools.lru_cache(maxsize=64)
def _endpoint(rule: str) -> str:
    """The record's `endpoint` for a route: its model as `{model}` (docs/design.md section 14)."""
    return rule.replace("<model>", "{model}")


def _read_limited_body(limit: int) -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported: send the JSON body uncompressed."
        )
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")
    # Read what the length announces, not `limit + 1`: a raw stream's read(n) allocates n bytes.
    body = _read_up_to(get_input_stream(request.environ), limit + 1 if length is None else length)
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than the {limit}-byte limit.")
    if length is not None and len(body) < length:
        # The client hung up early: a prefix of a body is never forwarded as if it were whole.
        raise InvalidRequest(_SHORT_BODY)
    return body


def _read_up_to(stream: Any, size: int) -> bytes:
    """`size` bytes, or fewer at the end of the body: a raw stream may return less per read."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _respond(relayed: Relayed) -> Response:
    return Response(
        relayed.body, status=relayed.status, headers=relayed.headers, direct_passthrough=True
    )


def _is_json_2xx(response: Any) -> bool:
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return response.status_code < 300 and content_type in ("application/json", "")


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
