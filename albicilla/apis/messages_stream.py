"""Anthropic stream events accumulated into the Message, as the anthropic SDK's accumulate_event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON: tool input holding them is invalid, kept as the raw text.
_INPUT_JSON = json.JSONDecoder(parse_constant=_not_json)
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


class MessageAccumulator:
    """Events in (name, data object), the Message out; what it cannot use goes to `note`.

    Blocks are kept by `index` and emitted sorted (the SDK appends them in arrival order, which
    is the same for a well-formed stream). Tool input JSON is kept as text and parsed once, at
    content_block_stop or when the Message is asked for; text that does not parse stays the raw
    string, with the block marked `"_invalid_input": true` (the SDK guesses in partial mode).
    """

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self._message: dict[str, Any] | None = None
        self._usage: dict[str, Any] | None = None
        self._blocks: dict[int, _Block] = {}

    @property
    def started(self) -> bool:
        return self._message is not None

    def message(self) -> dict[str, Any] | None:
        """A fresh snapshot: later events never change what it holds."""
        if self._message is None:
            return None
        message = dict(self._message)
        if self._usage is not None:
            message["usage"] = dict(self._usage)
        message["content"] = [self._blocks[i].dump() for i in sorted(self._blocks)]
        return message

    def add(self, name: str, obj: dict[str, Any]) -> None:
        if name == "message_start":
            self._start(obj.get("message"))
        elif self._message is None:
            self.note(f"{name[:40]!r} event before message_start ignored")
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
            self.note(f"unknown event {name[:40]!r} ignored")

    def text_parts(self, index: int) -> list[str] | None:
        """The text fragments a text_delta for block `index` goes to, if that is a text block
        that has had text before (as `add` would take it; None else); they stay its fragments
        until that block is started again."""
        block = self._blocks.get(index) if self._message is not None else None
        if block is None or block.start.get("type") != "text":
            return None
        return block.texts.get("text")

    def _start(self, message: Any) -> None:
        if self._message is not None or not isinstance(message, dict):
            again = self._message is not None
            self.note("message_start ignored: " + ("a second one" if again else "no message"))
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
            self.note(f"{obj.get('type')} for a block never started: {obj.get('index')!r}")
        return block

    def _block_start(self, obj: dict[str, Any]) -> None:
        index, start = obj.get("index"), obj.get("content_block")
        if not isinstance(index, int) or not isinstance(start, dict):
            self.note("content_block_start without an index or a block ignored")
            return
        if index in self._blocks:
            self.note(f"content block {index} started again: replaced")
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
            block.replaced.update(
                content=delta.get("content"), encrypted_content=delta.get("encrypted_content")
            )
            return
        self.note(f"{str(kind)[:40]} for a {str(block_type)[:40]} block ignored")

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
