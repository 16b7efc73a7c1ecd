"""Tests for the SSE decoder and the chat.completion rebuilder in albicilla.apis.chat_stream."""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import OpenAI
from sse_cases import FRAMINGS, OPENAI_STREAMS, encode

import albicilla.apis.chat_stream
from albicilla.apis.chat_stream import StreamRebuilder, rebuild_completion
from support.sdk_oracles import chat_without_sdk_additions as without_sdk_additions


def ev(text: str) -> bytes:
    """The JSON of a bare chunk carrying one content fragment for choice 0."""
    chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return json.dumps(chunk, ensure_ascii=False).encode()


A, B, C = ev("A"), ev("B"), ev("C")


def run(chunks: list[bytes]) -> StreamRebuilder:
    rebuilder = StreamRebuilder()
    for chunk in chunks:
        rebuilder.feed(chunk)
    rebuilder.close()
    return rebuilder


def outcome(chunks: list[bytes]) -> tuple[Any, bool, Any, list[str]]:
    rebuilder = run(chunks)
    choices = rebuilder.completion()["choices"]
    content = choices[0]["message"]["content"] if choices else None
    return content, rebuilder.done, rebuilder.error, rebuilder.notes


def two_way_splits(body: bytes):
    for i in range(len(body) + 1):
        yield i, [body[:i], body[i:]]


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


NO_DONE = "stream ended without [DONE]"

# ---------------------------------------------------------------------------------------------
# 1. Decoding: (chunks as they arrive) -> (content of choice 0, done, error, note fragments)

DECODER_CASES = [
    pytest.param(
        [b"data: " + A + b"\n\ndata: " + B + b"\n\ndata: [DONE]\n\n"], "AB", True, None, [], id="lf"
    ),
    pytest.param(
        [b"data: " + A + b"\r\n\r\ndata: " + B + b"\r\n\r\ndata: [DONE]\r\n\r\n"],
        "AB",
        True,
        None,
        [],
        id="crlf",
    ),
    pytest.param(
        [b"data: " + A + b"\r\rdata: " + B + b"\r\rdata: [DONE]\r\r"],
        "AB",
        True,
        None,
        [],
        id="cr-only",
    ),
    pytest.param(
        [b"data: " + A + b"\r\n\r\ndata: " + B + b"\n\ndata: " + C + b"\r\rdata: [DONE]\n\r\n"],
        "ABC",
        True,
        None,
        [],
        id="mixed-eols",
    ),
    # One event whose JSON spans two data lines, every CRLF cut between chunks: reading CR|LF
    # as two breaks would put a blank line inside the event and cut the JSON in half.
    pytest.param(
        [
            b'data: {"choices":[{"index":0,\r',
            b'\ndata: "delta":{"content":"A"}}]}\r',
            b"\n\r",
            b"\n",
            b"data: [DONE]\r\n\r\n",
        ],
        "A",
        True,
        None,
        [],
        id="crlf-straddles-chunks",
    ),
    pytest.param(
        [
            b'data: {"choices":[{"index":0,\r',
            b"",
            b"",
            b'\ndata: "delta":{"content":"A"}}]}\r\n\r',
            b"\n",
        ],
        "A",
        False,
        None,
        [NO_DONE],
        id="crlf-straddles-empty-chunks",
    ),
    pytest.param(
        [b"data: " + A + b"\r", b"\rdata: " + B + b"\r", b"\r"],
        "AB",
        False,
        None,
        [NO_DONE],
        id="cr-at-chunk-end-then-cr",
    ),
    # LF then CR is two line breaks, not one.
    pytest.param(
        [b"data: " + A + b"\n\r", b"data: " + B + b"\n\r"],
        "AB",
        False,
        None,
        [NO_DONE],
        id="lf-cr-is-two-breaks",
    ),
    pytest.param(
        [
            b": keep-alive\n\n",
            b":\n\n\n",
            b"data: " + A + b"\n",
            b": OPENROUTER PROCESSING\n",
            b"\n",
            b': data: {"choices":[{"index":0,"delta":{"content":"X"}}]}\n\n',
            b"data: [DONE]\n\n",
        ],
        "A",
        True,
        None,
        [],
        id="comments-and-keepalives",
    ),
    pytest.param(
        [b"data:" + A + b"\n\ndata:" + B + b"\n\ndata:[DONE]\n\n"],
        "AB",
        True,
        None,
        [],
        id="data-without-space",
    ),
    pytest.param(
        [b'data: {"choices":\ndata: [{"index":0,\ndata:"delta":{"content":"A"}}]}\n\n'],
        "A",
        False,
        None,
        [NO_DONE],
        id="multi-line-data",
    ),
    pytest.param(
        [
            b"id: 1\nretry: 3000\nevent: completion\nfoo: bar\ndata: " + A + b"\n\n",
            b"event: ping\n\n",
            b"id\n\n",
            b"retry: x\n\n",
            b"data: [DONE]\n\n",
        ],
        "A",
        True,
        None,
        [],
        id="other-fields-ignored",
    ),
    pytest.param(
        [b"Data: " + A + b"\n\n", b"data : " + B + b"\n\n", b"data: " + C + b"\n\n"],
        "C",
        False,
        None,
        [NO_DONE],
        id="field-names-are-exact",
    ),
    pytest.param(
        [b"\xef\xbb\xbfdata: " + A + b"\n\ndata: [DONE]\n\n"],
        "A",
        True,
        None,
        [],
        id="utf8-bom-at-start",
    ),
    pytest.param(
        [b"data: " + A + b"\n\ndata: [DONE]\n\ndata: {garbage\n\ndata: " + B + b"\n\n"],
        "A",
        True,
        None,
        [],
        id="done-then-trailing-garbage",
    ),
    pytest.param(
        [b"data: " + A + b"\n\ndata: [DONE]\n\ndata: " + B, b"\n\n", b"data: " + C + b"\n\n"],
        "A",
        True,
        None,
        [],
        id="done-mid-chunk-then-more-chunks",
    ),
    pytest.param(
        [b"data: " + A + b"\n\ndata: [DONE]"],
        "A",
        True,
        None,
        [],
        id="done-without-blank-line-at-eof",
    ),
    pytest.param([b"data: " + A + b"\n\n"], "A", False, None, [NO_DONE], id="no-done"),
    pytest.param(
        [b"data: " + A + b"\n\ndata: " + B + b"\n"],
        "AB",
        False,
        None,
        [NO_DONE],
        id="missing-final-blank-line",
    ),
    pytest.param(
        [b"data: " + A + b"\n\ndata: " + B],
        "AB",
        False,
        None,
        [NO_DONE],
        id="missing-final-newline",
    ),
    pytest.param(
        [b"", b"data: ", b"", A, b"", b"\n", b"", b"\n", b"", b"data: [DONE]\n\n", b""],
        "A",
        True,
        None,
        [],
        id="empty-chunks",
    ),
    pytest.param(
        [b"data: " + A + b"\n\ndata: {not json\n\ndata: " + B + b"\n\ndata: [DONE]\n\n"],
        "AB",
        True,
        None,
        ["unparsable event: '{not json'"],
        id="unparsable-event",
    ),
    pytest.param(
        [
            b"data: [1, 2]\n\ndata: " + A + b'\n\ndata: "text"\n\ndata: 42\n\n'
            b"data: null\n\ndata: true\n\ndata: [DONE]\n\n"
        ],
        "A",
        True,
        None,
        ["array", "string", "number", "null", "boolean"],
        id="non-object-json",
    ),
    pytest.param(
        [
            b"data: " + A + b"\n\n",
            b'data: {"error":{"message":"The server had an error","type":"server_error",'
            b'"param":null,"code":null}}\n\n',
            b"data: " + B + b"\n\n",
        ],
        "AB",
        False,
        {"message": "The server had an error", "type": "server_error", "param": None, "code": None},
        ["error event: The server had an error", NO_DONE],
        id="error-event",
    ),
    pytest.param(
        [b'event: error\ndata: {"message":"Overloaded","type":"overloaded_error"}\n\n'],
        None,
        False,
        {"message": "Overloaded", "type": "overloaded_error"},
        ["error event: Overloaded", NO_DONE],
        id="event-error-field",
    ),
    pytest.param(
        [b'event: error\ndata: {"error":{"message":"bad key","code":401}}\n\n'],
        None,
        False,
        {"message": "bad key", "code": 401},
        ["error event: bad key", NO_DONE],
        id="event-error-with-error-key",
    ),
    # Multi-line data is joined with "\n", visible here because the text is kept verbatim.
    pytest.param(
        [b"event: error\ndata: upstream\ndata: exploded\n\n"],
        None,
        False,
        {"message": "upstream\nexploded"},
        ["error event: upstream\nexploded", NO_DONE],
        id="event-error-plain-text",
    ),
    pytest.param(
        [b'data: {"error":{"message":"first"}}\n\ndata: {"error":"second"}\n\n'],
        None,
        False,
        {"message": "first"},
        ["error event: first", "error event: second", NO_DONE],
        id="first-error-wins",
    ),
    pytest.param(
        [b'data: {"error":"rate limited"}\n\n'],
        None,
        False,
        {"message": "rate limited"},
        ["error event: rate limited", NO_DONE],
        id="error-as-string",
    ),
    pytest.param(
        [b'data: {"error":null,' + A[1:] + b"\n\n"],
        "A",
        False,
        None,
        [NO_DONE],
        id="null-error-is-a-chunk",
    ),
    # bytes-level splitting: U+2028, U+2029 and NEL are line breaks only to str.splitlines.
    pytest.param(
        [b"data: " + ev("a\u2028b\u2029c\x85d") + b"\n\n"],
        "a\u2028b\u2029c\x85d",
        False,
        None,
        [NO_DONE],
        id="unicode-line-separators",
    ),
    pytest.param(
        [b'data: {"choices":[{"index":0,"delta":{"content":"A\xff\xe4B"}}]}\n\n'],
        "A\ufffd\ufffdB",
        False,
        None,
        [NO_DONE],
        id="invalid-utf8-replaced",
    ),
]


@pytest.mark.parametrize(("chunks", "content", "done", "error", "notes"), DECODER_CASES)
def test_decoder_cases(chunks, content, done, error, notes):
    got_content, got_done, got_error, got_notes = outcome(chunks)
    assert got_content == content
    assert got_done is done
    assert got_error == error
    assert len(got_notes) == len(notes), got_notes
    for got, fragment in zip(got_notes, notes, strict=True):
        assert fragment in got


@pytest.mark.parametrize(("chunks", "content", "done", "error", "notes"), DECODER_CASES)
def test_decoder_cases_do_not_depend_on_chunking(chunks, content, done, error, notes):
    body = b"".join(chunks)
    expected = outcome(chunks)
    for i, pieces in two_way_splits(body):
        assert outcome(pieces) == expected, f"split at {i}"
    assert outcome(bytewise(body)) == expected


def test_multibyte_utf8_split_at_every_offset():
    text = "héllo 🦅 鷲 ✓ ß"
    body = b"data: " + ev(text) + b"\n\ndata: [DONE]\n\n"
    assert len(body) > len(text) + 20  # really raw UTF-8, not \u escapes
    for i, pieces in two_way_splits(body):
        assert outcome(pieces) == (text, True, None, []), f"split at {i}"
    start = body.index("🦅".encode())
    for i in range(start, start + 4):
        for j in range(i, start + 5):
            pieces = [body[:i], body[i:j], body[j:]]
            assert outcome(pieces)[0] == text, f"split at {i}, {j}"
    assert outcome(bytewise(body)) == (text, True, None, [])


def test_deeply_nested_json_is_noted_not_fatal():
    body = b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\ndata: " + A + b"\n\n"
    content, done, error, notes = outcome([body])
    assert (content, done, error) == ("A", False, None)
    assert notes[0].startswith("unparsable event") and notes[1] == NO_DONE


def test_nan_and_infinity_become_null_so_the_record_stays_json():
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":'
        b'[{"token":"a","logprob":-Infinity}]}}],"usage":{"cost":NaN}}\n\n'
    )
    completion = rebuild_completion([body])
    assert completion["usage"] == {"cost": None}
    assert completion["choices"][0]["logprobs"]["content"] == [{"token": "a", "logprob": None}]
    json.dumps(completion, allow_nan=False)


def test_notes_are_capped():
    content, _, _, notes = outcome([b"data: {bad\n\n" * 50 + b"data: " + A + b"\n\n"])
    assert content == "A"
    assert len(notes) == 21
    assert notes[:20] == ["unparsable event: '{bad'"] * 20
    assert notes[-1] == "further notes dropped"  # 30 more unparsable and the missing [DONE]


def test_pending_event_waits_for_blank_line_or_close():
    rebuilder = StreamRebuilder()
    rebuilder.feed(b"data: " + A + b"\n\ndata: " + B + b"\n")
    assert rebuilder.completion()["choices"][0]["message"]["content"] == "A"
    rebuilder.close()
    assert rebuilder.completion()["choices"][0]["message"]["content"] == "AB"


def test_feed_after_close_is_ignored_and_close_is_idempotent():
    rebuilder = StreamRebuilder()
    rebuilder.feed(b"data: " + A)
    rebuilder.close()
    rebuilder.close()
    rebuilder.feed(b"\n\ndata: " + B + b"\n\n")
    assert rebuilder.completion()["choices"][0]["message"]["content"] == "A"
    assert rebuilder.notes == [NO_DONE]


def test_empty_stream():
    rebuilder = run([])
    assert rebuilder.completion() == {
        "id": None,
        "object": "chat.completion",
        "created": None,
        "model": None,
        "choices": [],
        "usage": None,
        "system_fingerprint": None,
    }
    assert (rebuilder.done, rebuilder.error, rebuilder.notes) == (False, None, [NO_DONE])


def test_module_imports_only_the_standard_library():
    tree = ast.parse(Path(albicilla.apis.chat_stream.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:  # not `from .sse import`
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}


# ---------------------------------------------------------------------------------------------
# 2. Rebuilding: chunk dicts -> the completion, expectations written from the input


def sse(*chunks: dict[str, Any]) -> list[bytes]:
    """One network chunk per event, ending in [DONE]."""
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def deltas(*items: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    return [{"choices": [{"index": index, "delta": item}]} for item in items]


def message_of(chunks: list[dict[str, Any]], index: int = 0) -> dict[str, Any]:
    return rebuild_completion(sse(*chunks))["choices"][index]["message"]


def fn_call(call_id: str, name: str, arguments: str, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def test_plain_content_and_envelope():
    chunks = [
        {
            "id": "c-1",
            "object": "chat.completion.chunk",
            "created": 7,
            "model": "llama-3",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}
            ],
        },
        {
            "id": "c-1",
            "object": "chat.completion.chunk",
            "created": 7,
            "model": "llama-3",
            "choices": [{"index": 0, "delta": {"content": " there"}, "finish_reason": "stop"}],
        },
    ]
    assert rebuild_completion(sse(*chunks)) == {
        "id": "c-1",
        "object": "chat.completion",
        "created": 7,
        "model": "llama-3",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": "Hi there", "refusal": None},
            }
        ],
        "usage": None,
        "system_fingerprint": None,
    }


def test_role_repeated_on_every_delta_is_set_once():
    chunks = deltas(
        {"role": "assistant", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "", "content": "c"},
    )
    assert message_of(chunks) == {"role": "assistant", "content": "abc", "refusal": None}


def test_missing_role_defaults_to_assistant():
    assert message_of(deltas({"content": "x"}))["role"] == "assistant"


def test_refusal_concatenated_and_content_stays_none():
    chunks = deltas(
        {"role": "assistant", "refusal": ""}, {"refusal": "No, "}, {"refusal": "sorry."}
    )
    assert message_of(chunks) == {"role": "assistant", "content": None, "refusal": "No, sorry."}


def test_reasoning_content_and_reasoning_concatenated_only_when_sent():
    deepseek = deltas(
        {"role": "assistant", "content": None, "reasoning_content": ""},
        {"reasoning_content": "Think"},
        {"reasoning_content": "ing."},
        {"content": "42", "reasoning_content": None},
    )
    assert message_of(deepseek) == {
        "role": "assistant",
        "content": "42",
        "refusal": None,
        "reasoning_content": "Thinking.",
    }
    openrouter = deltas(
        {"role": "assistant", "reasoning": "Hm"}, {"reasoning": "m"}, {"content": "ok"}
    )
    assert message_of(openrouter) == {
        "role": "assistant",
        "content": "ok",
        "refusal": None,
        "reasoning": "Hmm",
    }


def test_content_stays_none_unless_text_was_sent():
    tool_only = deltas({"role": "assistant", "tool_calls": [fn_call("call_1", "f", "{}", 0)]})
    assert message_of(tool_only)["content"] is None
    assert message_of(deltas({"role": "assistant", "content": None}))["content"] is None
    null_empty_null = deltas({"content": None}, {"content": ""}, {"content": None})
    assert message_of(null_empty_null)["content"] == ""


def test_parallel_tool_calls_with_fragmented_arguments():
    chunks = deltas(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "search", "arguments": ""},
                }
            ],
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"q": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"cats"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id"'},
                }
            ]
        },
        {"tool_calls": [{"index": 1, "function": {"arguments": ": 3}"}}]},
    )
    assert message_of(chunks)["tool_calls"] == [
        fn_call("call_a", "search", '{"q": "cats"}', 0),
        fn_call("call_b", "lookup", '{"id": 3}', 1),
    ]


def test_fragments_of_two_calls_in_one_delta():
    both = [fn_call("call_a", "f", "{", 0), fn_call("call_b", "g", "[", 1)]
    chunks = deltas(
        {"tool_calls": both},
        {
            "tool_calls": [
                {"index": 1, "function": {"arguments": "]"}},
                {"index": 0, "function": {"arguments": "}"}},
            ]
        },
    )
    assert message_of(chunks)["tool_calls"] == [
        fn_call("call_a", "f", "{}", 0),
        fn_call("call_b", "g", "[]", 1),
    ]


def test_tool_calls_without_index_use_their_position():
    chunks = deltas(
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x":'},
                },
                {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"tool_calls": [{"function": {"arguments": " 1}"}}]},
        # A different id at a position already taken: a new call, not a continuation.
        {
            "tool_calls": [
                {"id": "call_c", "type": "function", "function": {"name": "h", "arguments": "{}"}}
            ]
        },
    )
    assert message_of(chunks)["tool_calls"] == [
        fn_call("call_a", "f", '{"x": 1}', 0),
        fn_call("call_b", "g", "{}", 1),
        fn_call("call_c", "h", "{}", 2),
    ]


def test_every_call_at_index_zero_with_different_ids():
    chunks = deltas(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "read", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"path": "a"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path"'},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "id": "", "function": {"arguments": ': "b"}'}}]},
    )
    assert message_of(chunks)["tool_calls"] == [
        fn_call("call_1", "read", '{"path": "a"}', 0),
        fn_call("call_2", "read", '{"path": "b"}', 1),
    ]


def test_repeated_id_and_name_on_every_fragment_are_not_concatenated():
    fragment = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "run"}}
    chunks = deltas(
        {"tool_calls": [{**fragment, "function": {"name": "run", "arguments": '{"a"'}}]},
        {"tool_calls": [{**fragment, "function": {"name": "run", "arguments": ": 1}"}}]},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": None,
                    "type": None,
                    "function": {"name": None, "arguments": None},
                }
            ]
        },
    )
    assert message_of(chunks)["tool_calls"] == [fn_call("call_1", "run", '{"a": 1}', 0)]


def test_tool_call_type_defaults_to_function_and_extra_fields_are_kept():
    chunks = deltas(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "function": {"name": "f", "arguments": ""},
                    "extra_content": {"google": {"thought_signature": "c2ln"}},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
    )
    assert message_of(chunks)["tool_calls"] == [
        {
            **fn_call("call_1", "f", "{}", 0),
            "extra_content": {"google": {"thought_signature": "c2ln"}},
        }
    ]


def test_n2_interleaved_choices_sorted_by_index():
    chunks = [
        {"choices": [{"index": 1, "delta": {"role": "assistant", "content": "B1"}}]},
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "A1"}}]},
        {
            "choices": [
                {"index": 1, "delta": {"content": "B2"}, "finish_reason": "length"},
                {"index": 0, "delta": {"content": "A2"}},
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    choices = rebuild_completion(sse(*chunks))["choices"]
    assert choices == [
        {
            "index": 0,
            "finish_reason": "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": "A1A2", "refusal": None},
        },
        {
            "index": 1,
            "finish_reason": "length",
            "logprobs": None,
            "message": {"role": "assistant", "content": "B1B2", "refusal": None},
        },
    ]


def test_choice_without_index_uses_its_position():
    chunks = [
        {"choices": [{"delta": {"content": "x"}}, {"delta": {"content": "y"}}]},
        {"choices": [{"delta": {"content": "z"}}]},
    ]
    choices = rebuild_completion(sse(*chunks))["choices"]
    assert [c["message"]["content"] for c in choices] == ["xz", "y"]


def test_finish_reason_last_non_null():
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": None}]},
    ]
    assert rebuild_completion(sse(*chunks))["choices"][0]["finish_reason"] == "length"


def test_logprobs_content_and_refusal_lists_concatenated():
    def lp(tok):
        return {"token": tok, "logprob": -1.0, "bytes": list(tok.encode()), "top_logprobs": []}

    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "a"},
                    "logprobs": {"content": [lp("a")], "refusal": None},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"content": "b"}, "logprobs": None}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "cd"},
                    "logprobs": {"content": [lp("c"), lp("d")]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"refusal": "no"},
                    "logprobs": {"content": None, "refusal": [lp("no")]},
                }
            ]
        },
    ]
    assert rebuild_completion(sse(*chunks))["choices"][0]["logprobs"] == {
        "content": [lp("a"), lp("c"), lp("d")],
        "refusal": [lp("no")],
    }


def test_usage_only_final_chunk():
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "ok"}}], "usage": None},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None},
        {"choices": [], "usage": usage},
    ]
    completion = rebuild_completion(sse(*chunks))
    assert completion["usage"] == usage
    assert completion["choices"][0]["message"]["content"] == "ok"


def test_cumulative_usage_on_every_chunk_last_wins_not_summed():
    chunks = [
        {
            "choices": [{"index": 0, "delta": {"content": c}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n},
        }
        for n, c in enumerate("abc", start=1)
    ]
    chunks.append({"choices": [], "usage": None})
    assert rebuild_completion(sse(*chunks))["usage"] == {
        "prompt_tokens": 9,
        "completion_tokens": 3,
        "total_tokens": 12,
    }


def test_azure_content_filter_chunks():
    prompt_filter = [
        {
            "prompt_index": 0,
            "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
        }
    ]
    safe = {"hate": {"filtered": False, "severity": "safe"}}
    chunks = [
        {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": prompt_filter,
        },
        {
            "choices": [
                {
                    "content_filter_results": {},
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                    "index": 0,
                    "logprobs": None,
                }
            ],
            "created": 1718000000,
            "id": "chatcmpl-az1",
            "model": "gpt-4o-2024-05-13",
            "object": "chat.completion.chunk",
            "system_fingerprint": "fp_az",
        },
        {
            "choices": [
                {
                    "content_filter_results": safe,
                    "delta": {"content": "Hi"},
                    "finish_reason": "stop",
                    "index": 0,
                    "logprobs": None,
                }
            ],
            "created": 1718000000,
            "id": "chatcmpl-az1",
            "model": "gpt-4o-2024-05-13",
            "object": "chat.completion.chunk",
            "system_fingerprint": "fp_az",
        },
        # Asynchronous filter: no delta, empty envelope.
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": None,
                    "content_filter_results": safe,
                    "content_filter_offsets": {
                        "check_offset": 0,
                        "start_offset": 0,
                        "end_offset": 2,
                    },
                }
            ],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
        },
    ]
    assert rebuild_completion(sse(*chunks)) == {
        "id": "chatcmpl-az1",
        "object": "chat.completion",
        "created": 1718000000,
        "model": "gpt-4o-2024-05-13",
        "system_fingerprint": "fp_az",
        "usage": None,
        "prompt_filter_results": prompt_filter,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": "Hi", "refusal": None},
                "content_filter_results": safe,
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 2},
            }
        ],
    }


def test_legacy_function_call():
    chunks = deltas(
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "get_time", "arguments": ""},
        },
        {"function_call": {"arguments": '{"tz": '}},
        {"function_call": {"name": "get_time", "arguments": '"UTC"}'}},
    )
    assert message_of(chunks) == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "function_call": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
    }


def test_top_level_fields_first_non_empty_and_last_non_null():
    chunks = [
        {
            "id": "",
            "created": 0,
            "model": "",
            "service_tier": None,
            "system_fingerprint": "fp_1",
            "choices": [],
            "x_groq": {"id": "req_1"},
            "obfuscation": "pad",
        },
        {
            "id": "c-2",
            "created": 5,
            "model": "m-2",
            "service_tier": "default",
            "system_fingerprint": None,
            "choices": [],
        },
        {
            "id": "c-3",
            "created": 6,
            "model": "m-3",
            "service_tier": None,
            "system_fingerprint": "fp_3",
            "choices": [],
            "x_groq": None,
        },
    ]
    assert rebuild_completion(sse(*chunks)) == {
        "id": "c-2",
        "object": "chat.completion",
        "created": 5,
        "model": "m-2",
        "choices": [],
        "usage": None,
        "system_fingerprint": "fp_3",
        "service_tier": "default",
        "x_groq": {"id": "req_1"},
    }


def test_unknown_message_fields_merge_like_the_sdk():
    chunks = deltas(
        {"role": "assistant", "audio": {"id": "audio_1", "transcript": "Hel"}},
        {"audio": {"transcript": "lo", "data": "QUJD"}},
        {"annotations": [{"type": "url_citation", "url": "https://a.example"}]},
        {"annotations": [{"type": "url_citation", "url": "https://b.example"}]},
    )
    assert message_of(chunks) == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "audio": {"id": "audio_1", "transcript": "Hello", "data": "QUJD"},
        "annotations": [
            {"type": "url_citation", "url": "https://a.example"},
            {"type": "url_citation", "url": "https://b.example"},
        ],
    }


def test_malformed_shapes_are_skipped_not_fatal():
    chunks = [
        {"choices": "nope"},
        {"choices": [7, {"index": 0, "delta": "x"}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [3, None]}, "logprobs": 1}]},
        {"choices": [{"index": 0, "delta": {"content": "ok", "tool_calls": None}}]},
    ]
    rebuilder = run(sse(*chunks))
    assert rebuilder.completion()["choices"] == [
        {
            "index": 0,
            "finish_reason": None,
            "logprobs": None,
            "message": {"role": "assistant", "content": "ok", "refusal": None, "tool_calls": []},
        }
    ]
    assert rebuilder.notes == ["choice is a JSON number, not an object"]


def test_completion_mid_stream_and_snapshots_never_change_afterwards():
    chunks, expected = OPENAI_STREAMS["logprobs"]
    body = encode(chunks)
    cut = body.rindex(b"data: ", 0, body.index(b'"content":","'))  # before the second token
    rebuilder = StreamRebuilder()
    rebuilder.feed(body[:cut])
    partial = rebuilder.completion()
    assert partial["choices"][0]["message"]["content"] == "Yes"
    assert len(partial["choices"][0]["logprobs"]["content"]) == 1
    frozen = copy.deepcopy(partial)
    rebuilder.feed(body[cut:])
    rebuilder.close()
    assert rebuilder.completion() == expected
    assert partial == frozen


# ---------------------------------------------------------------------------------------------
# 3. Equality with what the official SDK accumulates from the same bytes


def sdk_completion(pieces: list[bytes]) -> dict[str, Any]:
    """Serve the bytes to a real OpenAI client; its own SSE decoder and stream state do the rest."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(pieces)
        )

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    with OpenAI(
        api_key="sk-test", base_url="http://upstream.test/v1", max_retries=0, http_client=http
    ) as client:
        with client.chat.completions.stream(model="m", messages=[]) as stream:
            stream.until_done()
            snapshot = stream.current_completion_snapshot
    # mode="json" so both sides are plain JSON values; exclude_unset so a field the server never
    # sent is not filled in from the model's defaults (e.g. no service_tier on the wire).
    return snapshot.model_dump(mode="json", exclude_unset=True)


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("name", OPENAI_STREAMS)
def test_rebuild_equals_sdk_accumulation(name, framing):
    chunks, expected = OPENAI_STREAMS[name]
    body = encode(chunks, FRAMINGS[framing])
    for pieces in ([body], [body[i : i + 7] for i in range(0, len(body), 7)]):
        sdk = without_sdk_additions(sdk_completion(pieces), chunks)
        assert rebuild_completion(pieces) == sdk
        assert sdk == expected


# ---------------------------------------------------------------------------------------------
# 4. Every split of every fixture gives the same completion


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("name", OPENAI_STREAMS)
def test_fixture_split_at_every_byte(name, framing):
    chunks, expected = OPENAI_STREAMS[name]
    body = encode(chunks, FRAMINGS[framing])
    assert rebuild_completion([body]) == expected
    for i, pieces in two_way_splits(body):
        rebuilder = run(pieces)
        assert rebuilder.completion() == expected, f"split at {i}"
        assert (rebuilder.done, rebuilder.error, rebuilder.notes) == (True, None, [])
    assert rebuild_completion(bytewise(body)) == expected


# ---------------------------------------------------------------------------------------------
# 5. Random well-formed streams, random framing, random chunking

EOLS = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def fragments(draw, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@st.composite
def streams(draw):
    """A random stream: (chunk dicts, the completion they must rebuild to)."""
    content = draw(st.none() | st.text(max_size=30))
    calls = draw(
        st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=20)), max_size=3)
    )
    usage = draw(
        st.none()
        | st.builds(
            lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
            st.integers(0, 10**6),
            st.integers(0, 10**6),
        )
    )
    first: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        first["content"] = ""
    items = [first] + [
        {"content": piece} for piece in draw(fragments(content or "")) if content is not None
    ]
    for i, (name, arguments) in enumerate(calls):
        items.append({"tool_calls": [fn_call(f"call_{i}", name, "", i)]})
        items += [
            {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
            for piece in draw(fragments(arguments))
        ]
    finish = "tool_calls" if calls else "stop"
    envelope = {"id": "chatcmpl-h", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    # Shaped like OpenAI's chunks (`logprobs: null` included), so the SDK can be the judge too.
    chunks = [
        {
            **envelope,
            "choices": [{"index": 0, "delta": item, "logprobs": None, "finish_reason": None}],
        }
        for item in items
    ]
    chunks.append(
        {
            **envelope,
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}],
        }
    )
    if usage is not None:
        chunks.append({**envelope, "choices": [], "usage": usage})

    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if calls:
        message["tool_calls"] = [
            fn_call(f"call_{i}", name, arguments, i) for i, (name, arguments) in enumerate(calls)
        ]
    expected = {
        "id": "chatcmpl-h",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
        "system_fingerprint": None,
    }
    return chunks, expected


@st.composite
def framed(draw, chunks: list[dict[str, Any]], done: bool) -> bytes:
    """Frame events with random line ends, comments, `data:` spacing and multi-line data."""
    out: list[bytes] = []
    last_eol = b""

    def line(text: bytes) -> None:
        nonlocal last_eol
        eol = draw(EOLS)
        if not text and last_eol == b"\r" and eol == b"\n":
            eol = b"\r\n"  # a lone LF right after a CR would merge with it into one CRLF
        out.append(text + eol)
        last_eol = eol

    events = [
        json.dumps(c, ensure_ascii=draw(st.booleans()), indent=draw(st.none() | st.just(1)))
        for c in chunks
    ] + (["[DONE]"] if done else [])
    for event in events:
        if draw(st.booleans()):
            line(b": keep-alive")
        prefix = draw(st.sampled_from([b"data: ", b"data:"]))
        for part in event.split("\n"):  # indent=1 puts newlines only between JSON tokens
            line(prefix + part.encode())
            if draw(st.integers(0, 9)) == 0:
                line(b":")
        line(b"")
        if draw(st.integers(0, 4)) == 0:
            line(b"")
    body = b"".join(out)
    if not done and draw(st.booleans()):
        body = body.rstrip(b"\r\n")  # the last event cut off before its blank line
    return body


@st.composite
def chunkings(draw, body: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=25)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_random_streams_rebuild_independently_of_chunking(data):
    chunks, expected = data.draw(streams())
    done = data.draw(st.booleans())
    body = data.draw(framed(chunks, done))
    pieces = data.draw(chunkings(body))
    rebuilder = run(pieces)
    assert rebuilder.completion() == expected
    assert rebuild_completion([body]) == expected
    assert rebuilder.done is done
    assert rebuilder.error is None
    assert rebuilder.notes == ([] if done else [NO_DONE])


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_random_streams_equal_the_sdk(data):
    chunks, expected = data.draw(streams())
    body = data.draw(framed(chunks, True))
    sdk = without_sdk_additions(sdk_completion([body]), chunks)
    assert sdk == expected
    assert rebuild_completion([body]) == sdk


# Keys the rebuilder gives meaning to, so random values land on every code path.
KEYS = st.sampled_from(
    [
        "choices",
        "delta",
        "index",
        "id",
        "type",
        "function",
        "name",
        "arguments",
        "tool_calls",
        "function_call",
        "content",
        "refusal",
        "reasoning",
        "role",
        "logprobs",
        "finish_reason",
        "usage",
        "error",
        "model",
        "created",
        "message",
        "audio",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(JSON | st.fixed_dictionaries({"choices": st.lists(JSON, max_size=2)}), max_size=6),
    st.data(),
)
def test_arbitrary_json_events_are_never_fatal(events, data):
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    rebuilder = run(data.draw(chunkings(body)))
    json.dumps(rebuilder.completion(), allow_nan=False)  # always a writable record
    assert rebuilder.error is None or isinstance(rebuilder.error, dict)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.binary(max_size=40)
        | st.sampled_from([b"\r", b"\n", b"data: ", b"data: [", b"event: error\n", b"\xf0\x9f"]),
        max_size=20,
    )
)
def test_arbitrary_bytes_are_never_fatal(chunks):
    rebuilder = run(chunks)
    json.dumps(rebuilder.completion(), allow_nan=False)
    assert outcome(chunks) == outcome([b"".join(chunks)])
