"""One choice of a streamed chat.completion, rebuilt from the deltas sent for it: its message's
text fragments, tool calls and other fields, the way the openai SDK accumulates them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Message fields that arrive as text fragments to be concatenated.
_TEXT_KEYS = frozenset({"content", "refusal", "reasoning_content", "reasoning"})
# Call keys with a rule of their own (kept out of a call's other fields).
_CALL_KEYS = frozenset({"index", "id", "type", "function"})
# Choice keys with a rule of their own, or (message) that must not override the rebuilt one.
_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs", "message"})


def merge_fragment(old: Any, new: Any) -> Any:
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
            merged[key] = merge_fragment(merged.get(key), value)
        return merged
    return new


@dataclass(slots=True)
class ToolCall:
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
                self.extra[key] = merge_fragment(self.extra.get(key), value)

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
class Choice:
    """The accumulated state of one choice, keyed by its `index` in the stream."""

    role: str | None = None
    # Fragments per text field; an empty list (field sent only as null) rebuilds to null.
    texts: dict[str, list[str]] = field(default_factory=dict)
    calls: list[ToolCall] | None = None  # None until the server sends `tool_calls`
    calls_by_index: dict[int, ToolCall] = field(default_factory=dict)
    function_call: ToolCall | None = None
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
                    self.function_call = ToolCall()
                if isinstance(value, dict):
                    self.function_call.add_function(value)
            else:
                self.other[key] = merge_fragment(self.other.get(key), value)

    def add_tool_calls(self, fragments: list[Any], calls: list[ToolCall]) -> None:
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
                call = self.calls_by_index[index] = ToolCall()
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
