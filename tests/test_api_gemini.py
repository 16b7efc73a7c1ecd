"""Tests for albicilla.apis.gemini: a stream, SSE or JSON array, rebuilds the non-streamed
response of the same scripted generation, at any split of its bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from albicilla.apis import api_for_path
from albicilla.apis.gemini import (
    NO_FINISH,
    GeminiArrayStream,
    GeminiStream,
    api_key,
    error_body,
    owns,
)
from albicilla.apis.json_array import JsonArraySplitter
from albicilla.errors import (
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from support.fake_gemini import CASES, STREAM_ERROR, array_pieces, chunks, sse_pieces

MODES = {"sse": (GeminiStream, sse_pieces), "array": (GeminiArrayStream, array_pieces)}


def body(case: str, mode: str) -> bytes:
    return b"".join(MODES[mode][1](chunks(CASES[case])))


def run(mode: str, pieces: list[bytes]) -> Any:
    stream = MODES[mode][0]()
    for piece in pieces:
        stream.feed(piece)
    stream.close()
    return stream


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_stream_rebuilds_the_non_streamed_response(case, mode):
    stream = run(mode, MODES[mode][1](chunks(CASES[case])))
    assert stream.response() == CASES[case]
    assert stream.outcome() is None
    assert stream.notes == []


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("case", ["thinking", "parallel_calls", "candidates", "code_execution"])
def test_split_at_every_byte_gives_the_same_response(case, mode):
    data = body(case, mode)
    for cut in range(len(data) + 1):
        stream = run(mode, [data[:cut], data[cut:]])
        assert stream.response() == CASES[case], cut
        assert stream.outcome() is None, cut


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.sampled_from(sorted(CASES)), st.sampled_from(sorted(MODES)), st.data())
def test_random_chunking_gives_the_same_response(case, mode, data):
    whole = body(case, mode)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(whole)), max_size=12)))
    pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    assert run(mode, pieces).response() == CASES[case]


def test_trailing_signature_only_part_keeps_its_signature_on_the_joined_text():
    stream = run(
        "sse",
        sse_pieces(
            [
                {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
                {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}]},
                {
                    "candidates": [
                        {
                            "content": {
                                "role": "model",
                                "parts": [{"text": "", "thoughtSignature": "SIG"}],
                            },
                            "finishReason": "STOP",
                        }
                    ]
                },
            ]
        ),
    )
    parts = stream.response()["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "Hello", "thoughtSignature": "SIG"}]


def test_signature_only_part_after_a_call_stays_a_part_of_its_own():
    stream = run(
        "sse",
        sse_pieces(
            [
                {
                    "candidates": [
                        {"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}}
                    ]
                },
                {
                    "candidates": [
                        {
                            "content": {"parts": [{"text": "", "thoughtSignature": "S"}]},
                            "finishReason": "STOP",
                        }
                    ]
                },
            ]
        ),
    )
    assert stream.response()["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "f", "args": {}}},
        {"text": "", "thoughtSignature": "S"},
    ]


def test_thought_and_answer_text_never_join():
    stream = run(
        "array",
        array_pieces(
            [
                {"candidates": [{"content": {"parts": [{"text": "a", "thought": True}]}}]},
                {"candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}]},
            ]
        ),
    )
    assert stream.response()["candidates"][0]["content"]["parts"] == [
        {"text": "a", "thought": True},
        {"text": "b"},
    ]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_error_object_mid_stream_is_incomplete_and_keeps_what_came(mode):
    items = [*chunks(CASES["text"])[:2], STREAM_ERROR]
    stream = run(mode, MODES[mode][1](items))
    assert stream.response()["candidates"][0]["content"]["parts"] == [{"text": "Hello there, t"}]
    assert stream.outcome() == "upstream error object: INTERNAL: An internal error has occurred."
    assert stream.error == STREAM_ERROR["error"]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_cut_stream_is_incomplete(mode):
    data = body("text", mode)
    stream = run(mode, [data[: len(data) // 2]])
    assert stream.outcome() is not None
    assert stream.response()["candidates"][0]["content"]["parts"][0]["text"].startswith("Hello")


def test_stream_without_finish_reason_is_incomplete_and_array_without_close_too():
    items = [{"candidates": [{"content": {"parts": [{"text": "x"}]}}]}]
    assert run("sse", sse_pieces(items)).outcome() == NO_FINISH
    whole = b"".join(array_pieces(chunks(CASES["text"])))
    assert run("array", [whole[:-1]]).outcome() == "upstream stream ended before the array closed"


@pytest.mark.parametrize("finish", ["SAFETY", "RECITATION", "MALFORMED_FUNCTION_CALL", "OTHER"])
def test_unusual_finish_reasons_are_complete_and_recorded_as_sent(finish):
    items = [{"candidates": [{"finishReason": finish, "index": 0}]}]
    stream = run("sse", sse_pieces(items))
    assert stream.outcome() is None
    assert stream.response()["candidates"] == [{"finishReason": finish, "index": 0}]


def test_a_blocked_prompt_without_candidates_is_an_answer():
    items = [{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"totalTokenCount": 3}}]
    stream = run("array", array_pieces(items))
    assert stream.outcome() is None
    assert stream.response() == items[0]


def test_array_stream_is_finished_at_its_closing_bracket():
    stream = GeminiArrayStream()
    whole = b"".join(array_pieces(chunks(CASES["text"])))
    stream.feed(whole[:-1])
    assert not stream.finished
    stream.feed(b"]")
    assert stream.finished


def test_splitter_handles_strings_escapes_nesting_and_scalars():
    seen: list[bytes] = []
    notes: list[str] = []
    splitter = JsonArraySplitter(seen.append, notes.append)
    data = b' [ {"a": "x]}\\"{["}, [1, [2]], "s\\\\", 12 , true,null ] trailing'
    for byte in data:
        splitter.feed(bytes([byte]))
    assert [json.loads(e) for e in seen] == [{"a": 'x]}"{['}, [1, [2]], "s\\", 12, True, None]
    assert splitter.done and notes == []


def test_splitter_drops_an_oversized_element_and_keeps_the_next():
    seen: list[bytes] = []
    notes: list[str] = []
    splitter = JsonArraySplitter(seen.append, notes.append, max_bytes=64)
    splitter.feed(b'[{"big": "' + b"x" * 500 + b'"}, {"ok": 1}]')
    assert seen == [b'{"ok": 1}']
    assert notes == ["oversized JSON array element dropped"]


def test_splitter_notes_a_body_that_is_not_an_array():
    notes: list[str] = []
    splitter = JsonArraySplitter(lambda _: None, notes.append)
    splitter.feed(b'{"error": 1}')
    assert notes and notes[0].startswith("stream is not a JSON array")


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.binary(max_size=30)
        | st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b",", b'{"error": 1}']),
        max_size=30,
    )
)
def test_arbitrary_bytes_are_never_fatal(pieces):
    for mode in MODES:
        stream = run(mode, pieces)
        stream.response()
        stream.outcome()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_snapshots_never_change_after_they_are_taken(mode):
    items = chunks(CASES["text"])
    stream = MODES[mode][0]()
    pieces = MODES[mode][1](items)
    for piece in pieces[:3]:
        stream.feed(piece)
    snapshot = stream.response()
    held = json.dumps(snapshot)
    for piece in pieces[3:]:
        stream.feed(piece)
    assert json.dumps(snapshot) == held
    assert stream.response() != snapshot


def test_sse_end_frame_is_a_google_error_event_after_what_a_cut_left():
    stream = GeminiStream()
    stream.feed(b'data: {"candidates": [')
    frame = stream.end_frame("upstream read timeout", timeout=True)
    assert frame.startswith(b"\n")
    event = frame.strip().removeprefix(b"data: ")
    assert json.loads(event) == {
        "error": {"code": 504, "message": "upstream read timeout", "status": "DEADLINE_EXCEEDED"}
    }


def test_array_end_frame_closes_the_array_between_elements_only():
    stream = GeminiArrayStream()
    first = array_pieces(chunks(CASES["text"]))[0]
    stream.feed(first)
    frame = stream.end_frame("the proxy is shutting down", timeout=False)
    elements = json.loads(first + frame)
    assert elements[-1]["error"]["status"] == "UNAVAILABLE"
    stream.feed(b', {"candidates": [')
    assert stream.end_frame("x", timeout=False) == b""
    assert json.loads(GeminiArrayStream().end_frame("x", timeout=True))[0]["error"]["code"] == 504


@pytest.mark.parametrize(
    ("err", "code", "status"),
    [
        (InvalidRequest("bad"), 400, "INVALID_ARGUMENT"),
        (PayloadTooLarge("big"), 413, "INVALID_ARGUMENT"),
        (UnsupportedMediaType("gz"), 415, "INVALID_ARGUMENT"),
        (UpstreamUnavailable("down"), 502, "UNAVAILABLE"),
        (UpstreamTimeout("slow"), 504, "DEADLINE_EXCEEDED"),
    ],
)
def test_error_body_is_googles_shape(err, code, status):
    assert error_body(err) == {"error": {"code": code, "message": err.message, "status": status}}


@pytest.mark.parametrize(
    ("path", "mine"),
    [
        ("/v1beta/models/g:generateContent", True),
        ("/v1beta/models/g:countTokens", True),
        ("/v1beta/files", True),
        ("/v1/models/g:streamGenerateContent", True),
        ("/v1/models/g:embedContent", True),
        ("/v1/models", False),
        ("/v1/models/gpt-4o", False),
        ("/v1/chat/completions", False),
    ],
)
def test_gemini_owns_v1beta_and_model_method_paths_only(path, mine):
    assert owns(path) is mine
    api = api_for_path(path)
    assert (api is not None and api.upstream == "gemini_base") is mine


def test_api_key_is_the_goog_header_then_the_query_then_a_bearer():
    assert (
        api_key(Headers({"x-goog-api-key": "K1", "Authorization": "Bearer K2"}), b"key=K3") == "K1"
    )
    assert api_key(Headers(), b"alt=sse&key=K3") == "K3"
    assert api_key(Headers({"Authorization": "Bearer K2"}), b"alt=sse") == "K2"
    assert api_key(Headers(), b"") == ""
