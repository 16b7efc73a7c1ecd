"""Gemini (`generateContent`, `streamGenerateContent`): the response rebuilt from either kind of
stream, its completeness, the proxy's frames and errors in Google's shape; docs/design.md 14."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from ..errors import ProxyError
from .api_keys import header_key
from .gemini_stream import ResponseMerger, read_usual_chunk
from .json_array import JsonArraySplitter
from .stream import SSEStream, parse_data

# Flask rules: the model is a path segment ending in the method name.
ROUTES = tuple(
    f"/{version}/models/<model>:{method}"
    for version in ("v1beta", "v1")
    for method in ("generateContent", "streamGenerateContent")
)
STREAM_METHOD = ":streamGenerateContent"
# google.rpc status names for the HTTP statuses the proxy answers with itself.
_STATUSES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    499: "CANCELLED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MAX_ERROR = 200  # characters of the record's `error` taken from an upstream error object
NO_FINISH = "upstream stream ended without finishReason"


def owns(path: str) -> bool:
    """Every `/v1beta/...` path, and `/v1/models/...:method` (OpenAI's `/v1/models` stays)."""
    return path.startswith("/v1beta/") or (path.startswith("/v1/models/") and ":" in path)


def is_stream(path: str, body: Mapping[str, Any]) -> bool:
    return path.endswith(STREAM_METHOD)


class _Chunks:
    """What both kinds of stream share: chunks merged, the first error object kept."""

    def __init__(self, note: Any) -> None:
        self.merger = ResponseMerger(note)
        self.error: Any = None
        self.outcome_error: str | None = None
        self.note = note

    def add(self, obj: Any, raw: str) -> None:
        if isinstance(obj, dict) and "error" in obj:
            if self.error is not None:
                self.note("another error object")
                return
            self.error = obj["error"]
            self.outcome_error = _error_reason(obj["error"])
        elif isinstance(obj, dict):
            self.merger.add(obj)
        else:
            self.note(f"unparsable chunk: {raw[:60]!r}")

    def outcome(self, ended: str | None) -> str | None:
        if self.outcome_error is not None:
            return self.outcome_error
        if ended is not None:
            return ended
        return None if _finished(self.merger) else NO_FINISH


class GeminiStream(SSEStream):
    """`?alt=sse`: one GenerateContentResponse per event; the body's end ends the stream."""

    ends_with_done = False

    def __init__(self) -> None:
        super().__init__()
        self._chunks = _Chunks(self.note)
        self._tail = b""

    @property
    def finished(self) -> bool:
        return False  # no terminal event: the record is written when the body ends

    @property
    def error(self) -> Any:
        return self._chunks.error

    def on_events(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        """The usual chunk (see UsualChunk) goes straight to the merger; every other event
        takes `on_event`, which reads it the full way. Event names are not read."""
        add_usual = self._chunks.merger.add_usual
        for data in datas:
            try:
                usual = add_usual(read_usual_chunk(data))
            except (ValueError, RecursionError):  # not the usual chunk: read in full below
                usual = False
            if not usual:
                self.on_event("", data.decode("utf-8", "replace"))

    def on_event(self, event: str, data: str) -> None:
        try:
            obj = parse_data(data)
        except (ValueError, RecursionError):
            obj = None
        self._chunks.add(obj, data)

    def response(self) -> dict[str, Any] | None:
        return self._chunks.merger.response()

    def outcome(self) -> str | None:
        return self._chunks.outcome(None)

    def close(self) -> None:
        if not self._sse.closed:
            self._tail = self._sse.unfinished_tail()
        super().close()

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        tail = self._tail if self._sse.closed else self._sse.unfinished_tail()
        return tail + b"data: " + _error_json(message, timeout) + b"\n\n"


class GeminiArrayStream:
    """No `alt`: the stream is one JSON array of GenerateContentResponse objects, sent piece by
    piece; its closing `]` ends it."""

    def __init__(self) -> None:
        self._notes: list[str] = []
        self._chunks = _Chunks(self.note)
        self._split = JsonArraySplitter(self._on_element, self.note)
        self._closed = False

    def note(self, note: str) -> None:
        if len(self._notes) < 20:
            self._notes.append(note)

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    @property
    def finished(self) -> bool:
        return self._split.done

    @property
    def error(self) -> Any:
        return self._chunks.error

    def feed(self, chunk: bytes) -> None:
        self._split.feed(chunk)

    def close(self) -> None:
        self._closed = True

    def _on_element(self, raw: bytes) -> None:
        try:
            if self._chunks.merger.add_usual(read_usual_chunk(raw)):
                return
        except (ValueError, RecursionError):  # not the usual chunk (see UsualChunk): in full
            pass
        text = raw.decode("utf-8", "replace")
        try:
            obj = parse_data(text)
        except (ValueError, RecursionError):
            obj = None
        self._chunks.add(obj, text)

    def response(self) -> dict[str, Any] | None:
        return self._chunks.merger.response()

    def outcome(self) -> str | None:
        ended = None if self._split.done else "upstream stream ended before the array closed"
        return self._chunks.outcome(ended)

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        """An error element and the closing `]`, when the client is between elements; inside
        one nothing we add can be read, so only the body's end tells it."""
        if self._split.done or self._split.in_element:
            return b""
        lead = b"," if self._chunks.merger.chunks or self._chunks.error is not None else b""
        if not self._split.started:
            lead = b"["
        return lead + _error_json(message, timeout) + b"]"


def session_candidates(body: Mapping[str, Any], headers: Mapping[str, str]) -> Iterable[str]:
    """None: Gemini CLI sends no session id (its installation id names no session)."""
    return ()


def api_key(headers: Mapping[str, str], query: bytes) -> str:
    """The key a Gemini client authenticates with: `x-goog-api-key`, `?key=`, else a bearer."""
    key = headers.get("x-goog-api-key", "").strip()
    if key:
        return key
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=False):
        if name == "key" and value.strip():
            return value.strip()
    return header_key(headers)


def error_body(err: ProxyError) -> dict[str, Any]:
    """Google's error shape, which the google-genai SDKs read into their APIError."""
    return {
        "error": {
            "code": err.status,
            "message": err.message,
            "status": _STATUSES.get(err.status, "INTERNAL"),
        }
    }


def _error_json(message: str, timeout: bool) -> bytes:
    code = 504 if timeout else 503
    body = {"error": {"code": code, "message": message, "status": _STATUSES[code]}}
    return json.dumps(body, separators=(",", ":")).encode()


def _error_reason(error: Any) -> str:
    detail = ""
    if isinstance(error, dict):
        detail = ": ".join(str(error[k]) for k in ("status", "message") if error.get(k))
    elif error is not None:
        detail = str(error)
    return ("upstream error object: " + detail if detail else "upstream error object")[:_MAX_ERROR]


def _finished(merger: ResponseMerger) -> bool:
    """Every candidate has a finishReason; a blocked prompt (no candidates) is an answer too."""
    candidates = merger.candidates()
    if candidates:
        return all(c.get("finishReason") for c in candidates.values())
    response = merger.response() or {}
    feedback = response.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))
