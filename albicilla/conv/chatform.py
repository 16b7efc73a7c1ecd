"""What a chat-form message looks like: the one reading of its text parts, tools and tool calls.

Every mapping writes chat form and every stage after it (fold keys, checks, formats, the report)
reads it through these functions, so a tool's name, a call's arguments and a list of text parts
mean the same thing everywhere:
- a tool or a tool call is named by its spec: its `function` object, else the object under its
  `type` (`custom`), else the item itself (a flat definition);
- an argument string is JSON, and empty or missing means no arguments (`{}`);
- a text part is an object whose `text` is a string and whose `type` is `text` or absent.
"""

from __future__ import annotations

import json
from typing import Any

# Built once: json.dumps with keyword arguments builds a new encoder on every call.
encode_json = json.JSONEncoder(ensure_ascii=False).encode
# Output lines: strict JSON (Python's parser accepts NaN and Infinity in the logs; others do not).
encode_line = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

CHAT_TEXT = frozenset(("text", None))  # the `type` of a chat text part (absent counts as text)


def is_text_part(part: Any, kinds: frozenset[str | None] = CHAT_TEXT) -> bool:
    """Whether the part is text: an object with a string `text` and a `type` among `kinds`."""
    return (
        type(part) is dict and part.get("type", "text") in kinds and type(part.get("text")) is str
    )


def text_parts(parts: list[Any], kinds: frozenset[str | None] = CHAT_TEXT) -> list[str] | None:
    """The texts of a list made only of text parts (of `kinds`), else None."""
    texts = []
    for part in parts:
        if not is_text_part(part, kinds):
            return None
        texts.append(part["text"])
    return texts


def joined_text(parts: list[Any], kinds: frozenset[str | None] = CHAT_TEXT) -> str | None:
    """The texts of a list made only of text parts joined by newlines, else None.

    Newlines are the one rule: a string and the parts it came from compare equal in the fold,
    and the json_tool_call format writes the parts as that string.
    """
    texts = text_parts(parts, kinds)
    return None if texts is None else "\n".join(texts)


def plain_text(content: Any) -> str | None:
    """Content that is not a list as one string (null is "", other values their JSON), else None."""
    if content is None:
        return ""
    if type(content) is str:
        return content
    return None if type(content) is list else encode_json(content)


def spec_of(item: Any) -> dict[str, Any]:
    """The object that names a tool or a tool call: `function`, else the object under its
    `type` (`custom`), else the item itself; `{}` for what is not an object."""
    if type(item) is not dict:
        return {}
    spec = item.get("function")
    if type(spec) is dict:
        return spec
    kind = item.get("type")
    spec = item.get(kind) if type(kind) is str else None
    return spec if type(spec) is dict else item


def tool_name(item: Any) -> str | None:
    """The name a tool definition or tool call declares, else None."""
    name = spec_of(item).get("name")
    return name if type(name) is str else None


def with_name(item: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the tool or tool call whose spec (see `spec_of`) is named `name`."""
    spec = spec_of(item)
    if spec is item:
        return {**item, "name": name}
    key = "function" if item.get("function") is spec else item["type"]
    return {**item, key: {**spec, "name": name}}


def message_calls(message: dict[str, Any]) -> list[Any]:
    """The message's tool calls; the legacy `function_call` is one call."""
    calls = message.get("tool_calls")
    if type(calls) is list and calls:
        return calls
    legacy = message.get("function_call")
    return [{"function": legacy}] if type(legacy) is dict else []


def parse_arguments(arguments: Any) -> tuple[Any, bool]:
    """Arguments as JSON values, and whether they parsed.

    None and a blank string are `{}`; a value that is not a string is taken as it is; a string
    that does not parse stays as it is (False).
    """
    if arguments is None:
        return {}, True
    if type(arguments) is not str:
        return arguments, True
    if not arguments.strip():
        return {}, True
    try:
        return json.loads(arguments), True
    except ValueError:
        return arguments, False
