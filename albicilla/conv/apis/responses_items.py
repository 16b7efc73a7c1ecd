"""Responses API items (a request's `input`, a response's `output`) as chat messages.

The walk keeps one open assistant message: assistant-side items (assistant messages, reasoning,
function, custom and local-shell calls) merge into it until any other item closes it. Message
texts are joined with "" inside an item and by newlines between items; reasoning becomes
`reasoning_content`; calls become `tool_calls` by `call_id` (a namespaced function as
`namespace.name`, a custom tool's raw input as arguments `{"input": RAW}`). Tool outputs become
`tool` messages; other messages keep their role. Content made only of text parts becomes one
string (newlines between parts). Hosted-tool and `additional_tools` items are not messages.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..chatform import encode_json, joined_text
from .common import (
    BAD_MESSAGES,
    COMPACTED,
    HOSTED_TOOL_ITEM,
    MISSING_CONTEXT,
    UNKNOWN_ITEM,
    assistant_message,
    function_call,
    without,
)

_TEXT = frozenset(("input_text", "output_text", "text"))
_OUTPUTS = frozenset(("function_call_output", "custom_tool_call_output", "local_shell_call_output"))
_HOSTED_PREFIXES = (
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_",
    "computer_call",
    "shell_call",
    "apply_patch_call",
    "tool_search_",
    "program",
)
_MARKERS = frozenset(("cache_control", "annotations", "logprobs"))
_KEPT = frozenset(
    ("message", "reasoning", "function_call", "custom_tool_call", "local_shell_call", *_OUTPUTS)
)


class _Turn:
    """The open assistant message."""

    __slots__ = ("texts", "reasoning", "calls", "refusals")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.refusals: list[str] = []

    def message(self) -> dict[str, Any]:
        content = "\n".join(self.texts) if self.texts else (None if self.calls else "")
        refusal = "\n".join(self.refusals) if self.refusals else None
        return assistant_message(content, self.reasoning, self.calls, refusal)


def add_items(
    messages: list[dict[str, Any]],
    items: list[Any],
    start: int = 0,
    cuts: list[tuple[int, int]] | None = None,
) -> str | None:
    """Append the chat messages of `items[start:]`; the reason to skip the record, else None.

    `cuts` gets `(items, messages)` after every item that leaves no assistant message open.
    """
    turn: _Turn | None = None
    position = start
    for item in items[start:] if start else items:
        position += 1
        if type(item) is not dict:
            return BAD_MESSAGES
        kind = item.get("type")
        if kind is None and "role" in item:
            kind = "message"
        if kind == "message" and item.get("role") == "assistant":
            turn = turn or _Turn()
            _add_assistant_text(turn, item.get("content"))
        elif kind == "reasoning":
            turn = turn or _Turn()
            text = reasoning_text(item)
            if text:
                turn.reasoning.append(text)
        elif kind == "function_call":
            turn = turn or _Turn()
            name, namespace = item.get("name"), item.get("namespace")
            # `functions` is the default namespace, whose calls go by their bare name.
            if type(namespace) is str and namespace not in ("", "functions") and type(name) is str:
                name = f"{namespace}.{name}"
            arguments = item.get("arguments")
            if type(arguments) is not str:
                arguments = "" if arguments is None else encode_json(arguments)
            turn.calls.append(function_call(item.get("call_id"), name, arguments))
        elif kind == "custom_tool_call":
            turn = turn or _Turn()
            arguments = encode_json({"input": item.get("input")})
            turn.calls.append(function_call(item.get("call_id"), item.get("name"), arguments))
        elif kind == "local_shell_call":
            turn = turn or _Turn()
            arguments = encode_json(item.get("action"))
            call_id = item.get("call_id") or item.get("id")
            turn.calls.append(function_call(call_id, "local_shell", arguments))
        elif kind == "message" or kind in _OUTPUTS:
            if turn is not None:
                messages.append(turn.message())
                turn = None
            if kind == "message":
                messages.append({"role": item.get("role"), "content": content(item.get("content"))})
            else:
                call_id = item.get("call_id") or item.get("id") or ""
                output = content(item.get("output"))
                messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
            if cuts is not None:
                cuts.append((position, len(messages)))
        elif kind == "item_reference":
            return MISSING_CONTEXT
        elif kind in ("compaction", "compaction_summary"):
            return COMPACTED
        # Anything else (hosted tools, additional_tools, unknown kinds) is not a message.
    if turn is not None:
        messages.append(turn.message())
    return None


def _add_assistant_text(turn: _Turn, value: Any) -> None:
    if type(value) is str:
        turn.texts.append(value)
        return
    texts = []
    for part in value if type(value) is list else ():
        if type(part) is not dict:
            continue
        if part.get("type") == "refusal" and type(part.get("refusal")) is str:
            turn.refusals.append(part["refusal"])
        elif type(part.get("text")) is str:
            texts.append(part["text"])
    if texts or not turn.refusals:
        turn.texts.append("".join(texts))


def content(value: Any) -> Any:
    """Message or tool-output content: a string when it is all text, else chat parts."""
    if value is None:
        return ""
    if type(value) is not list:
        return value
    text = joined_text(value, _TEXT)
    if text is not None:
        return text
    return [_part(part) for part in value]


def _part(part: Any) -> Any:
    if type(part) is not dict:
        return part
    kind = part.get("type")
    if kind in _TEXT and type(part.get("text")) is str:
        return {"type": "text", "text": part["text"]}
    if kind == "input_image":
        url = part.get("image_url") or f"file_id:{part.get('file_id')}"
        image: dict[str, Any] = {"url": url}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    return without(part, _MARKERS)


def reasoning_text(item: dict[str, Any]) -> str:
    """Reasoning content texts if there are any, else the summary texts, by blank lines."""
    for key in ("content", "summary"):
        parts = item.get(key)
        if type(parts) is list:
            texts = [p["text"] for p in parts if type(p) is dict and type(p.get("text")) is str]
            if texts:
                return "\n\n".join(texts)
    return ""


def count_dropped(output: list[Any], dropped: Counter[str]) -> None:
    """Count the output items that have no chat form, by kind."""
    for item in output:
        kind = item.get("type") if type(item) is dict else None
        if type(kind) is str and kind.startswith(_HOSTED_PREFIXES):
            dropped[HOSTED_TOOL_ITEM] += 1
        elif kind not in _KEPT and not (kind is None and "role" in item):
            dropped[UNKNOWN_ITEM] += 1
