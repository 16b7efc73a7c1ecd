"""What each logged API's upstream sends, for the fake upstream and the tests that read records.

One row per API (Gemini's is `streamGenerateContent?alt=sse`, and its `generateContent` answers
whole): a whole JSON answer, the SSE events of a streamed answer (N content tokens,
K tool calls, the terminal event), and the answer's text read back from a record.
"""

from __future__ import annotations

import json
from typing import Any

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
GEMINI = "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse"  # the path posted to
GEMINI_LOGGED = "/v1beta/models/{model}:streamGenerateContent"  # its record's `endpoint`
ENDPOINTS = (CHAT, RESPONSES, MESSAGES)


def api_of(path: str) -> str:
    path = path.split("?", 1)[0]
    if path.startswith(("/v1beta/models/", "/v1/models/")) and ":" in path:
        return GEMINI
    if path == MESSAGES or path.startswith(MESSAGES + "/"):
        return MESSAGES
    return RESPONSES if path == RESPONSES else CHAT


def request_body(endpoint: str, text: str = "Hi", **fields: Any) -> dict[str, Any]:
    """A minimal request of the endpoint's own shape."""
    if endpoint == GEMINI:  # streaming is in the path, never in the body
        fields.pop("stream", None)
        return {"contents": [{"role": "user", "parts": [{"text": text}]}], **fields}
    if endpoint == RESPONSES:
        return {"model": "m", "input": [{"role": "user", "content": text}], **fields}
    if endpoint == MESSAGES:
        return {
            "model": "m",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": text}],
            **fields,
        }
    return {"model": "m", "messages": [{"role": "user", "content": text}], **fields}


def _sse(payload: dict[str, Any], named: bool) -> bytes:
    head = b"event: " + payload["type"].encode() + b"\n" if named else b""
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


# ---- chat completions -------------------------------------------------------------------------


def chat_completion(content: str, model: str = "fake-model") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1764000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def chat_events(chunks: int, tools: int = 0, done: bool = True) -> list[bytes]:
    def event(payload: dict) -> bytes:
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    base = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": "fake-model",
    }
    events = [
        event(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                    }
                ],
            }
        )
    ]
    for i in range(chunks):
        events.append(
            event(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}
                    ],
                }
            )
        )
    for t in range(tools):
        events.append(
            event(
                {
                    **base,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": t,
                                        "id": f"call_{t}",
                                        "type": "function",
                                        "function": {"name": f"fn{t}", "arguments": ""},
                                    }
                                ]
                            },
                            "finish_reason": None,
                        }
                    ],
                }
            )
        )
        for part in ('{"x": ', f"{t}", "}"):
            events.append(
                event(
                    {
                        **base,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {
                                    "tool_calls": [{"index": t, "function": {"arguments": part}}]
                                },
                                "finish_reason": None,
                            }
                        ],
                    }
                )
            )
    finish = "tool_calls" if tools else "stop"
    events.append(event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    events.append(
        event(
            {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": 3,
                    "completion_tokens": chunks,
                    "total_tokens": 3 + chunks,
                },
            }
        )
    )
    if done:
        events.append(b"data: [DONE]\n\n")
    return events


# ---- responses --------------------------------------------------------------------------------


def response_object(
    text: str,
    model: str = "fake-model",
    *,
    status: str = "completed",
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if output is None:
        output = [_message_item(text)]
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1764000000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "usage": usage if status == "completed" or usage else None,
    }


def _message_item(text: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


RESPONSES_USAGE = {
    "input_tokens": 3,
    "output_tokens": 2,
    "total_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


def responses_events(chunks: int, tools: int = 0, done: bool = True) -> list[bytes]:
    seq = iter(range(10**6))
    text = "".join(f"tok{i} " for i in range(chunks))
    calls = [
        {
            "id": f"fc_{t}",
            "type": "function_call",
            "status": "completed",
            "call_id": f"call_{t}",
            "name": f"fn{t}",
            "arguments": '{"x": ' + str(t) + "}",
        }
        for t in range(tools)
    ]
    final = response_object(
        text,
        output=[_message_item(text), *calls],
        usage={**RESPONSES_USAGE, "output_tokens": chunks},
    )
    start = {**final, "status": "in_progress", "output": [], "usage": None}

    def ev(payload: dict[str, Any]) -> bytes:
        return _sse({**payload, "sequence_number": next(seq)}, named=True)

    item = {**_message_item(""), "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    events = [
        ev({"type": "response.created", "response": start}),
        ev({"type": "response.in_progress", "response": start}),
        ev({"type": "response.output_item.added", "output_index": 0, "item": item}),
        ev(
            {
                "type": "response.content_part.added",
                "item_id": "msg_fake",
                "output_index": 0,
                "content_index": 0,
                "part": part,
            }
        ),
    ]
    for i in range(chunks):
        events.append(
            ev(
                {
                    "type": "response.output_text.delta",
                    "item_id": "msg_fake",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": f"tok{i} ",
                    "logprobs": [],
                }
            )
        )
    events += [
        ev(
            {
                "type": "response.output_text.done",
                "item_id": "msg_fake",
                "output_index": 0,
                "content_index": 0,
                "text": text,
                "logprobs": [],
            }
        ),
        ev(
            {
                "type": "response.content_part.done",
                "item_id": "msg_fake",
                "output_index": 0,
                "content_index": 0,
                "part": {**part, "text": text},
            }
        ),
        ev({"type": "response.output_item.done", "output_index": 0, "item": _message_item(text)}),
    ]
    for t, call in enumerate(calls, 1):
        events.append(
            ev(
                {
                    "type": "response.output_item.added",
                    "output_index": t,
                    "item": {**call, "arguments": "", "status": "in_progress"},
                }
            )
        )
        for piece in ('{"x": ', str(t - 1), "}"):
            events.append(
                ev(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": call["id"],
                        "output_index": t,
                        "delta": piece,
                    }
                )
            )
        events.append(
            ev(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": call["id"],
                    "output_index": t,
                    "arguments": call["arguments"],
                }
            )
        )
        events.append(ev({"type": "response.output_item.done", "output_index": t, "item": call}))
    if done:
        events.append(ev({"type": "response.completed", "response": final}))
    return events


# ---- anthropic messages -----------------------------------------------------------------------


def message_object(text: str, model: str = "fake-model") -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 3,
            "output_tokens": 2,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def messages_events(chunks: int, tools: int = 0, done: bool = True) -> list[bytes]:
    start = {
        **message_object(""),
        "content": [],
        "stop_reason": None,
        "usage": {
            "input_tokens": 3,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }

    def ev(payload: dict[str, Any]) -> bytes:
        return _sse(payload, named=True)

    events = [
        ev({"type": "message_start", "message": start}),
        ev(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        ev({"type": "ping"}),
    ]
    for i in range(chunks):
        events.append(
            ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": f"tok{i} "},
                }
            )
        )
    events.append(ev({"type": "content_block_stop", "index": 0}))
    for t in range(1, tools + 1):
        events.append(
            ev(
                {
                    "type": "content_block_start",
                    "index": t,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_{t - 1}",
                        "name": f"fn{t - 1}",
                        "input": {},
                    },
                }
            )
        )
        for piece in ('{"x": ', str(t - 1), "}"):
            events.append(
                ev(
                    {
                        "type": "content_block_delta",
                        "index": t,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    }
                )
            )
        events.append(ev({"type": "content_block_stop", "index": t}))
    events.append(
        ev(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if tools else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": chunks},
            }
        )
    )
    if done:
        events.append(ev({"type": "message_stop"}))
    return events


# ---- Gemini -----------------------------------------------------------------------------------

GEMINI_USAGE = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}


def gemini_response(text: str, model: str = "fake-model") -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": GEMINI_USAGE,
        "modelVersion": model,
        "responseId": "resp-gemini",
    }


def gemini_events(chunks: int, tools: int = 0, done: bool = True) -> list[bytes]:
    """SSE chunks as Gemini sends them: a text piece each, then the calls, and the
    `finishReason` with the usage on the last one (left out with `done=False`)."""
    parts = [{"text": f"tok{i} "} for i in range(chunks)]
    parts += [{"functionCall": {"name": f"fn{t}", "args": {"x": t}}} for t in range(tools)]
    events = []
    for n, part in enumerate(parts or [{"text": ""}]):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        chunk: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": "fake-model",
            "responseId": "resp-gemini",
        }
        if done and n == max(len(parts), 1) - 1:
            candidate["finishReason"] = "STOP"
            chunk["usageMetadata"] = GEMINI_USAGE
        events.append(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n")
    return events


# ---- one table --------------------------------------------------------------------------------


def whole_answer(endpoint: str, text: str, model: str = "fake-model") -> dict[str, Any]:
    if endpoint == RESPONSES:
        return response_object(text, model, usage=RESPONSES_USAGE)
    if endpoint == MESSAGES:
        return message_object(text, model)
    if endpoint == GEMINI:
        return gemini_response(text, model)
    return chat_completion(text, model)


def stream_events(
    chunks: int, tools: int = 0, done: bool = True, endpoint: str = CHAT
) -> list[bytes]:
    """The SSE events of one streamed answer; `done=False` leaves out the terminal event
    ([DONE] for chat, response.completed for Responses, message_stop for Anthropic)."""
    if endpoint == RESPONSES:
        return responses_events(chunks, tools, done)
    if endpoint == MESSAGES:
        return messages_events(chunks, tools, done)
    if endpoint == GEMINI:
        return gemini_events(chunks, tools, done)
    return chat_events(chunks, tools, done)


def error_answer(endpoint: str, status: int, message: str = "scripted") -> dict[str, Any]:
    if endpoint == MESSAGES:
        kind = "overloaded_error" if status == 529 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": message}}
    if endpoint == GEMINI:
        return {"error": {"code": status, "message": message, "status": "UNAVAILABLE"}}
    return {"error": {"message": message, "type": "x", "param": None, "code": "scripted"}}


def text_of(record: dict[str, Any]) -> str | None:
    """The answer's text in a record, whichever API it came from."""
    response = record["response"]
    endpoint = record["endpoint"]
    if endpoint == RESPONSES:
        return "".join(
            part.get("text", "")
            for item in response.get("output") or []
            if item.get("type") == "message"
            for part in item.get("content") or []
        )
    if endpoint == MESSAGES:
        return "".join(
            block.get("text", "")
            for block in response.get("content") or []
            if block.get("type") == "text"
        )
    if endpoint.startswith(("/v1beta/", "/v1/models/")):
        return "".join(
            part.get("text", "")
            for part in response["candidates"][0]["content"]["parts"]
            if not part.get("thought")
        )
    return response["choices"][0]["message"]["content"]


def expected_content(chunks: int) -> str:
    return "".join(f"tok{i} " for i in range(chunks))


def in_band_error(kind: str) -> bytes:
    """An error an upstream sends inside a stream that began with HTTP 200."""
    if kind == "gemini":  # an error object between chunks
        return (
            b"data: "
            + json.dumps({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}).encode()
            + b"\r\n\r\n"
        )
    if kind == "overloaded":  # Anthropic
        return _sse(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            named=True,
        )
    if kind == "flat":  # Responses, as documented
        return _sse(
            {
                "type": "error",
                "code": "server_error",
                "message": "boom",
                "param": None,
                "sequence_number": 99,
            },
            named=True,
        )
    if kind == "nested":  # Responses, as seen in production
        return _sse(
            {
                "type": "error",
                "error": {
                    "type": "server_error",
                    "code": "server_error",
                    "message": "boom",
                    "param": None,
                },
                "sequence_number": 99,
            },
            named=True,
        )
    failed = response_object("", status="failed", output=[])
    failed["error"] = {"code": "rate_limit_exceeded", "message": "slow down"}
    return _sse({"type": "response.failed", "response": failed, "sequence_number": 99}, named=True)
