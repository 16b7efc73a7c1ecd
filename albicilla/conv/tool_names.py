"""Tool names that OpenAI fine-tuning accepts (`^[a-zA-Z0-9_-]{1,64}$`), for the native format.

Agents name tools more freely: Codex calls a namespace's functions `namespace.name`
(`multi_agent_v1.spawn_agent`), MCP clients use `server:tool`, and nothing bounds the length. In
one conversation, every name of a tool definition or a tool call that does not fit is replaced by
each character outside `[a-zA-Z0-9_-]` turned into `_`; when that is already a name of the
conversation (a valid one, or one given earlier in sorted order of the originals) or is longer
than 64 characters, it is cut to 55 characters and `_` plus the first 8 hex digits of the
original's SHA-256 is added. The definition, the calls and the results' `name` change alike, so
the line still pairs each call with its tool. An empty name is left as it is (it names nothing).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .chatform import message_calls, tool_name, with_name

VALID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INVALID_CHARACTER = re.compile(r"[^a-zA-Z0-9_-]")
_LIMIT = 64
_HASH_DIGITS = 8


def valid_names(names: set[str]) -> dict[str, str]:
    """The new name of every name in `names` that is not valid (see the module's rule)."""
    taken = {name for name in names if VALID.fullmatch(name)}
    renames: dict[str, str] = {}
    for name in sorted(names - taken):
        if not name:
            continue
        flat = _INVALID_CHARACTER.sub("_", name)
        if flat in taken or len(flat) > _LIMIT:
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
            suffix = "_" + digest[:_HASH_DIGITS]
            flat = flat[: _LIMIT - len(suffix)] + suffix
        renames[name] = flat
        taken.add(flat)
    return renames


def conversation_renames(messages: list[dict[str, Any]], tools: list[Any]) -> dict[str, str]:
    """The renames one conversation needs: over its tool definitions and its calls' names."""
    names = {tool_name(tool) for tool in tools}
    for message in messages:
        names.update(tool_name(call) for call in message_calls(message))
    names.discard(None)
    if all(VALID.fullmatch(name) for name in names if name):  # the common case: nothing to do
        return {}
    return valid_names({name for name in names if name is not None})


def renamed_tool(item: Any, renames: dict[str, str]) -> Any:
    """A tool definition or tool call under its new name, or the item itself when it keeps it."""
    name = tool_name(item)
    if name is None or name not in renames:
        return item
    return with_name(item, renames[name])


def renamed_message(message: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """The message with its calls' names (and a result's `name`) renamed; copied only if needed."""
    out = message
    calls = message.get("tool_calls")
    if type(calls) is list and any(tool_name(call) in renames for call in calls):
        out = {**out, "tool_calls": [renamed_tool(call, renames) for call in calls]}
    legacy = message.get("function_call")
    if type(legacy) is dict and tool_name(legacy) in renames:
        out = {**out, "function_call": renamed_tool(legacy, renames)}
    name = message.get("name")
    if message.get("role") in ("tool", "function") and type(name) is str and name in renames:
        out = {**out, "name": renames[name]}
    return out
