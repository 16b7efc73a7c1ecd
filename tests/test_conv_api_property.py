"""A reply and the same turn resent by the client have the same keys, for random model turns.

Resending changes what clients change: item and block ids, `status`, `phase`, annotations,
citations, cache markers and encrypted reasoning go or move, thinking may be dropped, a text-only
Anthropic turn may come back as one string. None of that may change what folding compares.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from albicilla.conv.apis import to_exchange
from albicilla.conv.apis.common import ChatForm, Context
from albicilla.conv.keys import message_key

TEXT = st.text(alphabet="ab \n{}\"'é", max_size=6)
ARGUMENTS = st.dictionaries(st.sampled_from(["path", "n", "ü"]), st.integers(0, 3), max_size=2)


def _ids(draw: Any) -> str:
    return draw(st.sampled_from(["c1", "c2", "c3"]))


@st.composite
def response_item(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["reasoning", "message", "function_call", "custom", "hosted"]))
    if kind == "reasoning":
        summary = [{"type": "summary_text", "text": t} for t in draw(st.lists(TEXT, max_size=2))]
        return {"id": "rs", "type": "reasoning", "summary": summary, "encrypted_content": "gA"}
    if kind == "message":
        parts = [
            {"type": "output_text", "text": t, "annotations": []}
            for t in draw(st.lists(TEXT, min_size=1, max_size=3))
        ]
        return {
            "id": "msg",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "phase": "commentary",
            "content": parts,
        }
    if kind == "function_call":
        arguments = json.dumps(draw(ARGUMENTS))
        return {
            "id": "fc",
            "type": "function_call",
            "status": "completed",
            "call_id": _ids(draw),
            "name": draw(st.sampled_from(["ls", "cat"])),
            "arguments": arguments,
        }
    if kind == "custom":
        return {
            "id": "ctc",
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": _ids(draw),
            "name": "apply_patch",
            "input": draw(TEXT),
        }
    return {"id": "ws", "type": "web_search_call", "status": "completed", "action": {}}


def _resent_item(item: dict[str, Any], drop_reasoning: bool) -> dict[str, Any] | None:
    if item["type"] == "reasoning" and drop_reasoning:
        return None
    resent = {k: v for k, v in item.items() if k not in ("id", "status", "phase")}
    if item["type"] == "reasoning":
        resent.pop("encrypted_content")
    if item["type"] == "message":
        resent["content"] = [{"type": "output_text", "text": p["text"]} for p in item["content"]]
    return resent


def _keys(messages: list[dict[str, Any]]) -> list[Any]:
    return [message_key(m) for m in messages]


def _responses(items: list[Any], output: list[Any]) -> dict[str, Any]:
    return {
        "endpoint": "/v1/responses",
        "request": {"model": "m", "input": items},
        "response": {"id": "r", "object": "response", "status": "completed", "output": output},
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(response_item(), min_size=1, max_size=6), st.booleans())
def test_responses_reply_and_its_resend_have_the_same_keys(
    output: list[dict[str, Any]], drop_reasoning: bool
) -> None:
    if not any(item["type"] in {"message", "function_call", "custom_tool_call"} for item in output):
        return  # a turn of reasoning or hosted calls only has no message to resend
    task = {"role": "user", "content": "Go"}
    first = to_exchange(_responses([task], output), Context())
    resent = [r for i in output if (r := _resent_item(i, drop_reasoning)) is not None]
    later = to_exchange(
        _responses(
            [task, *resent, {"role": "user", "content": "Next"}],
            [{"type": "message", "role": "assistant", "content": []}],
        ),
        Context(),
    )
    assert isinstance(first, ChatForm) and isinstance(later, ChatForm)
    assert _keys([*first.messages, *first.replies]) == _keys(later.messages[:-1])


@st.composite
def anthropic_block(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "thinking", "tool_use", "redacted", "server"]))
    if kind == "text":
        return {"type": "text", "text": draw(TEXT)}
    if kind == "thinking":
        return {"type": "thinking", "thinking": draw(TEXT), "signature": "sig"}
    if kind == "tool_use":
        return {"type": "tool_use", "id": _ids(draw), "name": "Read", "input": draw(ARGUMENTS)}
    if kind == "redacted":
        return {"type": "redacted_thinking", "data": "opaque"}
    return {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}


def _anthropic(turns: list[Any], content: list[Any]) -> dict[str, Any]:
    return {
        "endpoint": "/v1/messages",
        "request": {"model": "m", "max_tokens": 9, "messages": turns},
        "response": {"type": "message", "role": "assistant", "content": content},
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(anthropic_block(), min_size=1, max_size=6), st.booleans(), st.booleans())
def test_anthropic_reply_and_its_resend_have_the_same_keys(
    blocks: list[dict[str, Any]], drop_thinking: bool, as_string: bool
) -> None:
    task = {"role": "user", "content": [{"type": "text", "text": "Go"}]}
    first = to_exchange(_anthropic([task], blocks), Context())
    resent: Any = [
        {**b, "cache_control": {"type": "ephemeral"}} if b["type"] == "text" else b
        for b in blocks
        if not (drop_thinking and b["type"] in ("thinking", "redacted_thinking"))
    ]
    if as_string and all(b["type"] == "text" for b in resent):
        resent = "".join(b["text"] for b in resent)
    turns = [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": resent},
        {"role": "user", "content": "Next"},
    ]
    later = to_exchange(_anthropic(turns, [{"type": "text", "text": "Ok"}]), Context())
    assert isinstance(first, ChatForm) and isinstance(later, ChatForm)
    assert _keys([*first.messages, *first.replies]) == _keys(later.messages[:-1])
