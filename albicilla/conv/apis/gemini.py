"""Gemini (`generateContent`, `streamGenerateContent`) records mapped to chat form; design 14.

Each content becomes Anthropic-shaped blocks and goes through the Anthropic mapping, so text
parts join by the one rule every API uses (user: newlines; assistant: ""):
- `systemInstruction` becomes the system message (its `role` is ignored);
- `user` contents: `functionResponse` parts become `tool` messages first, matched to the call by
  `id`, else by name and order among the previous model turn's calls; a result repeated with the
  same id and content right after itself (Gemini CLI's resumed histories) counts once;
- `model` contents: text joined, `thought` parts as `reasoning_content`, `functionCall` parts as
  `tool_calls` (the part's `id`, else `call_<turn>_<position>`; arguments `json.dumps(args)`);
- other parts (`inlineData`, `executableCode`, ...) are dropped and counted;
- `tools[].functionDeclarations` (`parameters` or `parametersJsonSchema`) become tools.
The reply is the first candidate's content, as the model turn at the end of the history.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .common import BAD_MESSAGES, NO_CHOICES, NO_MESSAGES, ChatForm, Context, function_tool
from .messages import _add_turn, assistant_turn, system_text

GEMINI_PART = "gemini part"
REPEATED_RESULT = "repeated tool result"
_encode = json.JSONEncoder(ensure_ascii=False).encode


def gemini_exchange(record: dict[str, Any], context: Context) -> ChatForm | str:
    """The record in chat form, or the reason it is skipped."""
    request = record.get("request")
    contents = request.get("contents") if type(request) is dict else None
    if type(contents) is not list:
        return NO_MESSAGES
    if not all(type(c) is dict for c in contents):
        return BAD_MESSAGES
    response = record.get("response")
    candidates = response.get("candidates") if type(response) is dict else None
    if type(candidates) is not list or not candidates or type(candidates[0]) is not dict:
        return NO_CHOICES
    reply_content = candidates[0].get("content")
    reply_parts = reply_content.get("parts") if type(reply_content) is dict else None
    dropped: Counter[str] = Counter()
    messages: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []  # the previous model turn's calls, for id-less results
    # Parts of earlier turns were counted in the record that first sent them.
    history: Counter[str] = Counter()
    for turn, content in enumerate(contents):
        parts = content.get("parts")
        parts = parts if type(parts) is list else []
        counts = dropped if turn == len(contents) - 1 else history
        if content.get("role") == "model":
            blocks, calls = _model_blocks(parts, turn, counts)
            messages.append(assistant_turn(blocks))
        else:
            _add_turn(messages, {"role": "user", "content": _user_blocks(parts, calls, counts)})
    reply_blocks, _ = _model_blocks(reply_parts or [], len(contents), Counter())
    _count_reply(reply_parts, context.dropped)
    dropped[REPEATED_RESULT] += history[REPEATED_RESULT]  # a resumed history: per record
    context.dropped.update(+dropped)
    system = _system(request.get("systemInstruction"))
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return ChatForm(messages, [assistant_turn(reply_blocks)], _tools(request.get("tools")))


def _system(instruction: Any) -> str:
    if type(instruction) is str:
        return instruction
    parts = instruction.get("parts") if type(instruction) is dict else None
    if type(parts) is not list:
        return ""
    return system_text(
        [
            {"type": "text", "text": p["text"]}
            for p in parts
            if type(p) is dict and type(p.get("text")) is str
        ]
    )


def _model_blocks(
    parts: list[Any], turn: int, dropped: Counter[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for position, part in enumerate(parts):
        if type(part) is not dict:
            continue
        text, call = part.get("text"), part.get("functionCall")
        if type(text) is str:
            if part.get("thought") is True:
                blocks.append({"type": "thinking", "thinking": text})
            elif text or "thoughtSignature" not in part:  # a signature-only part adds nothing
                blocks.append({"type": "text", "text": text})
        elif type(call) is dict:
            call_id = call.get("id")
            block = {
                "type": "tool_use",
                "name": call.get("name"),
                "id": call_id if type(call_id) is str and call_id else f"call_{turn}_{position}",
                "input": call.get("args") if type(call.get("args")) is dict else {},
            }
            blocks.append(block)
            calls.append(block)
        else:
            dropped[GEMINI_PART] += 1
    return blocks, calls


def _user_blocks(
    parts: list[Any], calls: list[dict[str, Any]], dropped: Counter[str]
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    unmatched = list(calls)
    last: tuple[Any, str] | None = None
    for part in parts:
        if type(part) is not dict:
            continue
        result = part.get("functionResponse")
        if type(result) is dict:
            call_id = result.get("id")
            content = _result_text(result.get("response"))
            if last is not None and last == (call_id, content) and call_id:
                dropped[REPEATED_RESULT] += 1
                continue
            last = (call_id, content)
            if not (type(call_id) is str and call_id):
                call_id = _match(unmatched, result.get("name"))
            else:
                unmatched = [c for c in unmatched if c["id"] != call_id]
            blocks.append({"type": "tool_result", "tool_use_id": call_id, "content": content})
            continue
        last = None
        if type(part.get("text")) is str:
            blocks.append({"type": "text", "text": part["text"]})
        else:
            dropped[GEMINI_PART] += 1
    return blocks


def _match(unmatched: list[dict[str, Any]], name: Any) -> str:
    """The first call not yet answered with this name (by name and order)."""
    for i, call in enumerate(unmatched):
        if call["name"] == name:
            return unmatched.pop(i)["id"]
    return ""


def _result_text(response: Any) -> str:
    """A `{"output": text}` response is its text; anything else its JSON."""
    if type(response) is dict and len(response) == 1:
        value = next(iter(response.values()))
        if type(value) is str and next(iter(response)) in ("output", "content", "result"):
            return value
    return response if type(response) is str else _encode(response)


def _count_reply(parts: Any, dropped: Counter[str]) -> None:
    for part in parts if type(parts) is list else ():
        if type(part) is dict and "text" not in part and "functionCall" not in part:
            dropped[GEMINI_PART] += 1


def _tools(tools: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools if type(tools) is list else ():
        declarations = tool.get("functionDeclarations") if type(tool) is dict else None
        for decl in declarations if type(declarations) is list else ():
            if type(decl) is dict and type(decl.get("name")) is str:
                parameters = decl.get("parametersJsonSchema", decl.get("parameters"))
                out.append(function_tool(decl["name"], decl.get("description"), parameters))
    return out
