"""Tests for albicilla.apis.responses: the Responses stream, checked against the openai SDK."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import APIError, OpenAI
from openai.types.responses import ResponseFailedEvent
from responses_cases import (
    COMPLETED,
    RESP_ID,
    USAGE,
    Stream,
    codex_turn,
    encode,
    failed_turn,
    incomplete_turn,
    response,
)
from werkzeug.datastructures import Headers

from albicilla.apis import responses_stream
from albicilla.apis.responses import NO_TERMINAL, ResponsesStream, error_body, session_candidates
from albicilla.errors import UpstreamTimeout
from support.sdk_oracles import responses_partial, responses_state

FRAMINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def run(pieces: list[bytes]) -> ResponsesStream:
    stream = ResponsesStream()
    for piece in pieces:
        stream.feed(piece)
    stream.close()
    return stream


def result(pieces: list[bytes]) -> tuple[Any, ...]:
    stream = run(pieces)
    return stream.response(), stream.outcome(), stream.finished, stream.error, stream.notes


def sdk_client(body: bytes) -> OpenAI:
    """A real OpenAI client whose upstream serves `body`; its own SSE decoder does the rest."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter([body])
        )

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return OpenAI(
        api_key="sk-test", base_url="http://upstream.test/v1", max_retries=0, http_client=http
    )


def sdk_final(body: bytes) -> dict[str, Any]:
    with sdk_client(body) as client, client.responses.stream(model="m", input="hi") as stream:
        final = stream.get_final_response()
    # mode="json": plain JSON values as in the record; exclude_unset: no field the server did
    # not send comes back filled from the model's defaults.
    return without_sdk_parsing(final.model_dump(mode="json", exclude_unset=True))


def sdk_events(body: bytes) -> tuple[list[Any], BaseException | None]:
    """The events `client.responses.stream` yields for `body`, then what iterating or
    `get_final_response()` raised, if anything."""
    events: list[Any] = []
    with sdk_client(body) as client, client.responses.stream(model="m", input="hi") as stream:
        try:
            for event in stream:
                events.append(event)
            stream.get_final_response()
        except (RuntimeError, APIError) as err:
            return events, err
    return events, None


def without_sdk_parsing(sdk: dict[str, Any]) -> dict[str, Any]:
    """Drop `parsed` and `parsed_arguments`: the SDK's client-side structured-output parsing."""
    for item in sdk.get("output") or []:
        if item["type"] == "function_call":
            assert item.pop("parsed_arguments") is None  # no text_format/tools: nothing parsed
        for part in item.get("content") or [] if item["type"] == "message" else []:
            if part["type"] == "output_text":
                assert part.pop("parsed") is None
    return sdk


def two_way_splits(body: bytes):
    for i in range(len(body) + 1):
        yield i, [body[:i], body[i:]]


# ---------------------------------------------------------------------------------------------
# 1. Completed streams: the record's response is what the openai SDK's get_final_response gives


@pytest.mark.parametrize("done", [False, True], ids=["no-done", "done"])
@pytest.mark.parametrize("event_lines", [True, False], ids=["event-lines", "no-event-lines"])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("name", COMPLETED)
def test_completed_stream_equals_the_sdk_final_response(name, framing, event_lines, done):
    events, expected = COMPLETED[name]()
    body = encode(events, eol=FRAMINGS[framing], event_lines=event_lines, done=done)
    sdk = sdk_final(body)
    assert sdk == expected  # the fixture's hand-built final object, as the SDK reads it
    stream = run([body])
    assert stream.response() == sdk
    assert (stream.outcome(), stream.finished, stream.error, stream.notes) == (None, True, None, [])


def test_empty_output_in_completed_is_filled_from_output_item_done_unlike_the_sdk():
    # The ChatGPT/Codex backend sends `output: []` in response.completed (wave2 §2.12 Q1).
    events, expected = codex_turn(empty_output=True)
    assert events[-1]["response"]["output"] == []
    body = encode(events)
    sdk = sdk_final(body)
    assert sdk["output"] == []  # the SDK fills `output` only when the key is missing
    ours = run([body]).response()
    assert ours["output"] == expected["output"] and len(ours["output"]) == 4
    assert {**ours, "output": []} == sdk  # every other field as the SDK has it


def test_missing_output_in_completed_is_filled_from_output_item_done_like_the_sdk():
    events, expected = codex_turn()
    del events[-1]["response"]["output"]
    body = encode(events)
    sdk = sdk_final(body)
    assert sdk == expected
    assert run([body]).response() == sdk


def test_completed_output_wins_over_the_items_streamed_before_it():
    events, expected = COMPLETED["agents-sdk-web-search"]()
    events[-1]["response"]["output"][1]["content"][0]["text"] = "Corrected by the server."
    body = encode(events)
    assert run([body]).response()["output"][1]["content"][0]["text"] == "Corrected by the server."
    assert run([body]).response() == sdk_final(body)


@pytest.mark.parametrize("name", COMPLETED)
def test_completed_stream_split_at_every_byte_gives_the_same_record(name):
    events, expected = COMPLETED[name]()
    body = encode(events, eol=b"\r\n", done=True)
    want = (expected, None, True, None, [])
    for i, pieces in two_way_splits(body):
        assert result(pieces) == want, f"split at {i}"
    assert result([body[i : i + 1] for i in range(len(body))]) == want


# ---------------------------------------------------------------------------------------------
# 2. Other terminal events


def test_incomplete_is_a_proper_end_with_the_terminal_response():
    events, final = incomplete_turn()
    body = encode(events, done=True)
    stream = run([body])
    assert stream.response() == final
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert (stream.outcome(), stream.finished) == (None, True)
    # The SDK yields the event, then refuses a final response: it only knows response.completed.
    got, raised = sdk_events(body)
    assert got[-1].type == "response.incomplete"
    assert got[-1].response.model_dump(mode="json", exclude_unset=True) == final
    assert isinstance(raised, RuntimeError)
    assert "Didn't receive a `response.completed` event." in str(raised)


def test_failed_response_is_the_record_and_its_code_the_error():
    events, final = failed_turn()
    stream = run([encode(events)])
    assert stream.response()["status"] == "failed"
    assert stream.response()["error"] == final["error"]
    assert stream.outcome() == "upstream response failed: server_error"
    assert stream.finished
    # `output: []` in the failed response: the streamed message is filled in, as for completed.
    assert stream.response()["output"][0]["content"][0]["text"] == "Partial"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("completed", None),
        ("incomplete", None),
        ("failed", "upstream response failed: server_error"),
        ("cancelled", "upstream response cancelled: server_error"),
    ],
)
def test_response_done_is_terminal_and_its_status_decides(status, outcome):
    s = Stream().start()
    item = s.message(0, ["Hi"])
    error = {"code": "server_error", "message": "x"} if outcome else None
    s.end("response.done", response(status, [item], USAGE, error=error))
    stream = run([encode(s.events)])
    assert stream.finished and stream.outcome() == outcome
    assert stream.response()["usage"] == USAGE


def test_nothing_after_the_terminal_event_changes_the_record():
    events, expected = codex_turn()
    body = encode(events) + encode(
        [
            {"type": "error", "code": "late", "message": "late"},
            {"type": "response.output_item.added", "output_index": 9, "item": {"type": "message"}},
        ]
    )
    stream = run([body])
    assert (stream.response(), stream.outcome(), stream.error) == (expected, None, None)


# ---------------------------------------------------------------------------------------------
# 3. Streams without a terminal event: the last snapshot, the items so far, no usage


def cut(events: list[dict[str, Any]], last: str, nth: int = 1) -> list[dict[str, Any]]:
    """The events up to and including the `nth` event of type `last`."""
    seen = 0
    for position, event in enumerate(events):
        seen += event["type"] == last
        if seen == nth:
            return events[: position + 1]
    raise AssertionError(f"no {nth} {last}")


def sdk_raw_events(body: bytes) -> list[Any]:
    """The events the SDK's own SSE decoder and event types read from `body`, unaccumulated."""
    with sdk_client(body) as client:
        return list(client.responses.create(model="m", input="hi", stream=True))


def sdk_partial(body: bytes) -> dict[str, Any] | None:
    """What the openai SDK has accumulated from `body`, a stream with no terminal event."""
    return responses_partial(responses_state(sdk_raw_events(body)))


# Deltas the SDK's accumulator does not apply to its snapshot (it accumulates only output_text
# and function-call arguments, and ignores `*.done` values and summary parts): for these the
# record holds more than the SDK oracle can say, and the text is checked against the deltas sent.
SDK_BLIND = {
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.refusal.delta",
    "response.refusal.done",
    "response.content_part.done",
}
# Where each SDK-blind item keeps its text, relative to the item.
BLIND_FIELD = {"reasoning": "summary", "custom_tool_call": "input", "message": "content"}


def blind_index(events: list[dict[str, Any]]) -> int | None:
    """The output_index of the item whose SDK-blind events came since its `output_item.added`
    and whose `output_item.done` has not come: the one item the SDK oracle knows less of."""
    open_item = None
    for event in events:
        if event["type"] == "response.output_item.added":
            open_item = (event["output_index"], False)
        elif event["type"] == "response.output_item.done":
            open_item = None
        elif open_item and event["type"] in SDK_BLIND:
            open_item = (open_item[0], True)
    return open_item[0] if open_item and open_item[1] else None


@pytest.mark.parametrize("name", COMPLETED)
def test_cut_after_any_event_equals_what_the_sdk_accumulated(name):
    events, final = COMPLETED[name]()
    for n in range(1, len(events)):  # every cut but after the terminal event
        body = encode(events[:n])
        stream = run([body])
        got, sdk = stream.response(), sdk_partial(body)
        assert stream.outcome() == NO_TERMINAL and not stream.finished
        blind = blind_index(events[:n])
        if blind is not None:
            field = BLIND_FIELD[got["output"][blind]["type"]]
            ours = got["output"][blind].pop(field)
            sdk["output"][blind].pop(field)
            # What the deltas built is a prefix of the item the completed stream ends with.
            done = final["output"][blind][field]
            if isinstance(ours, str):
                assert done.startswith(ours), (n, ours)
            else:
                for part, done_part in zip(ours, done, strict=False):
                    text = part.get("text", part.get("refusal"))
                    assert done_part.get("text", done_part.get("refusal")).startswith(text)
        assert got == sdk, (n, events[n - 1]["type"])


def test_cut_stream_before_any_event_is_an_empty_output_without_usage():
    # The SDK has no snapshot before response.created (None): the record still has the keys
    # every reader of a Responses record looks for.
    assert sdk_partial(b"") is None
    assert run([b""]).response() == {"output": [], "usage": None}


def test_cut_stream_accumulates_every_kind_of_delta():
    events, _ = codex_turn()
    # The output text and the call's arguments: as the SDK has them.
    for kind, nth in (
        ("response.output_text.delta", 2),
        ("response.function_call_arguments.delta", 2),
    ):
        body = encode(cut(events, kind, nth))
        assert run([body]).response() == sdk_partial(body)
    # Hand-written: summary text and custom tool input are deltas the SDK does not apply to its
    # snapshot (its accumulate_event has no branch for them), so it cannot be the oracle here.
    got = run([encode(cut(events, "response.reasoning_summary_text.delta", 3))]).response()
    assert got["output"] == [
        {
            "id": "rs_0b4f9c2e03",
            "type": "reasoning",
            "summary": [
                {
                    "type": "summary_text",
                    "text": "**Inspecting the repo**\n\nI'll look at `src/app.py` first.",
                },
                {"type": "summary_text", "text": "**Planning the edit**\n\nThen patch "},
            ],
        }
    ]
    got = run([encode(cut(events, "response.custom_tool_call_input.delta", 2))]).response()
    assert (
        got["output"][3]["input"] == "*** Begin Patch\n*** Update File: src/app.py\n"
        "@@ def main():\n-    print('hi')\n+    print('héllo, 世界')\n"
    )
    assert got["output"][2]["arguments"] == '{"cmd":"sed -n 1,40p src/app.py"}'


def test_refusal_and_reasoning_text_deltas_are_accumulated():
    # Hand-written: the SDK's accumulate_event applies neither refusal nor reasoning_text deltas.
    s = Stream().start()
    s.refusal(0, ["I can't", " do that."])
    s.add(
        "response.output_item.added",
        output_index=1,
        item={"id": "rs_x", "type": "reasoning", "summary": [], "content": []},
    )
    s.add(
        "response.content_part.added",
        item_id="rs_x",
        output_index=1,
        content_index=0,
        part={"type": "reasoning_text", "text": ""},
    )
    for piece in ["Think", "ing..."]:
        s.add(
            "response.reasoning_text.delta",
            item_id="rs_x",
            output_index=1,
            content_index=0,
            delta=piece,
        )
    events = s.events
    refusal_cut = cut(events, "response.refusal.delta", 2)
    got = run([encode(refusal_cut)]).response()
    assert got["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't do that."}]
    got = run([encode(events)]).response()
    assert got["output"][1]["content"] == [{"type": "reasoning_text", "text": "Thinking..."}]


def test_deltas_without_their_item_are_kept_under_the_type_they_imply():
    # Hand-written: the SDK raises on a delta before its output_item.added ("Received a content
    # event for output index ... before receiving its output item"), so it has no snapshot here.
    s = Stream().start()
    s.add("response.output_text.delta", item_id="m", output_index=0, content_index=1, delta="a")
    s.add("response.function_call_arguments.delta", item_id="f", output_index=2, delta="{}")
    got = run([encode(s.events)]).response()
    assert got["output"] == [
        {"type": "message", "content": [{}, {"type": "output_text", "text": "a"}]},
        {"type": "function_call", "arguments": "{}"},
    ]


def test_events_without_output_index_or_part_index_find_their_item_by_id():
    # As compatible servers send them: item_id only, no summary_index, a part without text.
    # Hand-written: the SDK needs output_index on every event and raises without it.
    s = Stream().start()
    s.add(
        "response.output_item.added",
        output_index=0,
        item={"id": "rs_1", "type": "reasoning", "status": "in_progress"},
    )
    s.add("response.reasoning_summary_part.added", item_id="rs_1", part={"type": "summary_text"})
    s.add("response.reasoning_summary_text.delta", item_id="rs_1", delta="Thinking ")
    s.add("response.reasoning_summary_text.delta", item_id="rs_1", delta="about it.")
    s.add("response.output_text.delta", item_id="unknown", delta="lost")
    stream = run([encode(s.events)])
    assert stream.response()["output"] == [
        {
            "id": "rs_1",
            "type": "reasoning",
            "status": "in_progress",
            "summary": [{"type": "summary_text", "text": "Thinking about it."}],
        }
    ]
    assert stream.notes == ["response.output_text.delta without a usable output_index"]


def test_done_values_replace_the_deltas():
    # Hand-written: the SDK ignores `*.done` values in its snapshot (only deltas), so when they
    # disagree with the deltas it keeps the deltas; the record keeps what the server said last.
    s = Stream().start()
    s.add(
        "response.output_item.added",
        output_index=0,
        item={"id": "fc", "type": "function_call", "arguments": "", "call_id": "c", "name": "n"},
    )
    s.add("response.function_call_arguments.delta", item_id="fc", output_index=0, delta='{"a"')
    s.add(
        "response.function_call_arguments.done", item_id="fc", output_index=0, arguments='{"a":1}'
    )
    got = run([encode(s.events)]).response()
    assert got["output"][0]["arguments"] == '{"a":1}'


def test_cut_anywhere_is_never_fatal_and_has_no_usage_before_the_terminal_event():
    events, expected = codex_turn()
    body = encode(events, eol=b"\r\n")
    terminal_at = body.index(b"event: response.completed")
    for i in range(0, len(body) + 1, 7):
        stream = run([body[:i]])
        got = stream.response()
        json.dumps(got, allow_nan=False)
        if i < terminal_at:
            assert got["usage"] is None and stream.outcome() == NO_TERMINAL, i
    assert run([body[: len(body) - 3]]).response() == expected  # the terminal's CRLF cut


def test_cut_stream_has_no_usage_even_when_a_snapshot_carried_one():
    # Hand-written: the SDK keeps response.created's snapshot and never reads a later one, so it
    # cannot say what happens to a usage carried by response.in_progress.
    s = Stream()
    s.add("response.created", response=response("in_progress"))
    s.add("response.in_progress", response=response("in_progress", usage=USAGE))
    s.message(0, ["Hi"])
    got = run([encode(s.events)]).response()
    assert got["usage"] is None and got["output"][0]["content"][0]["text"] == "Hi"


def test_done_before_a_terminal_event_is_not_a_proper_end():
    events, _ = codex_turn()
    body = encode(events[:5], done=True) + encode(events[5:])
    stream = run([body])
    assert stream.outcome() == NO_TERMINAL and not stream.finished


def test_response_returned_is_a_copy_later_events_do_not_change():
    events, _ = codex_turn()
    stream = ResponsesStream()
    stream.feed(encode(cut(events, "response.output_text.delta")))
    before = stream.response()
    kept = copy.deepcopy(before)
    stream.feed(encode(events[len(cut(events, "response.output_text.delta")) :]))
    assert before == kept and stream.response() != before


# ---------------------------------------------------------------------------------------------
# 4. Error events, flat and nested


FLAT = {
    "type": "error",
    "code": "rate_limit_exceeded",
    "message": "Rate limit reached.",
    "param": None,
}
NESTED = {
    "type": "error",
    "error": {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "You exceeded your current quota.",
        "param": None,
    },
}


@pytest.mark.parametrize(
    ("error", "outcome", "kept"),
    [
        (
            FLAT,
            "upstream error event: rate_limit_exceeded: Rate limit reached.",
            {
                "type": "error",
                "code": "rate_limit_exceeded",
                "message": "Rate limit reached.",
                "param": None,
            },
        ),
        (
            NESTED,
            "upstream error event: insufficient_quota: You exceeded your current quota.",
            NESTED["error"],
        ),
    ],
    ids=["flat", "nested"],
)
def test_error_event_ends_with_the_snapshot_and_names_the_error(error, outcome, kept):
    s = Stream().start()
    s.message(0, ["Hel", "lo"])
    s.add(error["type"], **{k: v for k, v in error.items() if k != "type"})
    stream = run([encode(s.events)])
    assert stream.outcome() == outcome
    assert stream.error == kept
    # The SDK raises on the nested error event (see the next test) and accumulates nothing from
    # either: its state before the error event is the oracle.
    assert stream.response() == sdk_partial(encode(s.events[:-1]))


def test_sdk_raises_on_the_nested_error_event_and_passes_the_flat_one():
    # What the client sees of the error events we relay unchanged (openai-python _streaming.py).
    for error, raised in ((NESTED, APIError), (FLAT, RuntimeError)):
        s = Stream().start()
        s.add(error["type"], **{k: v for k, v in error.items() if k != "type"})
        events, err = sdk_events(encode(s.events))
        assert isinstance(err, raised)
        if raised is RuntimeError:
            assert events[-1].type == "error"  # an ordinary event, then no final response


def test_error_event_text_is_bounded_and_plain_text_errors_are_kept():
    stream = run([encode([{"type": "error", "code": "x" * 50, "message": "y" * 5000}])])
    assert stream.outcome().startswith("upstream error event: xxx")
    assert len(stream.outcome()) <= 300
    stream = run([b"event: error\ndata: upstream exploded\n\n"])
    assert stream.outcome() == "upstream error event: upstream exploded"
    stream = run([b'event: error\ndata: {"error":{}}\n\n'])
    assert stream.outcome() == "upstream error event"
    stream = run([b'data: {"type":"error","error":"rate limited"}\n\n'])
    assert stream.outcome() == "upstream error event: rate limited"


def test_failed_terminal_is_a_failure_whatever_status_it_carries():
    s = Stream().start()
    s.end(
        "response.failed", response("in_progress", error={"code": "server_error", "message": "x"})
    )
    assert run([encode(s.events)]).outcome() == "upstream response failed: server_error"
    s = Stream().start()
    s.end("response.failed", response("failed"))
    assert run([encode(s.events)]).outcome() == "upstream response failed"


def test_a_terminal_event_after_an_error_event_decides():
    events, final = failed_turn()
    events.insert(-1, {**FLAT, "sequence_number": 99})
    stream = run([encode(events)])
    assert stream.outcome() == "upstream response failed: server_error"


# ---------------------------------------------------------------------------------------------
# 5. Dispatch, bad input, memory


def test_type_in_data_wins_over_the_event_name_and_the_name_stands_in_when_it_is_missing():
    events, expected = codex_turn()
    renamed = encode(events, event_lines=False).replace(
        b"data: ", b"event: response.something\ndata: "
    )
    assert renamed.count(b"event: response.something\n") == len(events)
    assert run([renamed]).response() == expected
    untyped = b"".join(
        b"event: "
        + e["type"].encode()
        + b"\ndata: "
        + json.dumps({k: v for k, v in e.items() if k != "type"}).encode()
        + b"\n\n"
        for e in events
    )
    assert run([untyped]).response() == expected


def test_unparsable_and_non_object_events_are_noted_not_fatal():
    events, expected = codex_turn()
    body = b"data: {not json\n\ndata: [1]\n\nevent: response.created\ndata: 7\n\n" + encode(events)
    stream = run([body])
    assert stream.response() == expected and stream.outcome() is None
    assert len(stream.notes) == 3 and stream.notes[0].startswith("unparsable event")


def test_notes_are_capped():
    stream = run([b"data: {bad\n\n" * 500])
    assert len(stream.notes) == 21 and stream.notes[-1] == "further notes dropped"


def test_absurd_part_indexes_are_noted_not_allocated():
    s = Stream().start()
    s.add("response.output_text.delta", item_id="m", output_index=0, content_index=10**9, delta="a")
    s.add(
        "response.reasoning_summary_part.added",
        item_id="r",
        output_index=1,
        summary_index=responses_stream.MAX_PART_INDEX,
        part={"type": "summary_text"},
    )
    stream = run([encode(s.events)])
    assert stream.response()["output"] == []
    assert len(stream.notes) == 2


def test_sequence_number_going_back_is_noted():
    events, expected = codex_turn()
    events[5]["sequence_number"] = 1
    stream = run([encode(events)])
    assert stream.response() == expected
    assert stream.notes == ["sequence_number 1 after 4"]


# ---------------------------------------------------------------------------------------------
# 6. The frame the proxy sends when it ends a stream itself


def test_end_frame_is_read_by_the_sdk_as_a_failed_response_with_our_message():
    events, _ = codex_turn()
    sent = encode(cut(events, "response.output_text.delta", 2))
    stream = run([sent])
    message = "upstream read timed out after 600 s: «no bytes»"
    frame = stream.end_frame(message, timeout=True)
    assert frame.startswith(b"\n\nevent: response.failed\ndata: ") and frame.endswith(b"\n\n")
    got, raised = sdk_events(sent + frame)
    failed = got[-1]
    assert failed.type == "response.failed"
    assert failed.sequence_number == len(cut(events, "response.output_text.delta", 2))
    assert failed.response.id == RESP_ID
    assert failed.response.status == "failed"
    assert failed.response.error.code == "server_error"
    assert failed.response.error.message == message
    assert failed.response.usage is None
    assert failed.response.output[1].content[0].text == "I'll check the file and "
    assert isinstance(raised, RuntimeError)  # no final response: the caller sees the failure
    assert "Didn't receive a `response.completed` event." in str(raised)
    # Strictly valid as the SDK's own type, not only as its lenient construct.
    ResponseFailedEvent.model_validate(json.loads(frame.split(b"data: ", 1)[1]))


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("keep", [0, 1, 2], ids=["at-event-end", "one-eol-cut", "both-cut"])
def test_end_frame_is_read_when_the_last_event_lost_its_blank_line(eol, keep):
    events, _ = codex_turn()
    sent = encode(events[:6], eol=eol)
    sent = sent[: len(sent) - keep * len(eol)]
    stream = run([sent])
    frame = stream.end_frame("read timeout", timeout=True)
    got, raised = sdk_events(sent + frame)
    assert [e.sequence_number for e in got] == list(range(7))  # the cut event, then ours
    assert got[-1].type == "response.failed"
    assert got[-1].response.error.message == "read timeout"
    assert "Didn't receive a `response.completed` event." in str(raised)


def test_sdk_rejects_a_failed_frame_with_another_response_id():
    # Why end_frame must carry the stream's own id (openai-python _responses.py accumulate_event).
    events, _ = codex_turn()
    sent = encode(events[:4])
    frame = run([sent]).end_frame("worker stopping", timeout=False)
    other = frame.replace(RESP_ID.encode(), b"resp_other")
    _, raised = sdk_events(sent + other)
    assert isinstance(raised, RuntimeError)
    assert str(raised) == "Lifecycle response identity changed."
    _, raised = sdk_events(sent + frame)
    assert "Didn't receive a `response.completed` event." in str(raised)


def test_end_frame_before_any_snapshot_is_a_minimal_valid_response():
    stream = ResponsesStream()
    frame = stream.end_frame("worker stopping", timeout=False)
    event = ResponseFailedEvent.model_validate(json.loads(frame.split(b"data: ", 1)[1]))
    assert event.sequence_number == 0 and event.response.id.startswith("resp_")
    assert event.response.error.message == "worker stopping"
    with sdk_client(frame) as client:  # the plain stream parses it; the helper wants a created
        raw = list(client.responses.create(model="m", input="hi", stream=True))
    assert raw[0].type == "response.failed" and raw[0].response.error.message == "worker stopping"


def test_end_frame_without_a_snapshot_still_uses_the_next_sequence_number():
    s = Stream()
    s.add("response.output_item.added", output_index=0, item={"type": "message", "id": "m"})
    stream = run([encode(s.events)])
    event = json.loads(stream.end_frame("m", timeout=True).split(b"data: ", 1)[1])
    assert event["sequence_number"] == 1


# ---------------------------------------------------------------------------------------------
# 7. Sessions and error bodies


def test_session_candidates_are_prompt_cache_key_then_session_id_header():
    headers = Headers({"Session-Id": "hdr", "Thread-Id": "thread"})
    assert list(session_candidates({"prompt_cache_key": "pck"}, headers)) == ["pck", "hdr"]
    assert list(session_candidates({"prompt_cache_key": ""}, headers)) == ["hdr"]
    assert list(session_candidates({"prompt_cache_key": 42}, Headers())) == []
    assert list(session_candidates({}, Headers({"session-id": ""}))) == []


def test_error_body_is_the_openai_shape():
    err = UpstreamTimeout("upstream timed out")
    assert error_body(err) == {
        "error": {
            "message": "upstream timed out",
            "type": "upstream_error",
            "param": None,
            "code": "upstream_timeout",
        }
    }


# ---------------------------------------------------------------------------------------------
# 8. Random chunking and random events


@st.composite
def chunkings(draw, body: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=25)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_random_chunking_and_framing_give_the_same_record(data):
    name = data.draw(st.sampled_from(sorted(COMPLETED)))
    events, expected = COMPLETED[name]()
    body = encode(
        events,
        eol=data.draw(st.sampled_from(list(FRAMINGS.values()))),
        event_lines=data.draw(st.booleans()),
        done=data.draw(st.booleans()),
    )
    assert result(data.draw(chunkings(body))) == (expected, None, True, None, [])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
KINDS = st.sampled_from(
    sorted(
        {
            *responses_stream.DELTAS,
            *responses_stream.DONES,
            *responses_stream.PARTS,
            "response.output_item.added",
            "response.output_item.done",
            "response.created",
            "response.queued",
            "response.completed",
            "response.failed",
            "response.done",
            "error",
            "response.web_search_call.searching",
            "",
        }
    )
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"type": KINDS},
            optional={
                "output_index": st.integers(-1, 3) | JSON,
                "content_index": st.integers(-1, 3),
                "summary_index": st.integers(-1, 3),
                "delta": JSON,
                "text": JSON,
                "part": JSON,
                "item": JSON,
                "response": JSON,
                "error": JSON,
                "sequence_number": st.integers(-2, 5) | JSON,
            },
        ),
        max_size=12,
    )
)
def test_arbitrary_events_are_never_fatal(events):
    stream = run([encode(events)])
    json.dumps(stream.response(), allow_nan=False)
    json.dumps(stream.end_frame("x", timeout=False).decode().split("data: ", 1)[1])
    assert stream.outcome() is None or isinstance(stream.outcome(), str)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_random_chunking_of_a_cut_stream_gives_the_same_partial_record(data):
    events, _ = codex_turn()
    body = encode(events, eol=data.draw(st.sampled_from(list(FRAMINGS.values()))))
    cut_body = body[: data.draw(st.integers(0, len(body)))]
    assert result(data.draw(chunkings(cut_body))) == result([cut_body])
