"""`/v1/messages` (Anthropic) records mapped to chat form, the same way for a reply and its resend.

- `system` (a string or text blocks) becomes one leading system message, its blocks joined by
  newlines; Claude Code's `x-anthropic-billing-header:` block, different on every request, is
  dropped first (a text that starts with such a line loses only that line). A mid-conversation
  `role: "system"` message (Claude Code >= 2.1.154) and a `mid_conv_system` block become a
  system message where they stand.
- A user turn gives one `tool` message per `tool_result` block first (`"_is_error": true` kept
  when the result says so), then a user message with the other blocks: a string when they are
  all text (joined by newlines, as a plain string turn compares), else chat parts.
- An assistant turn is one message: text blocks joined with "", `tool_use` blocks as
  `tool_calls` (arguments `json.dumps(input)`, or the raw string the proxy marked
  `_invalid_input`), `thinking` as `reasoning_content`; redacted thinking and server-tool blocks
  are dropped (counted once, in the reply that produced them).
- The reply is the response Message mapped as an assistant turn; when the request ends with an
  assistant turn (a prefill, a `pause_turn`), the reply continues that turn.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..chatform import encode_json, joined_text
from .common import (
    BAD_MESSAGES,
    NO_MESSAGES,
    NOT_MESSAGE,
    REDACTED_THINKING,
    SERVER_TOOL_BLOCK,
    UNKNOWN_ITEM,
    ChatForm,
    Context,
    assistant_message,
    function_call,
    function_tool,
    without,
)

BILLING_HEADER = "x-anthropic-billing-header:"
_TEXT = frozenset(("text",))
_MARKERS = frozenset(("cache_control", "citations"))


def messages_exchange(record: dict[str, Any], context: Context) -> ChatForm | str:
    """The record in chat form, or the reason it is skipped."""
    request = record.get("request")
    turns = request.get("messages") if type(request) is dict else None
    if type(turns) is not list:
        return NO_MESSAGES
    response = record.get("response")
    if type(response) is not dict or response.get("type", "message") != "message":
        return NOT_MESSAGE
    reply_blocks = response.get("content")
    if type(reply_blocks) is not list:
        return NOT_MESSAGE
    if not all(type(turn) is dict for turn in turns):
        return BAD_MESSAGES

    if turns and turns[-1].get("role") == "assistant":
        # A prefill: the reply goes on with that turn, as the client will resend it.
        reply_blocks = _blocks(turns[-1].get("content")) + reply_blocks
        turns = turns[:-1]
    memo = context.memo("messages")
    start, mapped = memo.prefix(turns)
    cuts = [(start, len(mapped))] if start else []
    for position in range(start, len(turns)):
        _add_turn(mapped, turns[position])
        cuts.append((position + 1, len(mapped)))
    memo.keep(turns, mapped, cuts)
    _count_dropped(response.get("content"), context.dropped)
    system = system_text(request.get("system"))
    messages = [{"role": "system", "content": system}, *mapped] if system else mapped[:]
    return ChatForm(messages, [assistant_turn(reply_blocks)], chat_tools(request.get("tools")))


def system_text(system: Any) -> str:
    """`system` as one string: text blocks joined by newlines, billing-header lines left out."""
    if type(system) is str:
        return _without_billing_header(system)
    if type(system) is not list:
        return ""
    texts = []
    for block in system:
        if type(block) is dict and block.get("type", "text") == "text":
            text = block.get("text")
            if type(text) is str:
                text = _without_billing_header(text)
                if text:
                    texts.append(text)
    return "\n".join(texts)


def _without_billing_header(text: str) -> str:
    """The text without a leading billing-header line (Claude Code's is a block of its own)."""
    if not text.startswith(BILLING_HEADER):
        return text
    _, _, rest = text.partition("\n")
    return rest


def assistant_turn(content: Any) -> dict[str, Any]:
    """An assistant turn (a string or blocks) as one chat message."""
    if type(content) is not list:
        return {"role": "assistant", "content": content if type(content) is str else ""}
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        if type(block) is not dict:
            continue
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if type(text) is str:
                texts.append(text)
        elif kind == "tool_use":
            calls.append(function_call(block.get("id"), block.get("name"), _arguments(block)))
        elif kind == "thinking":
            thinking = block.get("thinking")
            if type(thinking) is str:
                reasoning.append(thinking)
    text = "".join(texts) if texts else (None if calls else "")
    return assistant_message(text, reasoning, calls)


def chat_tools(tools: Any) -> list[dict[str, Any]]:
    """Client tools as chat function tools; server tools (no `input_schema`) cannot be."""
    if type(tools) is not list:
        return []
    return [
        function_tool(tool["name"], tool.get("description"), tool["input_schema"])
        for tool in tools
        if type(tool) is dict and type(tool.get("name")) is str and "input_schema" in tool
    ]


def _add_turn(messages: list[dict[str, Any]], turn: dict[str, Any]) -> None:
    role = turn.get("role")
    content = turn.get("content")
    if role == "assistant":
        messages.append(assistant_turn(content))
    elif role == "system":
        text = system_text(content)
        if text:
            messages.append({"role": "system", "content": text})
    elif type(content) is list:
        _add_user_blocks(messages, role, content)
    else:
        messages.append({"role": role, "content": content})


def _add_user_blocks(messages: list[dict[str, Any]], role: Any, blocks: list[Any]) -> None:
    """Tool results first (the API puts them first), then the other blocks in order."""
    pending: list[Any] = []
    after: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type") if type(block) is dict else None
        if kind == "tool_result":
            messages.append(_tool_message(block))
        elif kind == "mid_conv_system":
            if pending:
                after.append({"role": role, "content": _user_content(pending)})
                pending = []
            text = system_text(block.get("content"))
            if text:
                after.append({"role": "system", "content": text})
        else:
            pending.append(block)
    if pending:
        after.append({"role": role, "content": _user_content(pending)})
    messages.extend(after)


def _tool_message(block: dict[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    message: dict[str, Any] = {
        "role": "tool",
        "tool_call_id": block.get("tool_use_id") or "",
        "content": _user_content(content) if type(content) is list else content or "",
    }
    if block.get("is_error") is True:
        message["_is_error"] = True  # no chat field says so; writers strip `_` keys
    return message


def _user_content(blocks: list[Any]) -> Any:
    """All text: one string (newlines between blocks). Otherwise chat parts."""
    text = joined_text(blocks, _TEXT)
    if text is not None:
        return text
    return [_part(block) for block in blocks]


def _part(block: Any) -> Any:
    if type(block) is not dict:
        return block
    kind = block.get("type")
    if kind == "text" and type(block.get("text")) is str:
        return {"type": "text", "text": block["text"]}
    source = block.get("source")
    if kind == "image" and type(source) is dict:
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
            return {"type": "image_url", "image_url": {"url": url}}
        if source.get("type") == "url":
            return {"type": "image_url", "image_url": {"url": source.get("url")}}
    return without(block, _MARKERS)


def _blocks(content: Any) -> list[Any]:
    if type(content) is list:
        return content
    return [{"type": "text", "text": content}] if type(content) is str and content else []


def _arguments(block: dict[str, Any]) -> str:
    value = block.get("input")
    if block.get("_invalid_input") is True and type(value) is str:
        return value  # the proxy could not parse the streamed JSON: keep what the model wrote
    return encode_json({} if value is None else value)


def _count_dropped(blocks: Any, dropped: Counter[str]) -> None:
    if type(blocks) is not list:
        return
    for block in blocks:
        kind = block.get("type") if type(block) is dict else None
        if kind in ("text", "tool_use", "thinking"):
            continue
        if kind == "redacted_thinking":
            dropped[REDACTED_THINKING] += 1
        elif type(kind) is str and kind.endswith(("tool_use", "tool_result")):
            dropped[SERVER_TOOL_BLOCK] += 1
        else:
            dropped[UNKNOWN_ITEM] += 1
