"""Rebuild the chat.completion an OpenAI-compatible server streamed, from the raw SSE bytes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..jsonio import Struct, loads_native, native_reader
from .stream import SSEStream, parse_data

# Message fields that arrive as text fragments to be concatenated.
_TEXT_KEYS = frozenset({"content", "refusal", "reasoning_content", "reasoning"})
# Rebuilt here (object, choices) or random padding without meaning (obfuscation; the SDK drops it).
_NOT_CARRIED = frozenset({"object", "choices", "obfuscation"})
# A hostile or broken upstream must not grow the record without bound through notes.
_CALL_KEYS = frozenset({"index", "id", "type", "function"})
# Choice keys with a rule of their own, or (message) that must not override the rebuilt one.
_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs", "message"})
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


class _PlainDelta(Struct, forbid_unknown_fields=True, gc=False):
    content: str


class _PlainChoice(Struct, forbid_unknown_fields=True, gc=False):
    index: int
    delta: _PlainDelta
    finish_reason: None = None
    logprobs: None = None


class _PlainChunk(Struct, forbid_unknown_fields=True, gc=False):
    """The usual chunk: one choice whose delta is only `content` text, without finish_reason
    or logprobs, and no field beyond these (the ones it names need no rule once id, created
    and model are held); any other shape is refused with ValueError."""

    choices: tuple[_PlainChoice]
    id: Any = None
    object: Any = None
    created: Any = None
    model: Any = None
    obfuscation: Any = None


read_plain_chunk = native_reader(_PlainChunk)


def _merge(old: Any, new: Any) -> Any:
    """Merge a fragment of a field we have no rule for, the way the SDK accumulates deltas."""
    if new is None or old is None:
        return old if new is None else new
    if isinstance(old, str) and isinstance(new, str):
        return old + new
    if isinstance(old, list) and isinstance(new, list):
        return old + new
    if isinstance(old, dict) and isinstance(new, dict):
        # A fresh dict, so an object handed out by completion() never changes behind the caller.
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return new


@dataclass(slots=True)
class _Call:
    """One tool call (or a legacy function_call) being assembled from fragments."""

    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)
    function_seen: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def add_function(self, function: dict[str, Any]) -> None:
        self.function_seen = True
        # Some providers repeat the name on every fragment: first one wins, never concatenated.
        self.name = self.name or function.get("name") or None
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            self.arguments.append(arguments)

    def add(self, fragment: dict[str, Any]) -> None:
        self.id = self.id or fragment.get("id") or None
        self.type = self.type or fragment.get("type") or None
        for key, value in fragment.items():
            if key == "function":
                if isinstance(value, dict):
                    self.add_function(value)
            elif key not in _CALL_KEYS:
                self.extra[key] = _merge(self.extra.get(key), value)

    def function(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": "".join(self.arguments)}

    def tool_call(self, position: int) -> dict[str, Any]:
        # The SDK keeps `index` in each call; ours is the position, which equals the wire index
        # for well-formed streams and stays unique when a provider reuses index 0.
        call: dict[str, Any] = {"index": position, "id": self.id, "type": self.type or "function"}
        if self.function_seen or call["type"] == "function":
            call["function"] = self.function()
        call.update(self.extra)  # never one of the keys above, see _CALL_KEYS
        return call


@dataclass(slots=True)
class _Choice:
    """The accumulated state of one choice, keyed by its `index` in the stream."""

    role: str | None = None
    # Fragments per text field; an empty list (field sent only as null) rebuilds to null.
    texts: dict[str, list[str]] = field(default_factory=dict)
    calls: list[_Call] | None = None  # None until the server sends `tool_calls`
    calls_by_index: dict[int, _Call] = field(default_factory=dict)
    function_call: _Call | None = None
    other: dict[str, Any] = field(default_factory=dict)  # message fields without a rule
    finish_reason: Any = None
    logprobs: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # choice fields without a rule

    def add(self, item: dict[str, Any]) -> None:
        delta, logprobs = item.get("delta"), item.get("logprobs")
        if isinstance(delta, dict):
            self.add_delta(delta)
        if isinstance(logprobs, dict):
            self.add_logprobs(logprobs)
        self.finish_reason = item.get("finish_reason") or self.finish_reason  # last non-null
        for key, value in item.items():
            if key not in _CHOICE_KEYS and (value is not None or key not in self.extra):
                self.extra[key] = value  # e.g. Azure's content_filter_results: last non-null

    def add_delta(self, delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key in _TEXT_KEYS:
                parts = self.texts.get(key)
                if parts is None:
                    parts = self.texts[key] = []
                if isinstance(value, str):
                    parts.append(value)
            elif key == "role":
                self.role = self.role or value or None  # set once: some servers repeat it
            elif key == "tool_calls":
                if self.calls is None:
                    self.calls = []
                if isinstance(value, list):
                    self.add_tool_calls(value, self.calls)
            elif key == "function_call":
                if self.function_call is None:
                    self.function_call = _Call()
                if isinstance(value, dict):
                    self.function_call.add_function(value)
            else:
                self.other[key] = _merge(self.other.get(key), value)

    def add_tool_calls(self, fragments: list[Any], calls: list[_Call]) -> None:
        for position, fragment in enumerate(fragments):
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index")
            if not isinstance(index, int):
                index = position  # providers that omit `index` list calls in order
            call = self.calls_by_index.get(index)
            new_id = fragment.get("id")
            # A different id on a used index is a new call: some providers send every call at 0.
            if call is None or (new_id and call.id and new_id != call.id):
                call = self.calls_by_index[index] = _Call()
                calls.append(call)
            call.add(fragment)

    def add_logprobs(self, logprobs: dict[str, Any]) -> None:
        if self.logprobs is None:
            self.logprobs = {"content": None, "refusal": None}
        for key, value in logprobs.items():
            held = self.logprobs.get(key)
            if isinstance(value, list) and isinstance(held, list):
                held.extend(value)
            elif isinstance(value, list):
                self.logprobs[key] = list(value)  # our own list, extended in place later
            elif value is not None:
                self.logprobs[key] = value

    def dump(self, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": None,
            "refusal": None,
        }
        for key, parts in self.texts.items():
            message[key] = "".join(parts) if parts else None
        if self.calls is not None:
            message["tool_calls"] = [call.tool_call(i) for i, call in enumerate(self.calls)]
        if self.function_call is not None:
            fc = self.function_call
            message["function_call"] = fc.function() if fc.function_seen else None
        # Copies of the lists we keep extending, so a returned snapshot never changes.
        logprobs = self.logprobs and {
            k: list(v) if isinstance(v, list) else v for k, v in self.logprobs.items()
        }
        message.update(self.other)  # never one of the keys above: those have their own rules
        choice = {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": logprobs,
        }
        choice.update(self.extra)  # never a key of the above either
        return choice


class StreamRebuilder(SSEStream):
    """Feed raw SSE bytes as they arrive; ask for the rebuilt chat.completion at any time.

    Its decoder hands it each event in `on_event`; what either drops is in `notes`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._error: dict[str, Any] | None = None
        self._head: dict[str, Any] = {"id": None, "created": None, "model": None}
        self._tail: dict[str, Any] = {"usage": None, "system_fingerprint": None}
        self._choices: dict[int, _Choice] = {}
        self._content: dict[int, list[str]] = {}  # choice index -> its content fragments

    @property
    def error(self) -> dict[str, Any] | None:
        return self._error

    def every_choice_finished(self) -> bool:
        """Some choice came and each has a finish_reason (read without rebuilding anything)."""
        choices = self._choices.values()
        return bool(choices) and all(choice.finish_reason for choice in choices)

    def completion(self) -> dict[str, Any]:
        head = self._head
        result = {
            "id": head["id"],
            "object": "chat.completion",
            "created": head["created"],
            "model": head["model"],
            "choices": [self._choices[i].dump(i) for i in sorted(self._choices)],
        }
        result.update(self._tail)
        return result

    def on_events(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        """The usual chunk (see _PlainChunk), read by msgspec into its shape, has its text
        appended to its choice's content straight away; other unnamed objects without `error`
        go to the chunk's rules; every other event takes `on_event`, which reads it the full
        way."""
        add_chunk, content = self._add_chunk, self._content
        head_held = all(self._head.values())  # then id, created and model change no more
        held_index, held_parts = None, None  # the last usual chunk's choice and its fragments
        for name, data in zip(names, datas, strict=True):
            if name:
                self.on_event(name.decode("utf-8", "replace"), data.decode("utf-8", "replace"))
                continue
            if head_held:
                try:
                    choice = read_plain_chunk(data).choices[0]
                except (ValueError, RecursionError):  # not the usual chunk: read in full below
                    pass
                else:
                    index = choice.index
                    if index == held_index:
                        held_parts.append(choice.delta.content)  # type: ignore[union-attr]
                        continue
                    parts = content.get(index) or self._content_parts(index)
                    if parts is not None:
                        held_index, held_parts = index, parts
                        parts.append(choice.delta.content)
                        continue
            try:
                obj = loads_native(data)
            except (ValueError, RecursionError):
                obj = None
            if type(obj) is not dict or obj.get("error"):
                self.on_event("", data.decode("utf-8", "replace"))
                continue
            add_chunk(obj)
            head_held = head_held or all(self._head.values())

    def _content_parts(self, index: int) -> list[str] | None:
        """The content fragments of choice `index`, once it has had content (then for good)."""
        choice = self._choices.get(index)
        parts = choice.texts.get("content") if choice is not None else None
        if parts is not None:
            self._content[index] = parts
        return parts

    def on_event(self, event: str, data: str) -> None:
        try:
            obj = parse_data(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            obj = data
            if event != "error":
                self.note(f"unparsable event: {data[:60]!r}")
                return
        if isinstance(obj, dict) and obj.get("error"):
            self._record_error(obj["error"])
        elif event == "error":
            self._record_error(obj)  # `event: error` with the error object as the whole data
        elif isinstance(obj, dict):
            self._add_chunk(obj)
        else:
            self.note(f"event is a JSON {_JSON_TYPES.get(type(obj), '?')}, not an object")

    def _record_error(self, error: Any) -> None:
        if not isinstance(error, dict):
            error = {"message": error if isinstance(error, str) else json.dumps(error)}
        if self._error is None:
            self._error = error
        self.note(f"error event: {str(error.get('message') or error)[:100]}")

    def _add_chunk(self, chunk: dict[str, Any]) -> None:
        head, tail = self._head, self._tail
        for key, value in chunk.items():
            if key in head:
                if not head[key]:  # the first truthy value: content-filter chunks carry "" and 0
                    head[key] = value or None
            elif key == "choices":
                if isinstance(value, list):
                    self._add_choices(value)
            elif key not in _NOT_CARRIED and (value is not None or key not in tail):
                # Last non-null: usage is cumulative where a server repeats it, never summed.
                tail[key] = value

    def _add_choices(self, items: list[Any]) -> None:
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                self.note(f"choice is a JSON {_JSON_TYPES.get(type(item), '?')}, not an object")
                continue
            index = item.get("index")
            if not isinstance(index, int):
                index = position
            choice = self._choices.get(index) or self._choices.setdefault(index, _Choice())
            choice.add(item)


def rebuild_completion(chunks: Iterable[bytes]) -> dict[str, Any]:
    """Rebuild the completion from a whole recorded stream."""
    rebuilder = StreamRebuilder()
    for chunk in chunks:
        rebuilder.feed(chunk)
    rebuilder.close()
    return rebuilder.completion()
