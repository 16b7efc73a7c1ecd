"""The `hf` format: what Hugging Face chat templates, TRL, Axolotl and Unsloth take.

`docs/training-formats.md` section 9.2, exactly:
- roles `system`, `user`, `assistant`, `tool`; `developer` is `system`; the leading system and
  developer messages are joined with a blank line into one (empty ones left out); a later one
  stays where it is (the checks report it); a legacy `function` result is a `tool` message;
- `content` always a string: `null` is `""`, text parts are joined with `""`, other parts are
  dropped (and noted);
- message keys: `role`, `content`, plus `reasoning_content` (assistant, a non-empty string, also
  taken from `reasoning` or `thinking`) and `tool_calls` (assistant), `tool_call_id` and `name`
  (tool); nothing else;
- each call `{"id", "type": "function", "function": {"name", "arguments": object}}` in `index`
  order, arguments parsed from their JSON string (empty is `{}`); a legacy `function_call` is one
  call `call_<i>_0` and a call without an id gets `call_<i>_<n>` (i: its message's index in the
  line), and the tool results paired with it by position get the same id;
- a tool message's `name` is the name of the call it answers;
- `tools` wrapped as `{"type": "function", "function": {"name", "description", "parameters",
  ...}}`, other keys of the definition kept unless null, one per name.
A line with arguments that are not JSON, or not an object, is not written: a template would
train on garbage or fail. A custom tool's raw input becomes the arguments `{"input": RAW}`, as the
Responses mapping writes it.
"""

from __future__ import annotations

from typing import Any

from .chatform import is_text_part, message_calls, parse_arguments, plain_text, spec_of
from .checks import Problem, arguments_problem
from .formats import Formatted

ARGUMENTS_NOT_JSON = "tool arguments not JSON"
ARGUMENTS_NOT_OBJECT = "tool arguments not a JSON object"
MALFORMED_CALL = "malformed tool call"
UNSUPPORTED_ROLE = "unsupported role"
NON_TEXT_DROPPED = "non-text content dropped"
TOOL_DROPPED = "tool definition without a name dropped"

_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
_INPUT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
}
_SPEC_KEYS = frozenset(("name", "description", "parameters", "type"))
_SYSTEM_ROLES = ("system", "developer")


class _Drop(Exception):
    """The line cannot be written in hf form; the message is the reason."""


def hf_writer(messages: list[dict[str, Any]], tools: list[Any]) -> Formatted:
    """The conversation as one hf line, or the reason it is not written."""
    notes: list[Problem] = []
    try:
        converted = _messages(messages, notes)
    except _Drop as drop:
        return Formatted(None, dropped=str(drop), invalid_arguments=_not_json(messages))
    return Formatted(
        {"messages": converted, "tools": hf_tools(tools, notes)},
        invalid_arguments=0,
        notes=tuple(notes),
    )


def _messages(messages: list[dict[str, Any]], notes: list[Problem]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    system = []
    while start < len(messages) and messages[start].get("role") in _SYSTEM_ROLES:
        text = _text(messages[start].get("content"), f"messages[{start}]", notes)
        if text:
            system.append(text)
        start += 1
    if start:
        out.append({"role": "system", "content": "\n\n".join(system)})
    names: dict[str, str] = {}  # call id -> name, over the whole conversation
    run: list[str] = []  # ids of the latest assistant's calls, for results paired by position
    position = 0
    for index in range(start, len(messages)):
        message = messages[index]
        role = message.get("role")
        path = f"messages[{index}]"
        content = _text(message.get("content"), path, notes)
        if role in ("tool", "function"):
            call_id = message.get("tool_call_id")
            if type(call_id) is not str or not call_id:
                call_id = run[position] if position < len(run) else ""
            position += 1
            name = names.get(call_id) or message.get("name")
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "name": name if type(name) is str else "",
                    "content": content,
                }
            )
            continue
        run, position = [], 0
        if role in _SYSTEM_ROLES or role == "user":
            out.append({"role": "system" if role != "user" else "user", "content": content})
        elif role == "assistant":
            reply: dict[str, Any] = {"role": "assistant", "content": content}
            reasoning = _reasoning(message)
            if reasoning:
                reply["reasoning_content"] = reasoning
            calls = _calls(message, len(out))
            if calls:
                reply["tool_calls"] = calls
                run = [c["id"] for c in calls]
                names.update((c["id"], c["function"]["name"]) for c in calls)
            out.append(reply)
        else:
            raise _Drop(UNSUPPORTED_ROLE)
    return out


def _calls(message: dict[str, Any], index: int) -> list[dict[str, Any]]:
    found = message_calls(message)
    if any(type(c) is not dict for c in found):
        raise _Drop(MALFORMED_CALL)
    if found and all(type(c.get("index")) is int for c in found):
        found = sorted(found, key=lambda c: c["index"])  # stable: equal indices keep their order
    calls = []
    for number, call in enumerate(found):
        spec = spec_of(call)
        name = spec.get("name")
        if type(name) is not str or not name:
            raise _Drop(MALFORMED_CALL)  # a template would render a call of nothing
        call_id = call.get("id")
        calls.append(
            {
                "id": call_id if type(call_id) is str and call_id else f"call_{index}_{number}",
                "type": "function",
                "function": {"name": name, "arguments": _args(spec)},
            }
        )
    return calls


def _args(spec: dict[str, Any]) -> dict[str, Any]:
    if "arguments" not in spec and type(spec.get("input")) is str:
        return {"input": spec["input"]}
    arguments, parsed = parse_arguments(spec.get("arguments"))
    if not parsed:
        raise _Drop(ARGUMENTS_NOT_JSON)
    if type(arguments) is not dict:
        raise _Drop(ARGUMENTS_NOT_OBJECT)
    return arguments


def _reasoning(message: dict[str, Any]) -> str | None:
    for key in ("reasoning_content", "reasoning", "thinking"):
        value = message.get(key)
        if type(value) is str and value:
            return value
    return None


def _text(content: Any, path: str, notes: list[Problem]) -> str:
    text = plain_text(content)
    if text is not None:
        return text
    texts = []
    dropped = []
    for part in content:
        if is_text_part(part):
            texts.append(part["text"])
        else:
            dropped.append(str(part.get("type")) if type(part) is dict else type(part).__name__)
    if dropped:
        notes.append(Problem(NON_TEXT_DROPPED, path, ", ".join(dropped)))
    return "".join(texts)


def hf_tools(tools: list[Any], notes: list[Problem]) -> list[dict[str, Any]]:
    """Tool definitions wrapped as functions, first definition of a name kept."""
    out: dict[str, dict[str, Any]] = {}
    for position, tool in enumerate(tools):
        function = _function(tool)
        if function is None:
            notes.append(Problem(TOOL_DROPPED, f"tools[{position}]", _kind(tool)))
        elif function["name"] not in out:
            out[function["name"]] = {"type": "function", "function": function}
    return list(out.values())


def _function(tool: Any) -> dict[str, Any] | None:
    spec = spec_of(tool)
    name = spec.get("name")
    if type(name) is not str or not name:
        return None
    custom = tool.get("type") == "custom"
    description = spec.get("description")
    parameters = spec.get("parameters")
    function: dict[str, Any] = {
        "name": name,
        "description": description if type(description) is str else "",
        "parameters": parameters
        if type(parameters) is dict
        else (_INPUT_PARAMETERS if custom else _NO_PARAMETERS),
    }
    if not custom:  # a custom tool's `format` describes raw input, not these arguments
        for key, value in spec.items():
            if key not in _SPEC_KEYS and value is not None and not key.startswith("_"):
                function[key] = value
    return function


def _kind(tool: Any) -> str:
    kind = tool.get("type") if type(tool) is dict else None
    return kind if type(kind) is str else type(tool).__name__


def _not_json(messages: list[dict[str, Any]]) -> int:
    return sum(
        arguments_problem(spec_of(call)) == "not JSON"
        for message in messages
        for call in message_calls(message)
    )
