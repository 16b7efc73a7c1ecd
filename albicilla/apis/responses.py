"""/v1/responses: the native Response object a stream ends with, its completeness, and our frame."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from ..errors import ProxyError
from ..jsonio import Struct, dumps, native_reader
from .responses_stream import DELTAS, DONES, PARTS, OutputItems
from .stream import SSEStream, parse_data

PATH = "/v1/responses"

TERMINAL = frozenset(
    {"response.completed", "response.incomplete", "response.failed", "response.done"}
)
SNAPSHOTS = frozenset({"response.created", "response.in_progress", "response.queued"})
NO_TERMINAL = "upstream stream ended without response.completed"
# A hostile or broken upstream must not grow the record without bound through notes.
_MAX_ERROR_TEXT = 300
# What `on_object` does with an event, by its type, found with one lookup: the whole response
# (a snapshot or the terminal event), an output item, or a text delta, whole text or part.
_WHOLE, _ITEM, _TEXT = "whole", "item", "text"
_ROLES = {
    **dict.fromkeys(SNAPSHOTS | TERMINAL, _WHOLE),
    **dict.fromkeys(("response.output_item.added", "response.output_item.done"), _ITEM),
    **dict.fromkeys([*DELTAS, *DONES, *PARTS], _TEXT),
}


class _OutputTextDelta(Struct, gc=False):
    """The usual event: what `ResponsesStream.on_event` reads of an output_text delta whose
    indexes are given, other fields left alone as there; any other shape (a bool or float
    index too) is refused with ValueError."""

    type: Literal["response.output_text.delta"]
    output_index: int
    content_index: int
    delta: str
    sequence_number: Any = None
    error: Any = None


read_text_delta = native_reader(_OutputTextDelta)


class ResponsesStream(SSEStream):
    """Responses events in, the record's `response` out; the terminal event makes it final.

    Events are dispatched on `data.type`, else on the `event:` name. Nothing after the terminal
    event changes the record (a `[DONE]`, if one comes, ends the decoding anyway).
    """

    ends_with_done = False  # a terminal event ends it; [DONE] may never come

    def __init__(self) -> None:
        super().__init__()
        self._snapshot: dict[str, Any] | None = None
        self._final: dict[str, Any] | None = None
        self._terminal: str | None = None
        self._error: dict[str, Any] | None = None
        self._items = OutputItems()
        self._sequence: int | None = None  # the highest sequence_number seen

    @property
    def finished(self) -> bool:
        return self._terminal is not None

    @property
    def error(self) -> dict[str, Any] | None:
        """The first `error` event's error object, as sent (flat events: their fields)."""
        return self._error

    def response(self) -> dict[str, Any]:
        """The terminal response (its empty `output` filled in), else snapshot + items, no usage."""
        if self._final is not None:
            # Nothing changes the state after the terminal event (see on_event): a shallow copy
            # is as safe as the deep copy a response still in progress needs, at a fraction.
            result = dict(self._final)
            if not result.get("output"):
                result["output"] = self._items.output()
            return result
        result = copy.deepcopy(self._snapshot) if self._snapshot is not None else {}
        result["output"] = self._items.output()
        result["usage"] = None
        return result

    def outcome(self) -> str | None:
        if self._final is not None:
            status = self._final.get("status")
            failed = self._terminal == "response.failed" or status == "failed"
            if not failed and status in (None, "completed", "incomplete"):
                return None  # `response.done` without a status: taken as the name says
            error = self._final.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            verb = "failed" if failed else str(status)[:40]  # e.g. cancelled
            return f"upstream response {verb}" + (f": {str(code)[:80]}" if code else "")
        if self._error is not None:
            error = self._error
            text = ": ".join(str(error[key]) for key in ("code", "message") if error.get(key))
            return ("upstream error event" + (f": {text}" if text else ""))[:_MAX_ERROR_TEXT]
        return NO_TERMINAL

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        """One `response.failed` event carrying the stream's own id and the next sequence number.

        The code is `server_error` for a timeout too: `ResponseError.code` is a closed set in
        the SDK's types, and none of its other values fits.
        """
        seen = self._snapshot is not None or self._final is not None
        response = self.response() if seen else minimal_response()
        response.update(
            status="failed", error={"code": "server_error", "message": message}, usage=None
        )
        sequence = 0 if self._sequence is None else self._sequence + 1
        event = {"type": "response.failed", "sequence_number": sequence, "response": response}
        data = dumps(event)
        # The blank lines first end an event the upstream left without its blank line (a CR
        # or LF cut off), so that ours is not read as more lines of it; at an event's end they
        # are empty events, which SSE readers skip.
        return b"\n\nevent: response.failed\ndata: " + data + b"\n\n"

    def on_events(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        """The usual event, an output_text delta for a text part that has had text before,
        is appended straight away; every other event takes `on_event`, which reads it the
        full way (and may replace items or parts: the fragments at hand go)."""
        fragments_of = self._items.text_fragments
        # The last usual event's output and content index, and the fragments they lead to.
        held_output, held_content, fragments = -1, -1, None
        last = self._sequence  # the highest sequence_number, written back before `on_event`
        for name, data in zip(names, datas, strict=True):
            if name == b"response.output_text.delta" and self._terminal is None:
                try:
                    event = read_text_delta(data)
                except (ValueError, RecursionError):  # not the usual event: read in full below
                    event = None
                if event is not None and not event.error:
                    if event.output_index != held_output or event.content_index != held_content:
                        held_output, held_content = event.output_index, event.content_index
                        fragments = fragments_of(held_output, held_content)
                    if fragments is not None:
                        number = event.sequence_number
                        if type(number) is int and (last is None or number > last):
                            last = number
                        else:
                            self._sequence = last
                            self._check_sequence(number)
                            last = self._sequence
                        fragments.append(event.delta)
                        continue
            held_output, held_content, fragments = -1, -1, None
            self._sequence = last
            self.on_raw_event(name, data)
            last = self._sequence
        self._sequence = last

    def on_event(self, event: str, data: str) -> None:
        if self._terminal is not None:
            return
        try:
            obj = parse_data(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            if event == "error":
                self._record_error({"message": data[:_MAX_ERROR_TEXT]})
            else:
                self.note(f"unparsable event: {data[:60]!r}")
            return
        self.on_object(event, obj, data)

    def on_object(self, event: str, obj: Any, raw: str | bytes) -> None:
        """An event's data, read as JSON (as `parse_data` reads it)."""
        if self._terminal is not None:
            return  # nothing after the terminal event changes the record
        if not isinstance(obj, dict):
            self.note(f"event {event!r} is not a JSON object")
            return
        kind = obj.get("type")
        if not isinstance(kind, str) or not kind:
            kind = event
        number = obj.get("sequence_number")
        if type(number) is int:  # (the usual case inline: a number past the last)
            if self._sequence is None or number > self._sequence:
                self._sequence = number
            else:
                self._check_sequence(number)
        role = _ROLES.get(kind)
        if kind == "error" or (role is not _WHOLE and obj.get("error")):
            nested = obj.get("error")
            if isinstance(nested, str):
                nested = {"message": nested}
            self._record_error(nested if isinstance(nested, dict) else obj)
        elif role is _WHOLE:
            response = obj.get("response")
            if not isinstance(response, dict):
                self.note(f"{kind} without a response object")
            elif kind in SNAPSHOTS:
                self._snapshot = response
            else:
                self._final, self._terminal = response, kind
        elif role is _ITEM:
            index, item = obj.get("output_index"), obj.get("item")
            if _is_output_index(index) and isinstance(item, dict):
                self._items.set_item(index, item, done=kind.endswith("done"))
            else:
                self.note(f"{kind} without a usable item or output_index")
        elif role is _TEXT:
            index = obj.get("output_index")
            if not _is_output_index(index):  # some imitation servers send only the item_id
                index = self._items.index_of(obj.get("item_id"))
            note = (
                self._items.apply(kind, index, obj)
                if _is_output_index(index)
                else f"{kind} without a usable output_index"
            )
            if note:
                self.note(note)
        # Anything else (hosted-tool progress, annotations, audio): the done item carries it.

    def _check_sequence(self, number: Any) -> None:
        if type(number) is not int:
            return
        if self._sequence is not None and number <= self._sequence:
            self.note(f"sequence_number {number} after {self._sequence}")
        self._sequence = number if self._sequence is None else max(self._sequence, number)

    def _record_error(self, error: dict[str, Any]) -> None:
        if self._error is None:
            self._error = {
                key: error.get(key) for key in ("type", "code", "message", "param") if key in error
            }
        self.note(f"error event: {str(error.get('message') or error)[:100]}")


def _is_output_index(value: Any) -> bool:
    return type(value) is int and value >= 0


def minimal_response() -> dict[str, Any]:
    """A valid Response for a frame sent before the upstream's `response.created`."""
    return {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "failed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "",
        "output": [],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
    }


def session_candidates(body: Mapping[str, Any], headers: Mapping[str, str]) -> Iterator[str]:
    """Codex's thread id: the body's `prompt_cache_key`, then its `session-id` header."""
    key = body.get("prompt_cache_key")
    if isinstance(key, str) and key:
        yield key
    header = headers.get("session-id")
    if header:
        yield header


def error_body(err: ProxyError) -> dict[str, Any]:
    return err.body()
