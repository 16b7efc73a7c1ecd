"""Keys of messages and names of tools: the identities that folding compares.

Two messages are the same when their role, text and tool calls (name and parsed arguments)
are, not their ids (docs/design.md sections 7 and 14); `null` and `""` are the same, key order
and null-valued keys do not matter.
Nothing else counts: reasoning, call ids and private `_` keys are outside the key, text parts
count by their text alone, and other parts without their cache markers, ids, status, signatures,
encrypted content and citations (`NOT_CONTENT`).

A key is a tuple of strings, so hashing and comparing it runs in C. `message_key` keeps tool-call
arguments as the strings that were sent, which is what agents resend; only when such a key finds
no match does `canonical_key` parse the arguments, so a client that re-serialises them (other
spacing or key order) still matches, and nobody else pays for the JSON work.
"""

from __future__ import annotations

import json
from typing import Any

from .chatform import is_text_part, joined_text, parse_arguments, spec_of

# Built once: json.dumps with keyword arguments builds a new encoder on every call.
_encode_sorted = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode

Key = tuple[Any, ...]


def message_key(message: dict[str, Any]) -> Key:
    """A hashable value equal for two messages sent the same way (see `canonical_key`).

    `(role, content, "")` (the third item held the tool-call id, which no longer counts: clients
    invent ids when they resend a call), plus a fourth item for a message with tool calls: one
    `(name, arguments as sent)` pair per call (`(None, JSON)` for a call of unknown shape).
    """
    content = message.get("content")
    if content is None:
        content = ""
    elif type(content) is not str:
        content = content_key(content)
    calls = message.get("tool_calls") or message.get("function_call")
    if calls:
        if type(calls) is dict:  # the legacy single function_call
            calls = [{"function": calls}]
        return (message.get("role"), content, "", _calls(calls))
    return (message.get("role"), content, "")


def canonical_key(key: Key) -> Key:
    """The key with every call's arguments parsed and written in one canonical way."""
    if len(key) < 4:
        return key
    calls = tuple(
        (name, arguments if name is None else canonical_arguments(arguments))
        for name, arguments in key[3]
    )
    return (*key[:3], calls)


def content_key(content: Any) -> Any:
    """List content by its parts: text parts by their text, other parts structurally.

    A list of text parts only equals the string of its texts joined by newlines, which is how
    the json_tool_call format writes it.
    """
    if type(content) is not list:
        return ("json", canonical_json(content))
    text = joined_text(content)
    if text is not None:
        return text
    return tuple(
        part["text"] if is_text_part(part) else ("part", canonical_json(_content_only(part)))
        for part in content
    )


# Keys of a content part that say how it was cached, stored or streamed, not what it says.
NOT_CONTENT = frozenset(
    (
        "cache_control",
        "id",
        "status",
        "signature",
        "encrypted_content",
        "citations",
        "annotations",
        "logprobs",
        "phase",
        "caller",
        "obfuscation",
    )
)


def _content_only(part: Any) -> Any:
    if type(part) is not dict or NOT_CONTENT.isdisjoint(part):
        return part
    return {k: v for k, v in part.items() if k not in NOT_CONTENT}


def _calls(calls: Any) -> tuple[tuple[str | None, str], ...]:
    if type(calls) is not list:
        return ((None, canonical_json(calls)),)
    key = []
    for call in calls:
        spec = spec_of(call)  # custom tools carry {"name", "input"}
        if type(call) is dict and spec is not call:
            arguments = spec.get("arguments")
            if arguments is None:
                arguments = spec.get("input")
            if type(arguments) is not str:
                arguments = "" if arguments is None else canonical_json(arguments)
            key.append((spec.get("name") or "", arguments))
        else:
            key.append((None, canonical_json(call)))
    return tuple(key)


def canonical_arguments(arguments: str) -> str:
    """Compact sorted JSON of parsed arguments; the string itself when it does not parse.

    Empty arguments mean "no arguments", the same as `{}`.
    """
    value, parsed = parse_arguments(arguments)
    # A string that is not JSON cannot equal a canonical form.
    return canonical_json(value) if parsed else arguments


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and without null-valued keys."""
    text = _encode_sorted(value)
    if "null" in text:  # only then can there be null-valued keys to drop
        text = _encode_sorted(drop_nulls(value))
    return text


def drop_nulls(value: Any) -> Any:
    """The value without null-valued object keys, at any depth."""
    if type(value) is dict:
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [drop_nulls(v) for v in value]
    return value
