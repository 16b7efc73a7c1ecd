"""A small exception tree for the errors the proxy makes itself, rendered in OpenAI's JSON shape."""

from __future__ import annotations

import json
from typing import Any


class ProxyError(Exception):
    """An error the proxy answers itself, with an HTTP status and an OpenAI-shaped body."""

    status = 500
    type = "proxy_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, param=self.param, code=self.code)


class InvalidRequest(ProxyError):
    status = 400
    type = "invalid_request_error"


class NotFound(ProxyError):
    status = 404
    type = "invalid_request_error"
    code = "unknown_url"


class PayloadTooLarge(ProxyError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaType(ProxyError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_content_encoding"


class UpstreamUnavailable(ProxyError):
    status = 502
    type = "upstream_error"
    code = "upstream_unavailable"


class UpstreamInvalidResponse(ProxyError):
    status = 502
    type = "upstream_error"
    code = "upstream_invalid_response"


class UpstreamErrorPage(ProxyError):
    """An upstream error status whose body is not JSON (an HTML gateway page), kept as text."""

    type = "upstream_error"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, code=f"upstream_{status}")
        self.status = status


class UpstreamTimeout(ProxyError):
    status = 504
    type = "upstream_error"
    code = "upstream_timeout"


def error_body(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def sse_error_event(message: str, type_: str = "upstream_error", code: str | None = None) -> bytes:
    """The event a client sees when the upstream breaks off mid-stream."""
    payload = json.dumps(error_body(message, type_, code=code), separators=(",", ":"))
    return b"data: " + payload.encode() + b"\n\n"
