"""The linear folding agrees with the definition checked pair by pair, on random sessions.

Definition: each record's request plus each of its replies is a candidate; a candidate is dropped
when some other record's request starts with all of its messages; identical candidates are one.
What is left is what must be written, no more and no less. Messages are compared the way folding
compares them (role, text, tool calls by name and parsed arguments, tool-call id, null == "").
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from albicilla.conv.fold import SessionFolder

# Few distinct messages, so random sessions share prefixes, branch and repeat themselves.
MESSAGES = [
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "u1"},
    {"role": "user", "content": "u2"},
    {"role": "assistant", "content": "a1"},
    {"role": "assistant", "content": "a2"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "r1"},
    # The same messages as an agent may resend them: equal for folding, not as dicts.
    {"role": "assistant", "content": "a1", "refusal": None},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"type": "function", "id": "c1", "function": {"arguments": '{ "x":1 }', "name": "f"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "r1"}]},
    {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": '{"x": 2}'}}]},
    {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": '{"x":2}'}}]},
]


def same(message: dict[str, Any]) -> tuple[Any, ...]:
    """What folding compares, written out independently of the converter's own keys."""
    content = message.get("content") or ""
    if isinstance(content, list):
        content = "\n".join(part["text"] for part in content)
    calls = tuple(
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls") or []
    )
    return (message["role"], content, message.get("tool_call_id") or "", repr(calls))


message = st.sampled_from(MESSAGES)


@st.composite
def sessions(draw: st.DrawFn) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Records that mostly continue, truncate or replay earlier conversations."""
    records: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
    for _ in range(draw(st.integers(1, 12))):
        fulls = [request + [reply] for request, replies in records for reply in replies]
        how = draw(st.sampled_from(["continue", "continue", "truncate", "fresh"]))
        if fulls and how != "fresh":
            base = draw(st.sampled_from(fulls))
            if how == "truncate":
                base = base[: draw(st.integers(0, len(base)))]
        else:
            base = []
        request = base + draw(st.lists(message, max_size=3))
        replies = draw(st.lists(message, min_size=1, max_size=2))
        records.append((request, replies))
    return records


def expected(records: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> list[Any]:
    requests = [[same(m) for m in request] for request, _ in records]
    kept = set()
    for i, (request, replies) in enumerate(records):
        for reply in replies:
            full = [same(m) for m in request + [reply]]
            extended = any(
                k != i and other[: len(full)] == full for k, other in enumerate(requests)
            )
            if not extended:
                kept.add(tuple(full))
    return sorted(kept)


@settings(max_examples=400, deadline=None)
@given(sessions())
def test_folding_matches_the_pairwise_definition(records: list) -> None:
    folder = SessionFolder()
    for request, replies in records:
        assert folder.add(request, replies, [])
    written = [tuple(same(m) for m in messages) for messages, _ in folder.conversations()]
    assert len(written) == len(set(written)), "a conversation was written twice"
    assert sorted(written) == expected(records)
