"""Rebuild the chat.completion an OpenAI-compatible server streamed, from the raw SSE bytes: the
chunks read (the usual one at once) and sorted to their choices, whose rules are in
`chat_choices.py`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..jsonio import Struct, loads_native, native_reader
from .chat_choices import Choice
from .stream import SSEStream, parse_data

# Rebuilt here (object, choices) or random padding without meaning (obfuscation; the SDK drops it).
_NOT_CARRIED = frozenset({"object", "choices", "obfuscation"})
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


class StreamRebuilder(SSEStream):
    """Feed raw SSE bytes as they arrive; ask for the rebuilt chat.completion at any time.

    Its decoder hands it each event in `on_event`; what either drops is in `notes`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._error: dict[str, Any] | None = None
        self._head: dict[str, Any] = {"id": None, "created": None, "model": None}
        self._tail: dict[str, Any] = {"usage": None, "system_fingerprint": None}
        self._choices: dict[int, Choice] = {}
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
            choice = self._choices.get(index) or self._choices.setdefault(index, Choice())
            choice.add(item)


def rebuild_completion(chunks: Iterable[bytes]) -> dict[str, Any]:
    """Rebuild the completion from a whole recorded stream."""
    rebuilder = StreamRebuilder()
    for chunk in chunks:
        rebuilder.feed(chunk)
    rebuilder.close()
    return rebuilder.completion()
