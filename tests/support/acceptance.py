"""Acceptance checks of converter output (docs/training-formats.md 9.1), apart from the converter.

`check_file(path, fmt)` gives `(line number, problem)` pairs. Two readings of the spec, written
down: a value inside tool-call `arguments` or tool `parameters` is the model's or the schema's
own data (`{"path": null}` is a real call), so the null and cross-line type rules stop at those
keys; and a call left unanswered at the very end of a line (a trajectory that ends on a call) is
fine, since "answered before the next non-tool message" only binds when one follows.
"""

from __future__ import annotations

import json
import re
from typing import Any

ROLES = {"system", "user", "assistant", "tool"}
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_RESULT = re.compile(r'^<tool_result tool_call_id="[^"]*">.*</tool_result>$', re.DOTALL)
TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
PAYLOAD = {"arguments", "parameters"}
ASSISTANT_KEYS = {
    "native": {"role", "content", "name", "tool_calls", "weight", "refusal"},
    "hf": {"role", "content", "reasoning_content", "tool_calls"},
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_file(path: str, fmt: str) -> list[tuple[int, str]]:
    """Every problem of every line of one output file, with its 1-based line number."""
    with open(path, "rb") as handle:
        data = handle.read()
    problems: list[tuple[int, str]] = []
    if data and not data.endswith(b"\n"):
        problems.append((data.count(b"\n") + 1, "last line not newline-terminated"))
    seen: dict[str, tuple[str, int]] = {}  # key path -> (JSON type, first line)
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append((number, f"not a UTF-8 JSON line: {exc}"))
            continue
        problems.extend((number, p) for p in check_line(line, fmt))
        for key, kind in _types(line, ""):
            first = seen.setdefault(key, (kind, number))
            if first[0] != kind:
                problems.append(
                    (number, f"type drift at {key}: {kind}, {first[0]} on line {first[1]}")
                )
    return problems


def check_line(line: Any, fmt: str) -> list[str]:
    """The problems of one parsed line in format `fmt` (json_tool_call, native or hf)."""
    if type(line) is not dict:
        return ["line is not an object"]
    allowed = {"messages", "tools"} | ({"parallel_tool_calls"} if fmt == "native" else set())
    problems = [f"top-level key {k!r}" for k in line if k not in allowed]
    if set(line) < {"messages", "tools"}:
        problems.append("missing messages or tools")
    if "parallel_tool_calls" in line and type(line["parallel_tool_calls"]) is not bool:
        problems.append("parallel_tool_calls is not a boolean")
    messages = line.get("messages")
    if type(messages) is not list or not messages:
        return [*problems, "messages is not a non-empty list"]
    if not all(type(m) is dict and type(m.get("role")) is str for m in messages):
        return [*problems, "a message is not an object with a string role"]
    if not any(m["role"] == "assistant" for m in messages):
        problems.append("no assistant message")
    problems.extend(_nulls(line, "", fmt))
    tools = line.get("tools")
    if fmt == "hf" and type(tools) is str:  # --hf-tools-as-string
        try:
            tools = json.loads(tools)
        except ValueError:
            return [*problems, "tools string is not JSON"]
    if type(tools) is not list:
        return [*problems, "tools is not a list"]
    if fmt == "json_tool_call":
        return problems + _json_tool_call(messages, tools)
    return problems + _structured(messages, tools, fmt)


def _nulls(value: Any, path: str, fmt: str) -> list[str]:
    if type(value) is dict:
        found = []
        for key, item in value.items():
            if item is None:
                native_call_turn = fmt == "native" and key == "content" and value.get("tool_calls")
                if not native_call_turn:
                    found.append(f"null at {path}.{key}")
            elif key not in PAYLOAD:
                found.extend(_nulls(item, f"{path}.{key}", fmt))
        return found
    if type(value) is list:
        return [p for i, item in enumerate(value) for p in _nulls(item, f"{path}[{i}]", fmt)]
    return []


def _types(value: Any, path: str) -> list[tuple[str, str]]:
    """(key path with list positions folded, JSON type) of every non-null value outside payloads."""
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
    out = [] if kind == "null" else [(path, kind)]
    if type(value) is dict:
        for key, item in value.items():
            out.extend(_types(item, f"{path}.{key}") if key not in PAYLOAD else [])
    elif type(value) is list:
        for item in value:
            out.extend(_types(item, f"{path}[]"))
    return out


def _json_tool_call(messages: list[dict[str, Any]], tools: list[Any]) -> list[str]:
    problems = []
    for i, message in enumerate(messages):
        if not set(message) <= {"role", "content", "name", "reasoning_content"}:
            problems.append(f"messages[{i}] keys {sorted(message)}")
        if message["role"] not in ROLES:
            problems.append(f"messages[{i}] role {message['role']!r}")
        content = message.get("content")
        if type(content) is not str:
            problems.append(f"messages[{i}] content is not a string")
            continue
        if message["role"] == "tool" and not TOOL_RESULT.match(content):
            problems.append(f"messages[{i}] tool message is not one <tool_result>")
        if content.count("<tool_call>") != content.count("</tool_call>"):
            problems.append(f"messages[{i}] unbalanced <tool_call> tags")
        for body in TOOL_CALL.findall(content):
            if "<tool_call>" in body:
                problems.append(f"messages[{i}] nested <tool_call>")
                continue
            try:
                parsed = json.loads(body)
            except ValueError:
                problems.append(f"messages[{i}] <tool_call> body is not JSON")
                continue
            if type(parsed) is not dict or set(parsed) != {"name", "arguments"}:
                problems.append(f"messages[{i}] <tool_call> body is not {{name, arguments}}")
            elif type(parsed["name"]) is not str or type(parsed["arguments"]) is not dict:
                problems.append(f"messages[{i}] <tool_call> arguments are not an object")
    for i, tool in enumerate(tools):
        if type(tool) is not dict or set(tool) != {"name", "description", "parameters"}:
            problems.append(f"tools[{i}] is not {{name, description, parameters}}")
    return problems


def _structured(messages: list[dict[str, Any]], tools: list[Any], fmt: str) -> list[str]:
    """native and hf: the OpenAI fine-tuning structure; hf with object arguments and tool names."""
    problems = _tool_specs(tools)
    declared = {t["function"]["name"] for t in tools if _is_tool_spec(t)}
    waiting: dict[str, str] = {}  # call id -> name, of the nearest preceding assistant message
    for i, message in enumerate(messages):
        role, where = message["role"], f"messages[{i}]"
        if role not in ROLES:
            problems.append(f"{where} role {role!r}")
        if role == "system" and i:
            problems.append(f"{where} system message after index 0")
        if role != "tool" and waiting:
            problems.append(f"{where} follows unanswered calls {sorted(waiting)}")
            waiting = {}
        if role == "assistant":
            problems.extend(f"{where} key {k!r}" for k in message if k not in ASSISTANT_KEYS[fmt])
            if "weight" in message and message["weight"] not in (0, 1):
                problems.append(f"{where} weight is not 0 or 1")
            calls = message.get("tool_calls")
            content = message.get("content")
            if type(content) is not str and not (fmt == "native" and content is None and calls):
                problems.append(f"{where} content is not a string")
            if calls is not None:
                waiting = {}
                for j, call in enumerate(calls if type(calls) is list else [calls]):
                    problems.extend(_call(call, f"{where}.tool_calls[{j}]", fmt, declared, waiting))
        elif role == "tool":
            keys = {"role", "tool_call_id", "content"} | ({"name"} if fmt == "hf" else set())
            if set(message) != keys:
                problems.append(f"{where} keys {sorted(message)}")
            if type(message.get("content")) is not str:
                problems.append(f"{where} content is not a string")
            call_id = message.get("tool_call_id")
            if type(call_id) is not str or call_id not in waiting:
                problems.append(f"{where} answers no call of the preceding assistant message")
            elif fmt == "hf" and message.get("name") != waiting.pop(call_id):
                problems.append(f"{where} name is not the called function's")
            else:
                waiting.pop(call_id, None)
        elif fmt == "hf" and (
            set(message) != {"role", "content"} or type(message["content"]) is not str
        ):
            problems.append(f"{where} is not exactly {{role, content: string}}")
    return problems


def _call(
    call: Any, where: str, fmt: str, declared: set[str], waiting: dict[str, str]
) -> list[str]:
    function = call.get("function") if type(call) is dict else None
    if (
        type(function) is not dict
        or set(call) != {"id", "type", "function"}
        or call["type"] != "function"
    ):
        return [f"{where} is not exactly {{id, type: function, function}}"]
    problems = []
    if set(function) != {"name", "arguments"}:
        problems.append(f"{where}.function keys {sorted(function)}")
    name, arguments = function.get("name"), function.get("arguments")
    if type(call["id"]) is not str or not call["id"]:
        problems.append(f"{where} id is not a non-empty string")
    else:
        waiting[call["id"]] = name
    if type(name) is not str or not NAME.match(name):
        problems.append(f"{where} name {name!r} is not ^[a-zA-Z0-9_-]{{1,64}}$")
    elif name not in declared:
        problems.append(f"{where} name {name!r} is not in tools")
    if fmt == "hf":
        if type(arguments) is not dict:
            problems.append(f"{where} arguments are not an object")
    elif type(arguments) is not str:
        problems.append(f"{where} arguments are not a string")
    else:
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = None
        if type(parsed) is not dict:
            problems.append(f"{where} arguments are not a JSON object string")
    return problems


def _is_tool_spec(tool: Any) -> bool:
    return (
        type(tool) is dict
        and tool.get("type") == "function"
        and type(tool.get("function")) is dict
        and type(tool["function"].get("name")) is str
    )


def _tool_specs(tools: list[Any]) -> list[str]:
    problems = []
    names = []
    for i, tool in enumerate(tools):
        if not _is_tool_spec(tool) or set(tool) != {"type", "function"}:
            problems.append(f"tools[{i}] is not {{type: function, function: {{name, ...}}}}")
            continue
        function = tool["function"]
        names.append(function["name"])
        if not set(function) <= {"name", "description", "parameters", "strict"}:
            problems.append(f"tools[{i}] function keys {sorted(function)}")
        if "parameters" in function and type(function["parameters"]) is not dict:
            problems.append(f"tools[{i}] parameters is not an object")
    if len(names) != len(set(names)):
        problems.append("tool names are not unique")
    return problems
