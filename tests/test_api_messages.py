"""Tests for albicilla.apis.messages, with the official anthropic SDK as the judge."""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from messages_cases import (
    BETA_STREAMS,
    FRAMINGS,
    MESSAGE_STOP,
    OVERLOADED,
    PING,
    SMALL_USAGE,
    STREAMS,
    TOOL_TURN,
    TOOL_TURN_MESSAGE,
    block,
    delta,
    encode,
    json_piece,
    message_delta,
    start,
    stop,
    text,
)
from werkzeug.datastructures import Headers

import albicilla.apis.messages
import albicilla.apis.messages_stream
from albicilla.apis import ApiStream, LoggedApi
from albicilla.apis.messages import PATH, MessagesStream, error_body, session_candidates
from albicilla.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProxyError,
    UnsupportedMediaType,
    UpstreamInvalidResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)

NO_STOP = "upstream stream ended without message_stop"


def run(pieces: list[bytes]) -> MessagesStream:
    stream = MessagesStream()
    for piece in pieces:
        stream.feed(piece)
    stream.close()
    return stream


def client(
    pieces: list[bytes], status: int = 200, content_type: str = "text/event-stream"
) -> anthropic.Anthropic:
    """A real anthropic client whose upstream serves `pieces`, one network chunk each."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=iter(pieces))

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://upstream.test", max_retries=0, http_client=http
    )


def sdk_message(
    pieces: list[bytes], *, beta: bool = False, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """What `messages.stream(...).get_final_message()` accumulates from these bytes.

    mode="json" turns the models into plain JSON values, as in the record. exclude_unset keeps
    exactly the fields the SDK took from the wire or assigned while accumulating: without it the
    dump adds every optional field of the model as null (`citations`, `caller`, `container`,
    `usage.cache_creation`, ...), fields the upstream never sent. The SDK's own assignments stay:
    `stop_details` is set (null) on every message_delta, and the record does the same.
    """
    with client(pieces) as anthropic_client:
        messages = anthropic_client.beta.messages if beta else anthropic_client.messages
        with messages.stream(
            model="claude", max_tokens=1024, messages=[], extra_headers=headers or {}
        ) as stream:
            message = stream.get_final_message()
    return message.model_dump(mode="json", exclude_unset=True)


def sevens(body: bytes) -> list[bytes]:
    return [body[i : i + 7] for i in range(0, len(body), 7)]


# ---------------------------------------------------------------------------------------------
# 1. Equality with the SDK on well-formed streams


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta.messages"])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("name", STREAMS)
def test_response_equals_what_the_sdk_accumulates(name, framing, beta):
    events, expected = STREAMS[name]
    body = encode(events, FRAMINGS[framing])
    for pieces in ([body], sevens(body)):
        sdk = sdk_message(pieces, beta=beta)
        assert sdk == expected  # the hand-written Message is what the SDK makes too
        stream = run(pieces)
        assert stream.response() == sdk
        assert (stream.finished, stream.outcome(), stream.notes) == (True, None, [])


@pytest.mark.parametrize("name", BETA_STREAMS)
def test_beta_fields_equal_the_beta_sdk_and_the_plain_sdk_drops_them(name):
    events, expected = BETA_STREAMS[name]
    body = encode(events)
    assert run([body]).response() == sdk_message([body], beta=True) == expected
    plain = sdk_message([body])
    assert plain["context_management"] is None  # message_start's value: the delta's dropped
    assert expected["context_management"] is not None


# ---------------------------------------------------------------------------------------------
# 2. Every split of every fixture gives the same Message


@pytest.mark.parametrize("framing", ["lf", "crlf"])  # CR alone: by the random tests below
@pytest.mark.parametrize("name", [*STREAMS, *BETA_STREAMS])
def test_fixture_split_at_every_byte(name, framing):
    events, expected = {**STREAMS, **BETA_STREAMS}[name]
    body = encode(events, FRAMINGS[framing])
    for i in range(len(body) + 1):
        stream = run([body[:i], body[i:]])
        assert stream.response() == expected, f"split at {i}"
        assert (stream.finished, stream.outcome(), stream.notes) == (True, None, [])
    assert run([body[i : i + 1] for i in range(len(body))]).response() == expected


@st.composite
def chunkings(draw, body: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=40)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.sampled_from(sorted({**STREAMS, **BETA_STREAMS})),
    st.sampled_from(sorted(FRAMINGS)),
    st.data(),
)
def test_random_chunking_gives_the_same_message(name, framing, data):
    events, expected = {**STREAMS, **BETA_STREAMS}[name]
    pieces = data.draw(chunkings(encode(events, FRAMINGS[framing])))
    assert run(pieces).response() == expected


@st.composite
def fragments(draw, whole: str) -> list[str]:
    """`whole` cut anywhere (inside escapes and surrogate pairs' text too), "" pieces included."""
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=6)))
    bounds = [0, *cuts, len(whole)]
    return [whole[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def random_streams(draw):
    """A random well-formed stream: (events, the Message written from the drawn values)."""
    texts = draw(st.lists(st.text(max_size=20), max_size=2))
    inputs = draw(
        st.lists(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3), max_size=3)
    )
    events: list[tuple[str | None, Any]] = [start("msg_h", dict(SMALL_USAGE))]
    content: list[dict[str, Any]] = []
    for whole in texts:
        index = len(content)
        events.append(block(index, {"type": "text", "text": ""}))
        events += [text(index, piece) for piece in draw(fragments(whole))]
        events.append(stop(index))
        content.append({"type": "text", "text": whole})
        if draw(st.booleans()):
            events.append(PING)
    for i, tool_input in enumerate(inputs):
        index = len(content)
        tool = {"type": "tool_use", "id": f"toolu_{i}", "name": "t"}
        events.append(block(index, {**tool, "input": {}}))
        raw = json.dumps(tool_input, ensure_ascii=draw(st.booleans()))
        events += [json_piece(index, piece) for piece in draw(fragments(raw))]
        events.append(stop(index))
        content.append({**tool, "input": tool_input})
    events += [
        message_delta("tool_use" if inputs else "end_turn", {"output_tokens": 9}),
        MESSAGE_STOP,
    ]
    expected = {
        "model": "claude-opus-4-5-20251101",
        "id": "msg_h",
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": "tool_use" if inputs else "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "usage": {**SMALL_USAGE, "output_tokens": 9},
    }
    return events, expected


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(random_streams(), st.sampled_from(sorted(FRAMINGS)), st.data())
def test_random_streams_equal_the_sdk(stream, framing, data):
    events, expected = stream
    body = encode(events, FRAMINGS[framing])
    assert run(data.draw(chunkings(body))).response() == expected
    assert sdk_message([body], beta=data.draw(st.booleans())) == expected


# ---------------------------------------------------------------------------------------------
# 3. Where the record says more than the SDK, on purpose

USAGE_1 = {"input_tokens": 5, "output_tokens": 1}


def tool_stream(
    *pieces: str, stop_reason: str = "max_tokens", block_stop: bool = True, end: bool = True
) -> bytes:
    events = [
        start("msg_t", dict(USAGE_1)),
        block(0, {"type": "tool_use", "id": "toolu_x", "name": "Write", "input": {}}),
        *[json_piece(0, piece) for piece in pieces],
    ]
    if block_stop:
        events.append(stop(0))
    if end:
        events += [message_delta(stop_reason, {"output_tokens": 64}), MESSAGE_STOP]
    return encode(events)


def test_tool_json_cut_by_max_tokens_stays_raw_and_marked_where_the_sdk_guesses():
    # A complete stream is not a complete tool call: no content_block_stop, JSON cut mid-string.
    body = tool_stream('{"path": "a.py", "content": "print(', block_stop=False)
    stream = run([body])
    assert stream.response()["content"] == [
        {
            "type": "tool_use",
            "id": "toolu_x",
            "name": "Write",
            "input": '{"path": "a.py", "content": "print(',
            "_invalid_input": True,
        }
    ]
    assert (stream.finished, stream.outcome()) == (True, None)
    assert stream.response()["stop_reason"] == "max_tokens"
    # The SDK parses in partial mode: it drops the cut string, or keeps it under the
    # fine-grained-tool-streaming beta; either way the record could not tell it was cut.
    assert sdk_message([body])["content"][0]["input"] == {"path": "a.py"}
    fine_grained = {"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"}
    assert sdk_message([body], beta=True, headers=fine_grained)["content"][0]["input"] == {
        "path": "a.py",
        "content": "print(",
    }


def test_tool_json_that_never_parses_is_kept_where_the_sdk_raises():
    body = tool_stream('{"a": tru', "x}", stop_reason="tool_use")
    block_ = run([body]).response()["content"][0]
    assert (block_["input"], block_["_invalid_input"]) == ('{"a": trux}', True)
    with pytest.raises(ValueError, match="Unable to parse tool parameter JSON"):
        sdk_message([body])


def test_nan_in_tool_json_is_invalid_input_so_the_record_stays_json():
    block_ = run([tool_stream('{"x": NaN}', stop_reason="tool_use")]).response()["content"][0]
    assert block_ == {
        "type": "tool_use",
        "id": "toolu_x",
        "name": "Write",
        "input": '{"x": NaN}',
        "_invalid_input": True,
    }


def test_unknown_usage_fields_on_message_delta_are_kept_where_the_sdk_drops_them():
    events = [
        start("msg_u", dict(USAGE_1)),
        message_delta("end_turn", {"output_tokens": 3, "future_tokens": 7, "input_tokens": None}),
        MESSAGE_STOP,
    ]
    body = encode(events)
    assert run([body]).response()["usage"] == {
        "input_tokens": 5,
        "output_tokens": 3,
        "future_tokens": 7,
    }
    assert sdk_message([body])["usage"] == {"input_tokens": 5, "output_tokens": 3}


def test_events_without_a_name_dispatch_on_data_type_where_the_sdk_skips_them():
    body = encode([(None, event) for _, event in TOOL_TURN])
    assert run([body]).response() == TOOL_TURN_MESSAGE
    with pytest.raises(AssertionError):  # the SDK saw no message_start: no snapshot at all
        sdk_message([body])


# ---------------------------------------------------------------------------------------------
# 4. Endings, and what the record says about them

HALF = TOOL_TURN[:10]  # message_start, the thinking block, ping, text block started, two deltas


def test_overloaded_error_event_keeps_the_partial_message_and_says_why():
    body = encode([*HALF, ("error", OVERLOADED)])
    stream = run([body])
    assert stream.outcome() == "upstream error event: overloaded_error: Overloaded"
    assert stream.error == OVERLOADED
    assert stream.finished is False
    assert [b["type"] for b in stream.response()["content"]] == ["thinking", "text"]
    assert stream.response()["content"][1]["text"] == "I'll run the tests and read the README — "
    with pytest.raises(anthropic.APIStatusError) as raised:
        sdk_message([body])
    assert raised.value.body == OVERLOADED


def test_error_event_outcome_is_bounded_and_the_first_error_wins():
    huge = {"type": "error", "error": {"type": "api_error", "message": "x" * 10_000}}
    stream = run([encode([*HALF, ("error", huge), ("error", OVERLOADED)])])
    assert stream.outcome() == ("upstream error event: api_error: " + "x" * 10_000)[:200]
    assert stream.error == huge
    assert stream.notes == ["another error event"]
    plain = run([b"event: error\ndata: upstream fell over\n\n"])
    assert plain.outcome() == "upstream error event: upstream fell over"


def test_error_event_wins_over_a_later_message_stop():
    stream = run([encode([*HALF, ("error", OVERLOADED), MESSAGE_STOP])])
    assert stream.outcome() == "upstream error event: overloaded_error: Overloaded"


def test_stream_cut_before_message_stop_is_incomplete_with_the_placeholder_usage():
    stream = run([encode(HALF)])
    assert (stream.finished, stream.outcome()) == (False, NO_STOP)
    message = stream.response()
    assert (message["stop_reason"], message["usage"]["output_tokens"]) == (None, 8)
    assert "stop_details" not in message  # no message_delta came


def test_message_delta_without_message_stop_is_still_incomplete():
    events = [*TOOL_TURN[:-1]]
    stream = run([encode(events)])
    assert stream.outcome() == NO_STOP
    assert stream.response() == TOOL_TURN_MESSAGE


def test_finished_at_message_stop_before_the_body_ends():
    stream = MessagesStream()
    stream.feed(encode(TOOL_TURN))
    assert stream.finished and stream.outcome() is None
    assert stream.response() == TOOL_TURN_MESSAGE


def test_no_message_start_means_no_message():
    stream = run([encode([PING, MESSAGE_STOP])])
    assert stream.response() is None
    assert stream.outcome() == "upstream stream ended without message_start"
    assert run([]).response() is None and run([]).outcome() == NO_STOP


def test_ping_comments_and_unknown_events_are_ignored_unknown_ones_noted():
    events = [
        TOOL_TURN[0],
        PING,
        ("future_event", {"type": "future_event", "x": 1}),
        block(0, {"type": "text", "text": ""}),
        delta(0, "future_delta", x=1),
        text(0, "ok"),
        delta(0, "thinking_delta", thinking="wrong block"),
        stop(0),
        message_delta("end_turn", {"output_tokens": 2}),
        MESSAGE_STOP,
    ]
    stream = run([b": keep-alive\n\n" + encode(events)])
    assert stream.response()["content"] == [{"type": "text", "text": "ok"}]
    assert stream.notes == [
        "unknown event 'future_event' ignored",
        "future_delta for a text block ignored",
        "thinking_delta for a text block ignored",
    ]
    assert stream.outcome() is None


def test_malformed_events_are_noted_never_fatal():
    body = b"event: content_block_delta\ndata: {not json\n\n" + encode(
        [
            TOOL_TURN[0],
            ("content_block_delta", {"type": "content_block_delta", "index": [1]}),
            ("content_block_start", {"type": "content_block_start", "index": "0"}),
            ("message_start", {"type": "message_start", "message": {}}),
            ("content_block_delta", {"type": "ping"}),
            MESSAGE_STOP,
        ]
    )
    stream = run([body])
    assert stream.response() == TOOL_TURN[0][1]["message"]
    assert len(stream.notes) == 6, stream.notes


def test_notes_are_capped():
    stream = run([b"event: nope\ndata: {}\n\n" * 50])
    assert len(stream.notes) == 21 and stream.notes[-1] == "further notes dropped"


def test_response_mid_stream_parses_what_came_and_snapshots_never_change():
    body = tool_stream('{"path": ', '"a.py"}', stop_reason="tool_use")
    first_piece_ends = body.index(b"\n\n", body.index(b'{\\"path\\": ')) + 2
    stream = MessagesStream()
    stream.feed(body[:first_piece_ends])
    early = stream.response()
    assert early["content"] == [
        {
            "type": "tool_use",
            "id": "toolu_x",
            "name": "Write",
            "input": '{"path": ',
            "_invalid_input": True,
        }
    ]
    frozen = json.dumps(early)
    stream.feed(body[first_piece_ends:])
    stream.close()
    assert stream.response()["content"] == [
        {"type": "tool_use", "id": "toolu_x", "name": "Write", "input": {"path": "a.py"}}
    ]
    assert json.dumps(early) == frozen


# ---------------------------------------------------------------------------------------------
# 5. The frame the proxy sends when it ends a stream itself

TIMEOUT = {"type": "error", "error": {"type": "timeout_error", "message": "upstream read timeout"}}


def test_end_frame_is_one_anthropic_error_event():
    stream = MessagesStream()
    assert stream.end_frame("upstream read timeout", timeout=True) == (
        b'event: error\ndata: {"type":"error","error":{"type":"timeout_error",'
        b'"message":"upstream read timeout"}}\n\n'
    )
    frame = stream.end_frame("worker stopping", timeout=False)
    assert json.loads(frame.split(b"data: ")[1]) == {
        "type": "error",
        "error": {"type": "api_error", "message": "worker stopping"},
    }


@pytest.mark.parametrize("framing", ["lf", "crlf"])
def test_end_frame_after_a_cut_at_any_line_end_makes_the_sdk_raise_our_error(framing):
    # Line ends include a CR whose LF has not come yet, and the end of a data line whose blank
    # line has not: its event must still be read on its own, and ours after it.
    body = encode(HALF, FRAMINGS[framing])
    ends = [i + 1 for i in range(len(body)) if body[i] in b"\r\n"]
    for end in [0, *ends]:
        for close_first in (False, True):
            stream = MessagesStream()
            stream.feed(body[:end])
            if close_first:
                stream.close()
            frame = stream.end_frame("upstream read timeout", timeout=True)
            with pytest.raises(anthropic.APIStatusError) as raised:
                sdk_message([body[:end], frame], beta=True)
            error = raised.value
            assert type(error) is anthropic.APIStatusError  # as for any upstream error event
            assert (error.status_code, error.body) == (200, TIMEOUT)
            assert "upstream read timeout" in str(error)


def test_end_frame_after_a_cut_comment_line_still_dispatches_the_waiting_event_first():
    body = encode(HALF) + b'event: ping\ndata: {"type":"ping"}\n: keep-al'
    stream = MessagesStream()
    stream.feed(body)
    with pytest.raises(anthropic.APIStatusError) as raised:
        sdk_message([body, stream.end_frame("upstream read timeout", timeout=True)])
    assert raised.value.body == TIMEOUT


def test_end_frame_after_a_cut_anywhere_still_reaches_the_sdk():
    # Short, as the SDK takes ~15 ms a stream; with a 2-, a 3- and a 4-byte character.
    body = encode(
        [
            start("msg_c", dict(SMALL_USAGE)),
            block(0, {"type": "text", "text": ""}),
            text(0, "naïve — 🦅"),
            stop(0),
            PING,
        ]
    )
    results: Counter[str] = Counter()
    for i in range(len(body) + 1):
        stream = MessagesStream()
        stream.feed(body[:i])
        try:
            sdk_message([body[:i], stream.end_frame("upstream read timeout", timeout=True)])
        except anthropic.APIStatusError as error:
            assert "upstream read timeout" in str(error), f"cut at {i}"
            # Inside a data line the cut text and ours become one event: the SDK raises on the
            # `event: error` name with both texts, rather than on the half event's JSON.
            results["exact" if error.body == TIMEOUT else "merged"] += 1
        except UnicodeDecodeError:
            # The SDK decodes every line strictly: a cut inside a character breaks its line
            # whatever follows.
            assert body[:i].decode("utf-8", "ignore").encode() != body[:i]
            results["utf-8"] += 1
    assert results["exact"] > 5 and results["merged"] > 100
    assert results["utf-8"] == 1 + 2 + 3


# ---------------------------------------------------------------------------------------------
# 6. Sessions


UUID = "7f2c1a3e-9b4d-4e8a-b1c2-0d3e4f5a6b7c"
DEVICE = "a" * 64


@pytest.mark.parametrize(
    ("metadata", "headers", "expected"),
    [
        pytest.param(
            {"user_id": json.dumps({"device_id": DEVICE, "account_uuid": "", "session_id": UUID})},
            {"X-Claude-Code-Session-Id": "header-id"},
            [
                "header-id",
                UUID,
                json.dumps({"device_id": DEVICE, "account_uuid": "", "session_id": UUID}),
            ],
            id="header-then-json",
        ),
        pytest.param(
            {"user_id": f"user_{DEVICE}_account__session_{UUID}"},
            {},
            [UUID, f"user_{DEVICE}_account__session_{UUID}"],
            id="legacy-empty-account",
        ),
        pytest.param(
            {"user_id": f"user_{DEVICE}_account_{UUID[::-1]}_session_{UUID}"},
            {},
            [UUID, f"user_{DEVICE}_account_{UUID[::-1]}_session_{UUID}"],
            id="legacy-with-account",
        ),
        pytest.param({"user_id": "customer-42"}, {}, ["customer-42"], id="opaque-user-id"),
        pytest.param(
            {"user_id": '{"session_id": ""}'}, {}, ['{"session_id": ""}'], id="json-without-session"
        ),
        pytest.param({"user_id": "{not json"}, {}, ["{not json"], id="brace-but-not-json"),
        pytest.param(
            {"user_id": "user_abc_account__session_"},
            {},
            ["user_abc_account__session_"],
            id="legacy-without-uuid",
        ),
        pytest.param({"user_id": ""}, {"X-Claude-Code-Session-Id": ""}, [], id="empty"),
        pytest.param({"user_id": 42}, {}, [], id="not-a-string"),
        pytest.param("not a dict", {}, [], id="metadata-not-object"),
    ],
)
def test_session_candidates(metadata, headers, expected):
    assert list(session_candidates({"metadata": metadata}, Headers(headers))) == expected


def test_session_header_is_read_case_insensitively_and_no_metadata_is_fine():
    headers = Headers([("x-claude-code-session-id", UUID)])
    assert list(session_candidates({}, headers)) == [UUID]
    assert list(session_candidates({"model": "m"}, Headers())) == []


# ---------------------------------------------------------------------------------------------
# 7. The proxy's own errors, as the SDK reads them


@pytest.mark.parametrize(
    ("err", "error_type", "exception"),
    [
        (
            InvalidRequest("body is not a JSON object"),
            "invalid_request_error",
            anthropic.BadRequestError,
        ),
        (
            UnsupportedMediaType("unsupported Content-Encoding: br"),
            "invalid_request_error",
            anthropic.APIStatusError,
        ),
        (NotFound("no such path"), "not_found_error", anthropic.NotFoundError),
        (
            PayloadTooLarge("request body over 64 MiB"),
            "request_too_large",
            anthropic.RequestTooLargeError,
        ),
        (UpstreamUnavailable("upstream unreachable"), "api_error", anthropic.InternalServerError),
        (
            UpstreamInvalidResponse("upstream sent garbage"),
            "api_error",
            anthropic.InternalServerError,
        ),
        (UpstreamTimeout("upstream timed out"), "timeout_error", anthropic.GatewayTimeoutError),
        (ProxyError("something else"), "api_error", anthropic.InternalServerError),
    ],
)
def test_error_body_makes_the_sdk_raise_its_own_exception_for_the_status(
    err, error_type, exception
):
    body = error_body(err)
    assert body == {"type": "error", "error": {"type": error_type, "message": err.message}}
    with client(
        [json.dumps(body).encode()], status=err.status, content_type="application/json"
    ) as anthropic_client:
        with pytest.raises(anthropic.APIStatusError) as raised:
            anthropic_client.messages.create(model="claude", max_tokens=8, messages=[])
    assert type(raised.value) is exception
    assert raised.value.status_code == err.status
    assert raised.value.body == body
    assert err.message in raised.value.message


def test_request_too_large_is_the_sdks_content_too_large_and_504_a_server_error():
    assert anthropic.RequestTooLargeError is anthropic.ContentTooLargeError
    assert issubclass(anthropic.GatewayTimeoutError, anthropic.InternalServerError)


# ---------------------------------------------------------------------------------------------
# 8. The module stays pure


@pytest.mark.parametrize("module", [albicilla.apis.messages, albicilla.apis.messages_stream])
def test_modules_import_only_the_standard_library(module):
    tree = ast.parse(Path(module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert PATH == "/v1/messages"


# ---------------------------------------------------------------------------------------------
# 9. Whatever arrives, the record stays a JSON object and nothing raises

KEYS = st.sampled_from(
    [
        "type",
        "index",
        "message",
        "content",
        "content_block",
        "delta",
        "usage",
        "text",
        "thinking",
        "signature",
        "partial_json",
        "citation",
        "citations",
        "input",
        "stop_reason",
        "error",
        "to",
        "model",
        "output_tokens",
    ]
)
EVENT_NAMES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "",
        "other",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.text(max_size=4)
    | st.sampled_from(
        [
            "text",
            "thinking",
            "tool_use",
            "fallback",
            "text_delta",
            "input_json_delta",
            "signature_delta",
            "citations_delta",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(EVENT_NAMES, JSON), max_size=8), st.data())
def test_arbitrary_events_are_never_fatal(events, data):
    valid_start = start("msg_f", dict(SMALL_USAGE))
    body = encode([valid_start, *events] if data.draw(st.booleans()) else events)
    stream = run(data.draw(chunkings(body)))
    json.dumps(stream.response(), allow_nan=False)
    assert isinstance(stream.outcome(), str | None)
    stream.end_frame("x", timeout=False)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.binary(max_size=40)
        | st.sampled_from(
            [b"\r", b"\n", b"event: error\n", b"event: message_stop\n", b"data: {", b"\xf0\x9f"]
        ),
        max_size=20,
    )
)
def test_arbitrary_bytes_are_never_fatal(chunks):
    stream = run(chunks)
    json.dumps(stream.response(), allow_nan=False)
    whole = run([b"".join(chunks)])
    assert (stream.response(), stream.outcome(), stream.notes) == (
        whole.response(),
        whole.outcome(),
        whole.notes,
    )


def test_the_stream_fits_the_logged_api_table():
    row = LoggedApi(PATH, MessagesStream, session_candidates, error_body)
    stream: ApiStream = row.new_stream()
    stream.feed(encode(TOOL_TURN))
    stream.close()
    assert (stream.finished, stream.outcome(), stream.response()) == (True, None, TOOL_TURN_MESSAGE)
