"""Session ids in URLs, routed on the request's raw path (docs/design.md section 12).

A session id may hold any character, `/` included, and may end like a page's tail
(`x/record/3`, `a/dataset`). URLs carry the id as one path segment, every `/` written `%2F`; but
WSGI servers decode `%2F` in PATH_INFO before routing, which would make `/session/a%2Fdataset`
the dataset page of session `a`. So before routing, the id's segment is taken from the raw
request URI (gunicorn's `RAW_URI`, werkzeug's `REQUEST_URI`) and put back into PATH_INFO
percent-encoded; the `session` converter decodes it. Without a raw URI, the longest tail a page
has is taken as the tail (the ambiguity remains only there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

from werkzeug.routing import BaseConverter

PREFIXES = ("/session/", "/api/sessions/")
_TAIL = re.compile(r"(.+?)(/record/[^/]*|/dataset|/download|/version)?\Z", re.S)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SessionIdConverter(BaseConverter):
    """A session id: one percent-encoded path segment (see `SessionIds`)."""

    def to_python(self, value: str) -> str:
        return unquote(value, errors="surrogateescape")

    def to_url(self, value: str) -> str:
        encoded = quote(value, safe="", errors="surrogateescape")
        if set(value) <= {"."}:  # a browser would merge `.` and `..` segments into the path
            encoded = encoded.replace(".", "%2E")
        return encoded


class SessionIds:
    """WSGI middleware: PATH_INFO's session id segment percent-encoded from the raw URI."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        for prefix in PREFIXES:
            if path.startswith(prefix):
                encoded = encoded_path(environ, prefix)
                if encoded is not None:
                    environ["PATH_INFO"] = encoded
                break
        return self.app(environ, start_response)


def encoded_path(environ: dict[str, Any], prefix: str) -> str | None:
    """PATH_INFO (a WSGI string: bytes as latin-1) with the id after `prefix` percent-encoded."""
    raw = _raw_path(environ)
    if raw is not None and raw.startswith(prefix):
        segment, slash, tail = raw[len(prefix) :].partition("/")
        if not segment:
            return None
        ident = unquote_to_bytes(segment.encode("latin-1", "replace"))
        rest = unquote_to_bytes((slash + tail).encode("latin-1", "replace")).decode("latin-1")
        return prefix + quote(ident, safe="") + rest
    found = _TAIL.match(environ["PATH_INFO"][len(prefix) :])
    if found is None:
        return None
    ident = found[1].encode("latin-1", "replace")
    return prefix + quote(ident, safe="") + (found[2] or "")


def _raw_path(environ: dict[str, Any]) -> str | None:
    """The request target's path as sent (still percent-encoded), below SCRIPT_NAME; or None."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return None
    raw = raw.split("?", 1)[0].split("#", 1)[0]
    if not raw.startswith("/"):  # absolute-form: http://host/path
        scheme, sep, rest = raw.partition("://")
        if not sep:
            return None
        raw = "/" + rest.partition("/")[2]
    script = quote(environ.get("SCRIPT_NAME", "").encode("latin-1", "replace"), safe="/")
    if script and raw.startswith(script):
        raw = raw[len(script) :]
    return raw
