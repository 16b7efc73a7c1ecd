"""/v1/messages: the Anthropic Message rebuilt from its stream, its completeness and its frames."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import ProxyError
from ..sse import SSEDecoder

PATH = "/v1/messages"
SESSION_HEADER = "X-Claude-Code-Session-Id"
# A hostile or broken upstream must not grow the record without bound through notes.
_MAX_NOTES = 20
_MAX_ERROR = 200  # characters of the record's `error` taken from an upstream error event
# The base decoder's note for OpenAI streams; Anthropic streams never send [DONE].
_NO_DONE = "stream ended without [DONE]"
# NaN and Infinity are not JSON: in event data they become null, so the record stays JSON...
_EVENT_JSON = json.JSONDecoder(parse_constant=lambda _: None)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ...while tool input holding them is invalid input, kept as the raw text the model wrote.
_INPUT_JSON = json.JSONDecoder(parse_constant=_not_json)
_ERROR_TYPES = {400: "invalid_request_error", 415: "invalid_request_error",
                404: "not_found_error", 413: "request_too_large", 502: "api_error",
                504: "timeout_error"}
# message_delta fields the SDK always copies from `delta`, null included.
_STOP_FIELDS = ("stop_reason", "stop_sequence", "stop_details")


class _Block:
    """One content block: its `content_block_start` object and the deltas sent for it."""

    __slots__ = ("start", "texts", "replaced", "citations", "json_parts", "parsed")

    def __init__(self, start: dict[str, Any]) -> None:
        self.start = start
        self.texts: dict[str, list[str]] = {}  # text / thinking fragments, joined when dumped
        self.replaced: dict[str, Any] = {}  # signature, compaction content: the last one wins
        self.citations: list[Any] | None = None
        self.json_parts: list[str] = []
        self.parsed: dict[str, Any] | None = None  # the input parsed once, until more comes

    def add_json(self, partial: str) -> None:
        self.json_parts.append(partial)
        self.parsed = None

    def tool_input(self) -> dict[str, Any]:
        if self.parsed is None:
            raw = "".join(self.json_parts)
            self.json_parts = [raw] if raw else []
            if not raw:  # no JSON, or only "" pieces: the start's placeholder stays (`{}`)
                self.parsed = {}
            else:
                try:
                    self.parsed = {"input": _INPUT_JSON.decode(raw)}
                except (ValueError, RecursionError):
                    self.parsed = {"input": raw, "_invalid_input": True}
        return self.parsed

    def dump(self) -> dict[str, Any]:
        block = dict(self.start)
        for key, parts in self.texts.items():
            held = block.get(key)
            block[key] = (held if isinstance(held, str) else "") + "".join(parts)
        block.update(self.replaced)
        if self.citations is not None:
            held = block.get("citations")
            block["citations"] = (held if isinstance(held, list) else []) + self.citations
        block.update(self.tool_input())
        return block


class MessagesStream(SSEDecoder):
    """Anthropic events rebuilt into the Message the anthropic SDK accumulates; see DESIGN.md 9."""

    def __init__(self) -> None:
        super().__init__()
        self._message: dict[str, Any] | None = None
        self._usage: dict[str, Any] | None = None
        self._blocks: dict[int, _Block] = {}
        self._stopped = False
        self._error: Any = None
        self._outcome: str | None = None
        self._notes: list[str] = []
        self._tail = b""  # what ends a cut event before the proxy's own, see end_frame

    @property
    def finished(self) -> bool:
        return self._stopped

    @property
    def error(self) -> Any:
        """The first error event's payload, or None."""
        return self._error

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def response(self) -> dict[str, Any] | None:
        if self._message is None:
            return None
        message = dict(self._message)
        if self._usage is not None:
            message["usage"] = dict(self._usage)
        message["content"] = [self._blocks[i].dump() for i in sorted(self._blocks)]
        return message

    def outcome(self) -> str | None:
        if self._outcome is not None:
            return self._outcome
        if not self._stopped:
            return "upstream stream ended without message_stop"
        if self._message is None:
            return "upstream stream ended without message_start"
        return None

    def close(self) -> None:
        if not self._closed:
            self._tail = self._cut_tail()
        super().close()

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        """One `event: error` in Anthropic's shape, which the SDK raises as an APIStatusError."""
        error = {"type": "timeout_error" if timeout else "api_error", "message": message}
        data = json.dumps({"type": "error", "error": error}, separators=(",", ":"))
        tail = self._tail if self._closed else self._cut_tail()
        return tail + b"event: error\ndata: " + data.encode() + b"\n\n"

    def _cut_tail(self) -> bytes:
        # If the upstream stopped inside an event, the client holds its start. A cut data line is
        # only ended, so that our event takes it in (the SDK then raises on our `event: error`
        # with the cut text in its message, instead of a JSON error on a dispatched half event);
        # complete data lines still waiting are dispatched first, so that they are read as sent.
        partial = self._partial
        if partial or self._held:
            if not partial or partial[0].startswith(b"data"):
                return b"\n"
            return b"\n\n" if self._data else b"\n"
        if self._data:
            return b"\n\n" if self._skip_lf else b"\n"  # after a CR, a lone LF only ends a CRLF
        return b""

    def on_note(self, note: str) -> None:
        if note == _NO_DONE:
            return
        if len(self._notes) < _MAX_NOTES:
            self._notes.append(note)
        elif len(self._notes) == _MAX_NOTES:
            self._notes.append("further notes dropped")

    def on_event(self, event: str, data: str) -> None:
        try:
            obj = _EVENT_JSON.decode(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            obj = None
        kind = obj.get("type") if isinstance(obj, dict) else None
        # Dispatched on the event name, like the SDK; a stream without names on `data.type`.
        name = event or (kind if isinstance(kind, str) else "")
        if event and isinstance(kind, str) and kind != event:
            self.on_note(f"event {event[:40]!r} carries data of type {kind[:40]!r}")
        if name == "error":
            self._record_error(obj, data)
        elif name == "message_stop":
            self._stopped = True
        elif name == "ping":
            pass
        elif not isinstance(obj, dict):
            self.on_note(f"unparsable {name[:40]!r} event: {data[:60]!r}")
        elif name == "message_start":
            self._start(obj.get("message"))
        elif self._message is None:
            self.on_note(f"{name[:40]!r} event before message_start ignored")
        elif name == "content_block_start":
            self._block_start(obj)
        elif name == "content_block_delta":
            self._block_delta(obj)
        elif name == "content_block_stop":
            block = self._block(obj)
            if block is not None:
                block.tool_input()  # parsed once, here, as the block is whole
        elif name == "message_delta":
            self._message_delta(obj)
        else:
            self.on_note(f"unknown event {name[:40]!r} ignored")

    def _record_error(self, obj: Any, data: str) -> None:
        if self._error is not None:
            self.on_note("another error event")
            return
        self._error = obj if obj is not None else data
        error = obj.get("error") if isinstance(obj, dict) else None
        error = error if isinstance(error, dict) else obj  # nested, as Anthropic sends it, or flat
        detail = ""
        if isinstance(error, dict):
            detail = ": ".join(str(error[k]) for k in ("type", "message") if error.get(k))
        detail = detail or data.strip()
        self._outcome = ("upstream error event: " + detail if detail
                         else "upstream error event")[:_MAX_ERROR]

    def _start(self, message: Any) -> None:
        if self._message is not None or not isinstance(message, dict):
            self.on_note("message_start ignored: " + ("a second one" if self._message is not None
                                                       else "no message object"))
            return
        self._message = message
        usage = message.get("usage")
        self._usage = dict(usage) if isinstance(usage, dict) else None
        content = message.get("content")
        for index, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict):
                self._blocks[index] = _Block(block)

    def _block(self, obj: dict[str, Any]) -> _Block | None:
        index = obj.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        if block is None:
            self.on_note(f"{obj.get('type')} for a block never started: {obj.get('index')!r}")
        return block

    def _block_start(self, obj: dict[str, Any]) -> None:
        index, start = obj.get("index"), obj.get("content_block")
        if not isinstance(index, int) or not isinstance(start, dict):
            self.on_note("content_block_start without an index or a block ignored")
            return
        if index in self._blocks:
            self.on_note(f"content block {index} started again: replaced")
        self._blocks[index] = _Block(start)
        to = start.get("to")
        if start.get("type") == "fallback" and isinstance(to, dict) and "model" in to:
            self._message["model"] = to["model"]  # type: ignore[index]  # beta: who served it

    def _block_delta(self, obj: dict[str, Any]) -> None:
        block, delta = self._block(obj), obj.get("delta")
        if block is None or not isinstance(delta, dict):
            return
        kind, block_type = delta.get("type"), block.start.get("type")
        # Each delta applies to the block type the SDK applies it to, else it is dropped (noted).
        if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            block.add_json(delta["partial_json"])  # kept for any block type, unlike the SDK
            return
        if kind in ("text_delta", "thinking_delta"):
            key = kind.removesuffix("_delta")
            if block_type == key and isinstance(delta.get(key), str):
                block.texts.setdefault(key, []).append(delta[key])
                return
        elif kind == "signature_delta" and block_type == "thinking" and "signature" in delta:
            block.replaced["signature"] = delta["signature"]
            return
        elif kind == "citations_delta" and block_type == "text" and "citation" in delta:
            if block.citations is None:
                block.citations = []
            block.citations.append(delta["citation"])
            return
        elif kind == "compaction_delta" and block_type == "compaction":  # beta
            block.replaced.update(content=delta.get("content"),
                                  encrypted_content=delta.get("encrypted_content"))
            return
        self.on_note(f"{str(kind)[:40]} for a {str(block_type)[:40]} block ignored")

    def _message_delta(self, obj: dict[str, Any]) -> None:
        message = self._message
        assert message is not None
        delta = obj.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        for key in _STOP_FIELDS:
            message[key] = delta.get(key)
        for key, value in delta.items():  # e.g. container: only when given
            if key not in _STOP_FIELDS and value is not None:
                message[key] = value
        for key, value in obj.items():  # beta: context_management, input_transformations
            if key not in ("type", "delta", "usage") and value is not None:
                message[key] = value
        usage = obj.get("usage")
        if isinstance(usage, dict):
            # Cumulative counts: each non-null one replaces the last, never added up.
            held = self._usage if self._usage is not None else {}
            held.update((key, value) for key, value in usage.items() if value is not None)
            self._usage = held


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
    return {"type": "error",
            "error": {"type": _ERROR_TYPES.get(err.status, "api_error"), "message": err.message}}
