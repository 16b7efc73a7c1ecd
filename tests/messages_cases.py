"""Anthropic streams shaped like Claude Code 2.1.x traffic, and their Messages (by hand)."""

from __future__ import annotations

import json
from typing import Any

FRAMINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}
MODEL = "claude-opus-4-5-20251101"


def encode(events: list[tuple[str | None, Any]], eol: bytes = b"\n") -> bytes:
    """The body as Anthropic frames it: `event:` then one compact, raw UTF-8 `data:` line."""
    out = []
    for name, data in events:
        text = (
            data
            if isinstance(data, str)
            else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        )
        head = b"" if name is None else b"event: " + name.encode() + eol
        out.append(head + b"data: " + text.encode() + eol + eol)
    return b"".join(out)


def start(msg_id: str, usage: dict[str, Any], **extra: Any) -> tuple[str, Any]:
    message = {
        "model": MODEL,
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
        **extra,
    }
    return "message_start", {"type": "message_start", "message": message}


def block(index: int, content_block: dict[str, Any]) -> tuple[str, Any]:
    return "content_block_start", {
        "type": "content_block_start",
        "index": index,
        "content_block": content_block,
    }


def delta(index: int, kind: str, **fields: Any) -> tuple[str, Any]:
    return "content_block_delta", {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": kind, **fields},
    }


def text(index: int, piece: str) -> tuple[str, Any]:
    return delta(index, "text_delta", text=piece)


def json_piece(index: int, piece: str) -> tuple[str, Any]:
    return delta(index, "input_json_delta", partial_json=piece)


def stop(index: int) -> tuple[str, Any]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def message_delta(
    stop_reason: str | None, usage: dict[str, Any], stop_sequence: str | None = None, **extra: Any
) -> tuple[str, Any]:
    return "message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": usage,
        **extra,
    }


PING = ("ping", {"type": "ping"})
MESSAGE_STOP = ("message_stop", {"type": "message_stop"})
SIG = "EqQBCkYIBxgCKkBvX0k3cWJz" + "A" * 40 + "=="

# The main loop after a user prompt: interleaved thinking, text, then two parallel tool calls
# whose input arrives in many pieces (the first one "", some mid-string, one mid-unicode-word).
START_USAGE = {
    "input_tokens": 3,
    "cache_creation_input_tokens": 2411,
    "cache_read_input_tokens": 21530,
    "cache_creation": {"ephemeral_5m_input_tokens": 2411, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 8,
    "service_tier": "standard",
}
TOOL_TURN = [
    start("msg_01XFDUDYJgAACzvnptvVoYEL", START_USAGE),
    block(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, "thinking_delta", thinking="The user wants the tests run"),
    delta(0, "thinking_delta", thinking=" and the README read. Both at once."),
    delta(0, "signature_delta", signature=SIG),
    stop(0),
    PING,
    block(1, {"type": "text", "text": ""}),
    text(1, "I'll run the tests"),
    text(1, " and read the README — "),
    text(1, "naïve 🦅 approach."),
    stop(1),
    block(
        2, {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "Bash", "input": {}}
    ),
    json_piece(2, ""),
    json_piece(2, '{"command": "uv run py'),
    json_piece(2, "test -q"),
    json_piece(2, '", "descr'),
    json_piece(2, 'iption": "Run the t'),
    json_piece(2, "ests \u2014 \u00e9t\u00e9"),
    json_piece(2, ' 🦅"}'),
    stop(2),
    PING,
    block(
        3, {"type": "tool_use", "id": "toolu_01B7m2pQzrTzXKNSvVZ8nnSx", "name": "Read", "input": {}}
    ),
    json_piece(3, ""),
    json_piece(3, '{"file_path": '),
    json_piece(3, ""),
    json_piece(3, '"/work/README.md", "limit": 200, "offset": 0'),
    json_piece(3, "}"),
    stop(3),
    message_delta(
        "tool_use",
        {
            "input_tokens": 3,
            "cache_creation_input_tokens": 2411,
            "cache_read_input_tokens": 21530,
            "output_tokens": 187,
        },
    ),
    MESSAGE_STOP,
]
TOOL_TURN_MESSAGE = {
    "model": MODEL,
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "content": [
        {
            "type": "thinking",
            "thinking": "The user wants the tests run and the README read. Both at once.",
            "signature": SIG,
        },
        {"type": "text", "text": "I'll run the tests and read the README — naïve 🦅 approach."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "Bash",
            "input": {"command": "uv run pytest -q", "description": "Run the tests — été 🦅"},
        },
        {
            "type": "tool_use",
            "id": "toolu_01B7m2pQzrTzXKNSvVZ8nnSx",
            "name": "Read",
            "input": {"file_path": "/work/README.md", "limit": 200, "offset": 0},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "stop_details": None,
    # output_tokens from message_delta; the rest repeated there unchanged; cache_creation and
    # service_tier only in message_start, so kept from it.
    "usage": {**START_USAGE, "output_tokens": 187},
}

# A web search: server_tool_use (input streamed as JSON), its result block complete at start,
# then cited text; the server tool count only in message_delta's usage.
SEARCH_RESULT = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_014hJH82Qum7Td6UZ",
    "content": [
        {
            "type": "web_search_result",
            "title": "Albicilla — Wikipedia",
            "url": "https://en.wikipedia.org/wiki/White-tailed_eagle",
            "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
            "page_age": None,
        }
    ],
}
CITATION = {
    "type": "web_search_result_location",
    "cited_text": "The white-tailed eagle is a very large bird",
    "url": "https://en.wikipedia.org/wiki/White-tailed_eagle",
    "title": "Albicilla — Wikipedia",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0",
}
SEARCH_USAGE = {
    "input_tokens": 2679,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 3,
    "service_tier": "standard",
}
WEB_SEARCH = [
    start("msg_01Sr1Hb2sCmHw8Dj2bzz2Vus", SEARCH_USAGE),
    block(0, {"type": "text", "text": ""}),
    text(0, "Let me look that up."),
    stop(0),
    block(
        1,
        {
            "type": "server_tool_use",
            "id": "srvtoolu_014hJH82Qum7Td6UZ",
            "name": "web_search",
            "input": {},
        },
    ),
    json_piece(1, ""),
    json_piece(1, '{"query": "white-tailed'),
    json_piece(1, ' eagle size"}'),
    stop(1),
    block(2, SEARCH_RESULT),
    stop(2),
    block(3, {"type": "text", "text": ""}),
    text(3, "It is "),
    stop(3),
    block(4, {"type": "text", "text": "", "citations": []}),
    delta(4, "citations_delta", citation=CITATION),
    text(4, "a very large bird"),
    delta(4, "citations_delta", citation={**CITATION, "encrypted_index": "Eo8BCioIAhgBIiQz"}),
    stop(4),
    PING,
    block(5, {"type": "text", "text": ""}),
    text(5, "."),
    stop(5),
    message_delta(
        "end_turn",
        {
            "input_tokens": 10682,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 510,
            "server_tool_use": {"web_search_requests": 1},
        },
    ),
    MESSAGE_STOP,
]
WEB_SEARCH_MESSAGE = {
    "model": MODEL,
    "id": "msg_01Sr1Hb2sCmHw8Dj2bzz2Vus",
    "type": "message",
    "role": "assistant",
    "content": [
        {"type": "text", "text": "Let me look that up."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_014hJH82Qum7Td6UZ",
            "name": "web_search",
            "input": {"query": "white-tailed eagle size"},
        },
        SEARCH_RESULT,
        {"type": "text", "text": "It is "},
        {
            "type": "text",
            "text": "a very large bird",
            "citations": [CITATION, {**CITATION, "encrypted_index": "Eo8BCioIAhgBIiQz"}],
        },
        {"type": "text", "text": "."},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "stop_details": None,
    "usage": {
        "input_tokens": 10682,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 510,
        "service_tier": "standard",
        "server_tool_use": {"web_search_requests": 1},
    },
}

# Redacted thinking arrives whole; a tool with no arguments sends only "" pieces; a stop sequence.
SMALL_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": None,
    "cache_read_input_tokens": None,
    "output_tokens": 1,
}
REDACTED = [
    start("msg_013Zva2CMHLNnXjNJJKqJ2EF", SMALL_USAGE),
    block(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}),
    stop(0),
    block(1, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(1, "thinking_delta", thinking=""),
    delta(1, "signature_delta", signature="first"),
    delta(1, "signature_delta", signature="second"),
    stop(1),
    block(2, {"type": "tool_use", "id": "toolu_01NoArgs", "name": "TodoRead", "input": {}}),
    json_piece(2, ""),
    json_piece(2, ""),
    stop(2),
    block(3, {"type": "text", "text": ""}),
    text(3, "Done\r\nline two\u2028end"),
    stop(3),
    message_delta("stop_sequence", {"output_tokens": 42}, stop_sequence="\n\nHuman:"),
    MESSAGE_STOP,
]
REDACTED_MESSAGE = {
    "model": MODEL,
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "content": [
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
        {"type": "thinking", "thinking": "", "signature": "second"},
        {"type": "tool_use", "id": "toolu_01NoArgs", "name": "TodoRead", "input": {}},
        {"type": "text", "text": "Done\r\nline two\u2028end"},
    ],
    "stop_reason": "stop_sequence",
    "stop_sequence": "\n\nHuman:",
    "stop_details": None,
    # message_delta's usage has only output_tokens: the nulls from message_start stay.
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": None,
        "output_tokens": 42,
    },
}

# Beta only (the plain SDK drops it): context_management on message_delta, from Claude Code's
# context-management-2025-06-27 beta.
CONTEXT = {
    "applied_edits": [
        {
            "type": "clear_thinking_20251015",
            "cleared_thinking_turns": 2,
            "cleared_input_tokens": 3120,
        }
    ]
}
BETA_CONTEXT = [
    start("msg_01BetaCtx", SMALL_USAGE, context_management=None),
    block(0, {"type": "text", "text": ""}),
    text(0, "ok"),
    stop(0),
    message_delta("end_turn", {"output_tokens": 2}, context_management=CONTEXT),
    MESSAGE_STOP,
]
BETA_CONTEXT_MESSAGE = {
    "model": MODEL,
    "id": "msg_01BetaCtx",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "ok"}],
    "context_management": CONTEXT,
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "stop_details": None,
    "usage": {**SMALL_USAGE, "output_tokens": 2},
}

# Every client reads these the same way.
STREAMS = {
    "tool_turn": (TOOL_TURN, TOOL_TURN_MESSAGE),
    "web_search": (WEB_SEARCH, WEB_SEARCH_MESSAGE),
    "redacted_thinking": (REDACTED, REDACTED_MESSAGE),
}
BETA_STREAMS = {"context_management": (BETA_CONTEXT, BETA_CONTEXT_MESSAGE)}

OVERLOADED = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
    "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
}
