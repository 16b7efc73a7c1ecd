"""The four logged APIs as the benchmarks see them: request bodies, fixed answers and streams.

Each API (chat completions, Responses, Anthropic Messages, Gemini) has a fixed JSON answer and a
stream of events in its own shape around N text deltas `tok0 `, `tok1 `, ...; nginx serves both
as fixed bodies and the slow upstream paces the same events. `stream_text` is what a client of
that API would show, and whether the stream's closing event arrived. Gemini names the model and
the streaming in the path (`url_path`), and its records name the path with `{model}`
(`endpoint`).
"""

from __future__ import annotations

import json
from typing import Any

CREATED = 1764000000
MODEL = "bench-model"
PROMPT = "Say hello"
ANSWER = "Hello there!"


def _json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def expected_content(tokens: int) -> str:
    return "".join(f"tok{i} " for i in range(tokens))


# -- chat completions ------------------------------------------------------------------------


def _chunk(choices: list, **extra: object) -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": choices,
        **extra,
    }


def _data(payload: dict) -> bytes:
    return b"data: " + _json(payload) + b"\n\n"


class Chat:
    name = "chat"
    path = "/v1/chat/completions"

    @staticmethod
    def request(model: str, stream: bool) -> dict:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "user": "bench",
        }
        if stream:
            body["stream"] = True
        return body

    @staticmethod
    def completion() -> bytes:
        return _json(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "created": CREATED,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11},
            }
        )

    @staticmethod
    def opening() -> bytes:
        return _data(
            _chunk(
                [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            )
        )

    @staticmethod
    def token(i: int, last: bool = False) -> bytes:
        return _data(
            _chunk([{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}])
        )

    @staticmethod
    def closing(tokens: int) -> bytes:
        """Finish chunk, usage-only chunk and [DONE]."""
        usage = {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens}
        return (
            _data(_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
            + _data(_chunk([], usage=usage))
            + b"data: [DONE]\n\n"
        )

    @staticmethod
    def stream_text(body: bytes) -> tuple[str, bool]:
        text, done = [], False
        for line in body.split(b"\n"):
            if line.startswith(b"data: {"):
                for choice in json.loads(line[6:]).get("choices") or []:
                    text.append((choice.get("delta") or {}).get("content") or "")
            elif line.startswith(b"data: [DONE]"):
                done = True
        return "".join(text), done


# -- Responses -------------------------------------------------------------------------------


def _event(kind: str, payload: dict) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + _json({"type": kind, **payload}) + b"\n\n"


def _response(status: str, output: list, usage: dict | None) -> dict:
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": MODEL,
        "output": output,
        "usage": usage,
    }


def _output_message(text: str, status: str) -> dict:
    return {
        "type": "message",
        "id": "msg_bench",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


class Responses:
    name = "responses"
    path = "/v1/responses"

    @staticmethod
    def request(model: str, stream: bool) -> dict:
        body: dict[str, Any] = {"model": model, "input": PROMPT, "user": "bench"}
        if stream:
            body["stream"] = True
        return body

    @staticmethod
    def completion() -> bytes:
        return _json(
            _response(
                "completed",
                [_output_message(ANSWER, "completed")],
                {"input_tokens": 8, "output_tokens": 3, "total_tokens": 11},
            )
        )

    @staticmethod
    def opening() -> bytes:
        item = {
            "type": "message",
            "id": "msg_bench",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        part = {"type": "output_text", "text": "", "annotations": []}
        return (
            _event(
                "response.created",
                {"sequence_number": 0, "response": _response("in_progress", [], None)},
            )
            + _event(
                "response.output_item.added",
                {"sequence_number": 1, "output_index": 0, "item": item},
            )
            + _event(
                "response.content_part.added",
                {
                    "sequence_number": 2,
                    "item_id": "msg_bench",
                    "output_index": 0,
                    "content_index": 0,
                    "part": part,
                },
            )
        )

    @staticmethod
    def token(i: int, last: bool = False) -> bytes:
        return _event(
            "response.output_text.delta",
            {
                "sequence_number": 3 + i,
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "delta": f"tok{i} ",
            },
        )

    @staticmethod
    def closing(tokens: int) -> bytes:
        text = expected_content(tokens)
        n = 3 + tokens
        part = {"type": "output_text", "text": text, "annotations": []}
        usage = {"input_tokens": 8, "output_tokens": tokens, "total_tokens": 8 + tokens}
        return (
            _event(
                "response.output_text.done",
                {
                    "sequence_number": n,
                    "item_id": "msg_bench",
                    "output_index": 0,
                    "content_index": 0,
                    "text": text,
                },
            )
            + _event(
                "response.content_part.done",
                {
                    "sequence_number": n + 1,
                    "item_id": "msg_bench",
                    "output_index": 0,
                    "content_index": 0,
                    "part": part,
                },
            )
            + _event(
                "response.output_item.done",
                {
                    "sequence_number": n + 2,
                    "output_index": 0,
                    "item": _output_message(text, "completed"),
                },
            )
            + _event(
                "response.completed",
                {
                    "sequence_number": n + 3,
                    "response": _response("completed", [_output_message(text, "completed")], usage),
                },
            )
        )

    @staticmethod
    def stream_text(body: bytes) -> tuple[str, bool]:
        text, done = [], False
        for line in body.split(b"\n"):
            if line.startswith(b"data: {"):
                event = json.loads(line[6:])
                if event.get("type") == "response.output_text.delta":
                    text.append(event.get("delta") or "")
                elif event.get("type") == "response.completed":
                    done = True
        return "".join(text), done


# -- Anthropic Messages ----------------------------------------------------------------------


class Messages:
    name = "messages"
    path = "/v1/messages"

    @staticmethod
    def request(model: str, stream: bool) -> dict:
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": PROMPT}],
        }
        if stream:
            body["stream"] = True
        return body

    @staticmethod
    def completion() -> bytes:
        return _json(
            {
                "id": "msg_bench",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 8, "output_tokens": 3},
            }
        )

    @staticmethod
    def opening() -> bytes:
        message = {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 8, "output_tokens": 1},
        }
        return _event("message_start", {"message": message}) + _event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )

    @staticmethod
    def token(i: int, last: bool = False) -> bytes:
        return _event(
            "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f"tok{i} "}}
        )

    @staticmethod
    def closing(tokens: int) -> bytes:
        return (
            _event("content_block_stop", {"index": 0})
            + _event(
                "message_delta",
                {
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": tokens},
                },
            )
            + _event("message_stop", {})
        )

    @staticmethod
    def stream_text(body: bytes) -> tuple[str, bool]:
        text, done = [], False
        for line in body.split(b"\n"):
            if line.startswith(b"data: {"):
                event = json.loads(line[6:])
                if event.get("type") == "content_block_delta":
                    text.append((event.get("delta") or {}).get("text") or "")
                elif event.get("type") == "message_stop":
                    done = True
        return "".join(text), done


# -- Gemini ----------------------------------------------------------------------------------

GEMINI_PATH = "/v1beta/models/{model}:generateContent"
GEMINI_STREAM_PATH = "/v1beta/models/{model}:streamGenerateContent"


def _gemini_usage(tokens: int) -> dict:
    return {"promptTokenCount": 8, "candidatesTokenCount": tokens, "totalTokenCount": 8 + tokens}


class Gemini:
    """`generateContent` and `streamGenerateContent?alt=sse`: one GenerateContentResponse per
    event, each with one text part, the running usage, the model version and the response id;
    the last carries `finishReason`. No opening or closing events: the body's end ends it."""

    name = "gemini"
    path = GEMINI_PATH

    @staticmethod
    def request(model: str, stream: bool) -> dict:
        return {
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
            "generationConfig": {"maxOutputTokens": 256},
        }

    @staticmethod
    def generation(text: str, tokens: int) -> dict:
        """What `generateContent` returns for this generation (and a stream of it rebuilds)."""
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": _gemini_usage(tokens),
            "modelVersion": MODEL,
            "responseId": "resp-bench",
        }

    @staticmethod
    def completion() -> bytes:
        return _json(Gemini.generation(ANSWER, 3))

    @staticmethod
    def opening() -> bytes:
        return b""

    @staticmethod
    def token(i: int, last: bool = False) -> bytes:
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": f"tok{i} "}], "role": "model"},
            "index": 0,
        }
        if last:
            candidate["finishReason"] = "STOP"
        return _data(
            {
                "candidates": [candidate],
                "usageMetadata": _gemini_usage(i + 1),
                "modelVersion": MODEL,
                "responseId": "resp-bench",
            }
        )

    @staticmethod
    def closing(tokens: int) -> bytes:
        return b""

    @staticmethod
    def stream_text(body: bytes) -> tuple[str, bool]:
        text, done = [], False
        for line in body.split(b"\n"):
            if line.startswith(b"data: {"):
                for candidate in json.loads(line[6:]).get("candidates") or []:
                    for part in (candidate.get("content") or {}).get("parts") or []:
                        text.append(part.get("text") or "")
                    done = done or bool(candidate.get("finishReason"))
        return "".join(text), done


Shape = type[Chat] | type[Responses] | type[Messages] | type[Gemini]
API: dict[str, Shape] = {api.name: api for api in (Chat, Responses, Messages, Gemini)}
NAMES = tuple(API)


def for_path(path: str) -> Shape:
    """The API the request path is for (chat when none is)."""
    path = path.split("?", 1)[0]
    if path.endswith((":generateContent", ":streamGenerateContent")):
        return Gemini
    for api in (Responses, Messages):
        if path.endswith(api.path[3:]):
            return api
    return Chat


def url_path(api: str, model: str, *, stream: bool = False) -> str:
    """The path (and query) a client posts to: Gemini's names the model and the streaming."""
    if api == Gemini.name:
        if stream:
            return GEMINI_STREAM_PATH.format(model=model) + "?alt=sse"
        return GEMINI_PATH.format(model=model)
    return API[api].path


def endpoint(api: str, *, stream: bool = False) -> str:
    """The `endpoint` Albicilla's records of this API name (Gemini's with `{model}`)."""
    if api == Gemini.name:
        return GEMINI_STREAM_PATH if stream else GEMINI_PATH
    return API[api].path


def asks_stream(path: str, body: bytes) -> bool:
    """Whether a request asks for a stream: Gemini's by its path, the others' by the body."""
    if path.split("?", 1)[0].endswith(":streamGenerateContent"):
        return True
    try:
        return json.loads(body).get("stream") is True
    except (ValueError, AttributeError):
        return False


def request_body(api: str, model: str, *, stream: bool = False) -> bytes:
    return _json(API[api].request(model, stream))


def stream_writes(api: str, tokens: int) -> list[bytes]:
    """What the upstream writes for one stream, in order: the opening events (if any), one write
    per text delta (the last one flagged), the closing events (if any)."""
    shape = API[api]
    writes = [shape.opening()]
    writes += [shape.token(i, i == tokens - 1) for i in range(tokens)]
    writes.append(shape.closing(tokens))
    return [w for w in writes if w]


def stream_body(api: str, tokens: int) -> bytes:
    """The whole SSE body of one stream (what nginx serves as its fixed stream)."""
    return b"".join(stream_writes(api, tokens))


def rebuilt(api: str, tokens: int) -> dict | None:
    """The response a record of one stream must hold exactly, where the API's stream carries all
    of it (Gemini: the non-streamed response of the same generation); None: checked loosely."""
    if api == Gemini.name:
        return Gemini.generation(expected_content(tokens), tokens)
    return None


def response_text(response: Any) -> str:
    """All text a logged response holds, whatever its API's shape: for a loose content check."""
    return json.dumps(response, ensure_ascii=False)
