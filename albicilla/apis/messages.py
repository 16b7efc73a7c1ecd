"""/v1/messages: the Anthropic Message rebuilt from its stream, its completeness and its frames."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from ..errors import ProxyError
from ..jsonio import Struct, dumps, native_reader
from .messages_stream import MessageAccumulator
from .stream import SSEStream, parse_data

PATH = "/v1/messages"


class _TextDelta(Struct, gc=False):
    type: Literal["text_delta"]
    text: str


class _BlockTextDelta(Struct, gc=False):
    """The usual event: what `MessageAccumulator.add` reads of a text delta, other fields left
    alone as there; any other shape (a bool or float index too) is refused with ValueError."""

    type: Literal["content_block_delta"]
    index: int
    delta: _TextDelta


read_text_delta = native_reader(_BlockTextDelta)
SESSION_HEADER = "X-Claude-Code-Session-Id"
# A hostile or broken upstream must not grow the record without bound through notes.
_MAX_ERROR = 200  # characters of the record's `error` taken from an upstream error event
_ERROR_TYPES = {
    400: "invalid_request_error",
    415: "invalid_request_error",
    404: "not_found_error",
    413: "request_too_large",
    502: "api_error",
    504: "timeout_error",
}


class MessagesStream(SSEStream):
    """Anthropic events rebuilt into the Message the anthropic SDK accumulates.

    See docs/design.md section 9.
    """

    ends_with_done = False  # a terminal event ends it; [DONE] may never come

    def __init__(self) -> None:
        super().__init__()
        self._message = MessageAccumulator(self.note)
        self._stopped = False
        self._error: Any = None
        self._outcome: str | None = None
        self._tail = b""  # what ends a cut event before the proxy's own, see end_frame

    @property
    def finished(self) -> bool:
        return self._stopped

    @property
    def error(self) -> Any:
        """The first error event's payload, or None."""
        return self._error

    def response(self) -> dict[str, Any] | None:
        return self._message.message()

    def outcome(self) -> str | None:
        if self._outcome is not None:
            return self._outcome
        if not self._stopped:
            return "upstream stream ended without message_stop"
        if not self._message.started:
            return "upstream stream ended without message_start"
        return None

    def close(self) -> None:
        if not self._sse.closed:
            # If the upstream stopped inside an event, the client holds its start: our own
            # event must follow what ends it (see end_frame).
            self._tail = self._sse.unfinished_tail()
        super().close()

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        """One `event: error` in Anthropic's shape, which the SDK raises as an APIStatusError.

        A cut data line is only ended, so that our event takes it in (the SDK then raises on our
        `event: error` with the cut text in its message, instead of a JSON error on a dispatched
        half event); complete data lines still waiting are dispatched first, as sent.
        """
        error = {"type": "timeout_error" if timeout else "api_error", "message": message}
        data = dumps({"type": "error", "error": error})
        tail = self._tail if self._sse.closed else self._sse.unfinished_tail()
        return tail + b"event: error\ndata: " + data + b"\n\n"

    def on_events(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        """The usual event, a text_delta for a text block started before, read with msgspec,
        is appended to the block straight away; every other event takes `on_event`, which
        reads it the full way (and may start or replace blocks: the fragments at hand go)."""
        text_parts = self._message.text_parts
        held_index, parts = None, None  # the last block's index and its text fragments
        for name, data in zip(names, datas, strict=True):
            if name == b"content_block_delta":
                try:
                    event = read_text_delta(data)
                except (ValueError, RecursionError):  # not the usual event: read in full below
                    pass
                else:
                    if event.index != held_index:
                        held_index, parts = event.index, text_parts(event.index)
                    if parts is not None:
                        parts.append(event.delta.text)
                        continue
            held_index = parts = None
            self.on_raw_event(name, data)

    def on_event(self, event: str, data: str) -> None:
        try:
            obj = parse_data(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            obj = None
        self.on_object(event, obj, data)

    def on_object(self, event: str, obj: Any, raw: str | bytes) -> None:
        """An event's data read as JSON (as `parse_data` reads it; None when it is not), and
        the data itself, for the error and the notes."""
        kind = obj.get("type") if isinstance(obj, dict) else None
        # Dispatched on the event name, like the SDK; a stream without names on `data.type`.
        name = event or (kind if isinstance(kind, str) else "")
        if event and isinstance(kind, str) and kind != event:
            self.note(f"event {event[:40]!r} carries data of type {kind[:40]!r}")
        if name == "error":
            self._record_error(obj, _text(raw))
        elif name == "message_stop":
            self._stopped = True
        elif name == "ping":
            pass
        elif not isinstance(obj, dict):
            self.note(f"unparsable {name[:40]!r} event: {_text(raw)[:60]!r}")
        else:
            self._message.add(name, obj)

    def _record_error(self, obj: Any, data: str) -> None:
        if self._error is not None:
            self.note("another error event")
            return
        self._error = obj if obj is not None else data
        error = obj.get("error") if isinstance(obj, dict) else None
        error = error if isinstance(error, dict) else obj  # nested, as Anthropic sends it, or flat
        detail = ""
        if isinstance(error, dict):
            detail = ": ".join(str(error[k]) for k in ("type", "message") if error.get(k))
        detail = detail or data.strip()
        self._outcome = ("upstream error event: " + detail if detail else "upstream error event")[
            :_MAX_ERROR
        ]


def session_candidates(body: Mapping[str, Any], headers: Mapping[str, str]) -> Iterator[str]:
    """Claude Code's session: its header, the session inside `metadata.user_id`, then that id."""
    header = headers.get(SESSION_HEADER)
    if header:
        yield header
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    if not isinstance(user_id, str) or not user_id:
        return
    if user_id.startswith("{"):  # >= 2.1.78: {"device_id", "account_uuid", "session_id"}
        try:
            parsed = json.loads(user_id)
        except (ValueError, RecursionError):
            parsed = None
        session = parsed.get("session_id") if isinstance(parsed, dict) else None
        if isinstance(session, str) and session:
            yield session
    elif user_id.startswith("user_") and "_account_" in user_id and "_session_" in user_id:
        session = user_id.rpartition("_session_")[2]  # user_<hash>_account_<uuid>_session_<uuid>
        if session:
            yield session
    yield user_id


def error_body(err: ProxyError) -> dict[str, Any]:
    """The proxy's own error in Anthropic's shape, its type chosen by the HTTP status."""
    return {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(err.status, "api_error"), "message": err.message},
    }


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "replace")
