"""Realistic OpenAI chat-completion streams, and the completions they rebuild to (by hand)."""

from __future__ import annotations

import json
from typing import Any

ID = "chatcmpl-CRyv0kq9tEnKQ6mWb1wXq3pZ8sLdA"
CREATED = 1760000000
MODEL = "gpt-4o-mini-2024-07-18"
FP = "fp_560af6e559"
FRAMINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def chunk(choices: list[dict[str, Any]], padding: str = "", **extra: Any) -> dict[str, Any]:
    """One chunk shaped like OpenAI's, `obfuscation` padding included."""
    return {
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": FP,
        "choices": choices,
        **extra,
        "obfuscation": padding or "xY3",
    }


def choice(
    index: int = 0, finish_reason: str | None = None, logprobs: Any = None, **delta: Any
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}


def encode(chunks: list[dict[str, Any]], eol: bytes = b"\n", done: bool = True) -> bytes:
    """The body as OpenAI frames it: compact JSON, raw UTF-8, one data line per event."""
    events = [json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode() for c in chunks]
    if done:
        events.append(b"[DONE]")
    return b"".join(b"data: " + event + eol + eol for event in events)


USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 6,
    "total_tokens": 25,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

# stream_options.include_usage: `usage: null` on every chunk, then a usage-only chunk.
CONTENT = [
    chunk([choice(role="assistant", content="", refusal=None)], usage=None, padding="k2"),
    chunk([choice(content="Hello")], usage=None),
    chunk([choice(content="! 👋")], usage=None),
    chunk([choice(content=" 你好")], usage=None),
    chunk([choice(content="，世界")], usage=None),
    chunk([choice(finish_reason="stop")], usage=None),
    chunk([], usage=USAGE, padding="Qw9"),
]
CONTENT_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Hello! 👋 你好，世界", "refusal": None},
        }
    ],
    "usage": USAGE,
    "system_fingerprint": FP,
    "service_tier": "default",
}

TOOLS = [
    chunk(
        [
            choice(
                role="assistant",
                content=None,
                refusal=None,
                tool_calls=[
                    {
                        "index": 0,
                        "id": "call_Qx1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            )
        ]
    ),
    chunk([choice(tool_calls=[{"index": 0, "function": {"arguments": '{"ci'}}])]),
    chunk([choice(tool_calls=[{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}])]),
    chunk(
        [
            choice(
                tool_calls=[
                    {
                        "index": 1,
                        "id": "call_Zy2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            )
        ]
    ),
    chunk([choice(tool_calls=[{"index": 1, "function": {"arguments": '{"city": '}}])]),
    chunk([choice(tool_calls=[{"index": 1, "function": {"arguments": '"東京"}'}}])]),
    chunk([choice(finish_reason="tool_calls")]),
]
TOOLS_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_Qx1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "index": 1,
                        "id": "call_Zy2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"city": "東京"}'},
                    },
                ],
            },
        }
    ],
    "usage": None,
    "system_fingerprint": FP,
    "service_tier": "default",
}

USAGE_N2 = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
N2 = [
    chunk([choice(0, role="assistant", content="", refusal=None)], usage=None),
    chunk([choice(1, role="assistant", content="", refusal=None)], usage=None),
    chunk([choice(0, content="Red")], usage=None),
    chunk([choice(1, content="Blue")], usage=None),
    chunk([choice(1, content=" sky")], usage=None),
    chunk([choice(0, content=" rose")], usage=None),
    chunk([choice(0, finish_reason="stop")], usage=None),
    chunk([choice(1, finish_reason="length")], usage=None),
    chunk([], usage=USAGE_N2),
]
N2_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Red rose", "refusal": None},
        },
        {
            "index": 1,
            "finish_reason": "length",
            "logprobs": None,
            "message": {"role": "assistant", "content": "Blue sky", "refusal": None},
        },
    ],
    "usage": USAGE_N2,
    "system_fingerprint": FP,
    "service_tier": "default",
}


def token(text: str, logprob: float) -> dict[str, Any]:
    raw = list(text.encode())
    return {
        "token": text,
        "logprob": logprob,
        "bytes": raw,
        "top_logprobs": [{"token": text, "logprob": logprob, "bytes": raw}],
    }


LOGPROBS = [
    chunk(
        [
            choice(
                role="assistant",
                content="",
                refusal=None,
                logprobs={"content": [], "refusal": None},
            )
        ]
    ),
    chunk([choice(content="Yes", logprobs={"content": [token("Yes", -0.01)], "refusal": None})]),
    chunk([choice(content=",", logprobs={"content": [token(",", -0.5)], "refusal": None})]),
    chunk([choice(content=" é", logprobs={"content": [token(" é", -1.25)], "refusal": None})]),
    chunk([choice(finish_reason="stop")]),
]
LOGPROBS_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": {
                "content": [token("Yes", -0.01), token(",", -0.5), token(" é", -1.25)],
                "refusal": None,
            },
            "message": {"role": "assistant", "content": "Yes, é", "refusal": None},
        }
    ],
    "usage": None,
    "system_fingerprint": FP,
    "service_tier": "default",
}

REFUSAL = [
    chunk([choice(role="assistant", content=None, refusal="")]),
    chunk([choice(refusal="I'm sorry, ")]),
    chunk([choice(refusal="I can't help with that.")]),
    chunk([choice(finish_reason="stop")]),
]
REFUSAL_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": "I'm sorry, I can't help with that.",
            },
        }
    ],
    "usage": None,
    "system_fingerprint": FP,
    "service_tier": "default",
}

# A reasoning model cut at max_completion_tokens: no fingerprint, reasoning tokens in usage.
USAGE_LENGTH = {
    "prompt_tokens": 30,
    "completion_tokens": 64,
    "total_tokens": 94,
    "completion_tokens_details": {"reasoning_tokens": 60},
}
LENGTH = [
    {**c, "system_fingerprint": None, "model": "o4-mini-2025-04-16"}
    for c in [
        chunk([choice(role="assistant", content="", refusal=None)], usage=None),
        chunk([choice(content="The answer")], usage=None),
        chunk([choice(content=" is")], usage=None),
        chunk([choice(finish_reason="length")], usage=None),
        chunk([], usage=USAGE_LENGTH),
    ]
]
LENGTH_EXPECTED = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": "o4-mini-2025-04-16",
    "choices": [
        {
            "index": 0,
            "finish_reason": "length",
            "logprobs": None,
            "message": {"role": "assistant", "content": "The answer is", "refusal": None},
        }
    ],
    "usage": USAGE_LENGTH,
    "system_fingerprint": None,
    "service_tier": "default",
}

OPENAI_STREAMS = {
    "content_usage": (CONTENT, CONTENT_EXPECTED),
    "tool_calls_parallel": (TOOLS, TOOLS_EXPECTED),
    "n2_usage": (N2, N2_EXPECTED),
    "logprobs": (LOGPROBS, LOGPROBS_EXPECTED),
    "refusal": (REFUSAL, REFUSAL_EXPECTED),
    "length_reasoning": (LENGTH, LENGTH_EXPECTED),
}
