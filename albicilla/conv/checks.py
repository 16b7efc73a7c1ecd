"""Checks of one conversation in chat form: what the report lists as problems, and its tool usage.

They run on the conversation as folded, before any format rewrites it, so every format gets the
same problems, and the private markers a mapping adds (`_is_error` on a tool message whose result
was an error) are still there to count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from .chatform import message_calls, parse_arguments, spec_of, text_parts, tool_name

CALL_WITHOUT_RESULT = "call without result"
RESULT_WITHOUT_CALL = "result without call"
INVALID_ARGUMENTS = "invalid arguments"
EMPTY_ASSISTANT = "empty assistant turn"
UNKNOWN_TOOL = "unknown tool name"
LATE_SYSTEM = "late system message"
UNKNOWN_NAME = "(unknown)"  # the tool name of an error result that answers no known call


class Problem(NamedTuple):
    """One finding: its kind, where it is (`messages[3].tool_calls[0]`), and a short detail."""

    kind: str
    path: str
    detail: str


class Findings(NamedTuple):
    problems: list[Problem]
    calls: Counter[str]  # tool calls per tool name
    errors: Counter[str]  # tool results marked `_is_error` per tool name


def arguments_problem(spec: dict[str, Any]) -> str | None:
    """Why the call's arguments are not a JSON object (empty or missing means `{}`), else None.

    A custom tool's raw `input` string is its argument and is fine as it is.
    """
    if "arguments" not in spec and type(spec.get("input")) is str:
        return None
    arguments = spec.get("arguments")
    if arguments is None or type(arguments) is dict:
        return None
    if type(arguments) is not str:
        return "not a JSON string"
    value, parsed = parse_arguments(arguments)
    if not parsed:
        return "not JSON"
    return None if type(value) is dict else "not a JSON object"


def check_conversation(messages: list[dict[str, Any]], tools: list[Any]) -> Findings:
    """Problems of the conversation, and its tool calls and error results per tool name."""
    known = {tool_name(t) for t in tools} - {None}
    problems: list[Problem] = []
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    names: dict[str, str] = {}  # call id -> tool name, over the whole conversation
    waiting: list[tuple[str, str, str]] = []  # (id, path, name) of calls not answered yet
    leading = True
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        role = message.get("role")
        if role not in ("system", "developer"):
            leading = False
        elif not leading:
            problems.append(Problem(LATE_SYSTEM, path, str(role)))
        if role in ("tool", "function"):
            call_id = message.get("tool_call_id")
            match = _answer(waiting, call_id)
            if match is None:
                problems.append(Problem(RESULT_WITHOUT_CALL, path, str(call_id or "")))
                name = names.get(call_id, UNKNOWN_NAME) if type(call_id) is str else UNKNOWN_NAME
            else:
                name = match[2]
            if message.get("_is_error") is True:
                errors[name] += 1
            continue
        _unanswered(waiting, problems)
        if role != "assistant":
            continue
        found = message_calls(message)
        if not found and not _has_text(message.get("content")):
            problems.append(Problem(EMPTY_ASSISTANT, path, ""))
        for position, call in enumerate(found):
            call_path = f"{path}.tool_calls[{position}]"
            spec = spec_of(call)
            name = tool_name(call) or ""
            calls[name] += 1
            if name not in known:
                problems.append(Problem(UNKNOWN_TOOL, call_path, name))
            reason = arguments_problem(spec)
            if reason is not None:
                problems.append(Problem(INVALID_ARGUMENTS, call_path, reason))
            call_id = call.get("id") if type(call) is dict else None
            call_id = call_id if type(call_id) is str else ""
            if call_id:
                names[call_id] = name
            waiting.append((call_id, call_path, name))
    _unanswered(waiting, problems)
    return Findings(problems, calls, errors)


def _answer(waiting: list[tuple[str, str, str]], call_id: Any) -> tuple[str, str, str] | None:
    """Take the call a result answers: by id, or the next call without one when it has none."""
    if type(call_id) is str and call_id:
        for position, entry in enumerate(waiting):
            if entry[0] == call_id:
                return waiting.pop(position)
        return None
    for position, entry in enumerate(waiting):
        if not entry[0]:
            return waiting.pop(position)
    return None


def _unanswered(waiting: list[tuple[str, str, str]], problems: list[Problem]) -> None:
    """Calls still waiting when a message other than a result comes: they never got one."""
    for call_id, path, name in waiting:
        problems.append(Problem(CALL_WITHOUT_RESULT, path, f"{call_id} {name}".strip()))
    waiting.clear()


def _has_text(content: Any) -> bool:
    if content is None:
        return False
    if type(content) is str:
        return bool(content.strip())
    if type(content) is list:
        texts = text_parts(content)
        return bool("".join(texts).strip()) if texts is not None else bool(content)
    return True
