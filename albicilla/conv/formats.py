"""Output formats: one conversation becomes one `{"messages", "tools"}` object, or a reason not to.

`json_tool_call` (the default) turns tool calls and results into text a plain chat template can
render; `native` keeps every message and tool as captured, minus the `index` the stream rebuild
adds to tool calls, and with the tool names OpenAI fine-tuning rejects made valid (`tool_names`);
`hf` (in `hf.py`) is what Hugging Face chat templates take. In every format, message and
tool-call keys starting with `_` (private markers of the mappings) are dropped.

json_tool_call, message by message:
- assistant `tool_calls` (and the legacy `function_call`) become one
  `<tool_call>{"name": NAME, "arguments": ARGS}</tool_call>` line each after any text, with ARGS
  parsed from its JSON string (kept as the string when it does not parse, and counted); the
  `tool_calls` key goes away;
- a tool message becomes `<tool_result tool_call_id="ID">CONTENT</tool_result>` without
  `tool_call_id`;
- `developer` becomes `system`;
- content is a string: `null` becomes `""`, a list of text parts becomes its texts joined by
  newlines; a list holding images or other non-text parts stays a list (nothing is thrown away),
  except inside a tool call or tool result, where such parts are written as JSON;
- every other field is kept unless it is null or private.
Tools are flattened to `{"name", "description", "parameters"}` (description `""` and parameters an
empty object schema when the definition has none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .chatform import encode_json, joined_text, message_calls, parse_arguments, plain_text, spec_of
from .checks import Problem
from .tool_names import conversation_renames, renamed_message, renamed_tool

_DROPPED = frozenset(("role", "content", "tool_calls", "tool_call_id", "function_call"))
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class Formatted:
    """One conversation in a format: the line to write, or why it is not written."""

    line: dict[str, Any] | None
    dropped: str | None = None
    invalid_arguments: int = 0  # tool arguments that are not JSON (the summary counts them)
    notes: tuple[Problem, ...] = ()  # what the format itself changed or dropped
    renamed_tools: tuple[str, ...] = ()  # tool names the format had to change (native)


Writer = Callable[[list[dict[str, Any]], list[Any]], Formatted]


def json_tool_call_writer(messages: list[dict[str, Any]], tools: list[Any]) -> Formatted:
    line, invalid = json_tool_call_line(messages, tools)
    return Formatted(line, invalid_arguments=invalid)


def native_writer(messages: list[dict[str, Any]], tools: list[Any]) -> Formatted:
    renames = conversation_renames(messages, tools)
    return Formatted(
        native_line(messages, tools, renames),
        invalid_arguments=count_invalid_arguments(messages),
        renamed_tools=tuple(sorted(renames)),
    )


def native_line(
    messages: list[dict[str, Any]], tools: list[Any], renames: dict[str, str] | None = None
) -> dict[str, Any]:
    """Messages and tools as captured, without private keys and tool-call `index`, and with
    `renames` of tool names (`tool_names`).

    The messages are shared with other conversations of the session: a message that needs a
    change is copied, the others are written as they are.
    """
    if not renames:
        return {"messages": [_native_message(m) for m in messages], "tools": tools}
    return {
        "messages": [renamed_message(_native_message(m), renames) for m in messages],
        "tools": [renamed_tool(t, renames) for t in tools],
    }


def _native_message(message: dict[str, Any]) -> dict[str, Any]:
    calls = message.get("tool_calls")
    clean_calls = type(calls) is not list or not any(
        type(c) is dict and ("index" in c or _has_private(c)) for c in calls
    )
    if clean_calls and not _has_private(message):
        return message
    out = {k: v for k, v in message.items() if not k.startswith("_")}
    if not clean_calls:
        out["tool_calls"] = [
            {k: v for k, v in c.items() if k != "index" and not k.startswith("_")}
            if type(c) is dict
            else c
            for c in calls  # a list: clean_calls is False
        ]
    return out


def _has_private(item: dict[str, Any]) -> bool:
    return any(k.startswith("_") for k in item)


def count_invalid_arguments(messages: list[dict[str, Any]]) -> int:
    """Tool calls whose arguments are a string that is not JSON (what json_tool_call keeps raw)."""
    count = 0
    for message in messages:
        for call in message_calls(message):
            if not parse_arguments(_arguments_of(call))[1]:
                count += 1
    return count


def json_tool_call_line(
    messages: list[dict[str, Any]], tools: list[Any]
) -> tuple[dict[str, Any], int]:
    """The conversation in json_tool_call form, and how many tool arguments did not parse."""
    invalid = 0
    converted = []
    for message in messages:
        out, bad = json_tool_call_message(message)
        converted.append(out)
        invalid += bad
    return {"messages": converted, "tools": [flatten_tool(t) for t in tools]}, invalid


def json_tool_call_message(message: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """One message in json_tool_call form, and how many of its tool arguments did not parse."""
    role = message.get("role")
    if role == "developer":
        role = "system"
    content = message.get("content")
    invalid = 0
    calls = message_calls(message)
    if role == "tool":
        call_id = message.get("tool_call_id") or ""
        text = f'<tool_result tool_call_id="{call_id}">{_flat_text(content)}</tool_result>'
    elif calls:
        lines = [_flat_text(content)] if content else []
        for call in calls:
            line, ok = tool_call_text(call)
            lines.append(line)
            invalid += not ok
        text = "\n".join(line for line in lines if line)
    else:
        text = _content(content)
    out: dict[str, Any] = {"role": role, "content": text}
    for key, value in message.items():
        if value is not None and key not in _DROPPED and not key.startswith("_"):
            out[key] = value
    return out, invalid


def tool_call_text(call: Any) -> tuple[str, bool]:
    """One `<tool_call>` line, and whether its arguments parsed."""
    spec = spec_of(call)
    arguments, ok = parse_arguments(_arguments_of(call))
    payload = {"name": spec.get("name") or "", "arguments": arguments}
    return f"<tool_call>{encode_json(payload)}</tool_call>", ok


def flatten_tool(tool: Any) -> dict[str, Any]:
    spec = spec_of(tool)
    if spec is tool and type(tool) is dict and "name" not in tool:
        spec = {}
    parameters = spec.get("parameters")
    return {
        "name": spec.get("name") or (tool.get("type") if type(tool) is dict else None) or "",
        "description": spec.get("description") or "",
        "parameters": parameters if type(parameters) is dict else _NO_PARAMETERS,
    }


def _arguments_of(call: Any) -> Any:
    spec = spec_of(call)
    return spec.get("arguments", spec.get("input"))


def _content(content: Any) -> Any:
    if content is None:
        return ""
    if type(content) is list:
        text = joined_text(content)
        if text is not None:
            return text
    return content


def _flat_text(content: Any) -> str:
    """Content as one string: list parts joined by newlines, non-text parts as JSON."""
    text = plain_text(content)
    if text is not None:
        return text
    pieces = []
    for part in content:
        if type(part) is dict and type(part.get("text")) is str:
            pieces.append(part["text"])
        else:
            pieces.append(encode_json(part))
    return "\n".join(pieces)
