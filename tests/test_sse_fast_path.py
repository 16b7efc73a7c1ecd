"""The decoder's fast path for whole events, and the accumulators' batch readers behind it: the
same events, notes and rebuilt responses as the same bytes fed one byte at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albicilla.apis import sse
from albicilla.apis.chat import ChatStream
from albicilla.apis.gemini import GeminiArrayStream, GeminiStream
from albicilla.apis.messages import MessagesStream
from albicilla.apis.responses import ResponsesStream
from albicilla.apis.sse import SSEDecoder
from albicilla.apis.sse_usual import usual_events


@pytest.fixture(autouse=True, scope="module")
def read_small_chunks_at_once_too() -> Iterator[None]:
    """The fast path is kept for chunks of 1 KiB or more; these tests' chunks are smaller."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sse, "_AT_ONCE", 0)
        yield


class Recorder(SSEDecoder):
    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.seen: list[tuple[str, ...]] = []
        self.batches: list[int] = []
        super().__init__(
            lambda event, data: self.seen.append(("event", event, data)), max_bytes=max_bytes
        )
        plain = self.on_events

        def batch(names, datas):  # type: ignore[no-untyped-def]
            self.batches.append(len(datas))
            plain(names, datas)

        self.on_events = batch

    def note(self, note: str) -> None:
        self.seen.append(("note", note))
        super().note(note)


def run(chunks: list[bytes], max_bytes: int = 8 * 1024 * 1024) -> Recorder:
    decoder = Recorder(max_bytes)
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()
    return decoder


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def data(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def test_a_chunk_of_whole_events_is_read_in_one_batch_with_the_same_events() -> None:
    body = data({"a": 1}) + data({"b": "x:y"}) + b"data:  two spaces\n\n" + b"data: \n\n"
    fast = run([body])
    assert fast.batches == [4]
    assert fast.seen == run(bytewise(body)).seen
    assert fast.seen[2] == ("event", "", " two spaces") and fast.seen[3] == ("event", "", "")


def test_named_events_are_read_in_one_batch_with_their_names() -> None:
    body = b"event: one\ndata: 1\n\nevent: two\ndata: 2\n\n"
    fast = run([body])
    assert fast.batches == [2]
    assert fast.seen[:2] == [("event", "one", "1"), ("event", "two", "2")]


@pytest.mark.parametrize(
    "body",
    [
        b"data: 1\n\nevent: two\ndata: 2\n\n",  # named and unnamed mixed
        b"event: one\ndata: 1\n\ndata: 2\n\n",
        b"data: 1\ndata: 2\n\ndata: 3\n\n",  # two data lines
        b"event: one\ndata: 1\ndata: 2\n\nevent: two\n\nevent: three\ndata: 3\n\n",
        b": keep-alive\n\ndata: 1\n\n",
        b"data: 1\n\nid: 7\ndata: 2\n\n",
        b"data: 1\n\n\ndata: 2\n\n",  # an extra blank line
        b"\xef\xbb\xbfdata: 1\n\ndata: 2\n\n",  # a byte order mark at the start
        b"data:1\n\ndata: 2\n\n",
        b"data: 1\r\n\r\ndata: 2\n\n",
        b"data: bad \xff byte\n\ndata: 2\n\n",
    ],
)
def test_chunks_not_of_the_usual_form_give_the_same_events(body: bytes) -> None:
    assert run([body]).seen == run(bytewise(body)).seen


def test_a_fast_chunk_then_a_cr_framed_one() -> None:
    chunks = [data(1) + data(2), b"data: 3\r\n\r\ndata: 4\r", b"\n\r\n", data(5)]
    fast = run(chunks)
    assert fast.batches[0] == 2
    assert fast.seen == run(bytewise(b"".join(chunks))).seen
    assert [s[2] for s in fast.seen if s[0] == "event"] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("cut", [-2, -1, 0, 1, 2])
def test_an_event_split_at_its_blank_line(cut: int) -> None:
    body = data(1) + data(2) + data(3)
    at = len(data(1) + data(2)) + cut
    assert run([body[:at], body[at:]]).seen == run(bytewise(body)).seen


def test_the_rest_after_the_last_whole_event_waits_for_the_next_chunk() -> None:
    fast = run([data(1) + b"event: x\nda", b"ta: 2\n\n"])
    assert fast.seen == [
        ("event", "", "1"),
        ("event", "x", "2"),
        ("note", "stream ended without [DONE]"),
    ]


NAMED = b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: c\ndata: 3\n\nevent: d\ndata: 4\n\n"


@pytest.mark.parametrize("at", range(len(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n") + 1, 50))
def test_an_event_cut_by_a_read_is_read_at_once_with_the_next_chunk(at: int) -> None:
    """Cut anywhere inside the third event: the first two are read at once, then the third
    (its start held as it came) and the fourth in one batch, as the usual upstream's body
    arrives in a few reads."""
    fast = run([NAMED[:at], NAMED[at:]])
    assert fast.batches == [2, 2], fast.batches
    assert fast.seen == run(bytewise(NAMED)).seen


@pytest.mark.parametrize(
    "tail",
    [b"e", b"event: c", b"event: c\n", b"event: c\nda", b"data: 3", b"data: 3\n", b"data: 3\r"],
)
def test_what_ends_a_held_start_is_what_ends_it_read_line_by_line(tail: bytes) -> None:
    """A stream that stops after a held start: the bytes that end it, for the proxy's own
    closing event, are those of the same bytes read one at a time."""
    fast, slow = Recorder(), Recorder()
    fast.feed(data(1) + data(2) + tail)
    for piece in bytewise(data(1) + data(2) + tail):
        slow.feed(piece)
    assert fast.batches == [2]  # the two whole events were read at once, the rest held
    assert fast.unfinished_tail() == slow.unfinished_tail()
    fast.close()
    slow.close()
    assert fast.seen == slow.seen


def test_an_oversized_event_in_a_chunk_is_dropped_as_line_by_line() -> None:
    body = data(1) + b"data: " + b"x" * 100 + b"\n\n" + data(3)
    fast = run([body], max_bytes=64)
    assert fast.seen == run(bytewise(body), max_bytes=64).seen
    assert ("note", "oversized SSE line dropped") in fast.seen
    assert [s[2] for s in fast.seen if s[0] == "event"] == ["1", "3"]


def test_done_in_a_batch_ends_the_stream_there() -> None:
    body = data(1) + b"data: [DONE]\n\n" + data(3) + b"data: [DONE]\n\n"
    fast = run([body])
    assert fast.done
    assert fast.seen == [("event", "", "1")]
    assert fast.seen == run(bytewise(body)).seen


def test_done_only_inside_a_value_does_not_end_the_stream() -> None:
    body = data("data: [DONE]") + b"data: [DONE] \n\n"
    fast = run([body])
    assert fast.seen == [("event", "", '"data: [DONE]"')] and fast.done


def chat_chunk(content: object, index: int = 0, **extra: object) -> dict:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": index, "delta": {"content": content}, "finish_reason": None, **extra}
        ],
    }


def same_as_bytewise(make, body: bytes):  # type: ignore[no-untyped-def]
    fast, slow = make(), make()
    fast.feed(body)
    fast.close()
    for byte in bytewise(body):
        slow.feed(byte)
    slow.close()
    assert fast.notes == slow.notes
    # The record's bytes: the same keys in the same order too.
    assert json.dumps(fast.response()) == json.dumps(slow.response())
    return fast


def test_chat_batch_with_an_unparsable_event_in_the_middle() -> None:
    body = (
        data(chat_chunk("a"))
        + b"data: {not json\n\n"
        + data(chat_chunk("b"))
        + data(chat_chunk("c", index=1))
        + data(chat_chunk(None))
        + b"data: [1]\n\n"
        + data(chat_chunk("d", logprobs={"content": [{"token": "d"}]}))
        + data({"error": {"message": "boom"}})
        + data(chat_chunk("e"))
        + b"data: [DONE]\n\n"
    )
    stream = same_as_bytewise(ChatStream, body)
    assert stream.notes[0].startswith("unparsable event")
    assert stream.response()["choices"][0]["message"]["content"] == "abde"


def test_messages_batch_keeps_notes_in_order() -> None:
    def event(name: str, obj: dict) -> bytes:
        return b"event: " + name.encode() + b"\n" + data({"type": name, **obj})

    body = (
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "early"}})
        + event("message_start", {"message": {"id": "m", "content": [], "usage": {}}})
        + event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        + event(
            "content_block_start",
            {"index": 1, "content_block": {"type": "thinking", "thinking": ""}},
        )
        + event("content_block_start", {"index": 2, "content_block": {"type": "text"}})
        + event(
            "content_block_delta",
            {"index": 2, "delta": {"type": "citations_delta", "citation": {"n": 1}}},
        )
        + event("content_block_delta", {"index": 2, "delta": {"type": "text_delta", "text": 5}})
        + event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "a"}})
        + b"event: content_block_delta\ndata: {oops\n\n"
        + event("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": "x"}})
        + event("content_block_delta", {"index": 7, "delta": {"type": "text_delta", "text": "y"}})
        + event(
            "content_block_delta", {"index": True, "delta": {"type": "text_delta", "text": "z"}}
        )
        + event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "b"}})
        + b'event: content_block_delta\ndata: {"type":"ping"}\n\n'
        + event("message_stop", {})
    )
    stream = same_as_bytewise(MessagesStream, body)
    assert len(stream.notes) >= 5
    assert stream.response()["content"][0]["text"] == "ab"


def test_responses_batch_keeps_sequence_notes_and_text() -> None:
    def event(kind: str, seq: int, **obj: object) -> bytes:
        return (
            b"event: " + kind.encode() + b"\n" + data({"type": kind, "sequence_number": seq, **obj})
        )

    delta = "response.output_text.delta"
    body = (
        event(delta, 0, output_index=0, content_index=0, delta="early")
        + event("response.created", 1, response={"id": "r", "output": []})
        + event(
            "response.output_item.added",
            2,
            output_index=0,
            item={"type": "message", "id": "i", "content": []},
        )
        + event(delta, 3, output_index=0, content_index=0, delta="a")
        + event(delta, 4, output_index=0, content_index=0, delta="b")
        + event(delta, 4, output_index=0, content_index=0, delta="c")
        + event(delta, 5, output_index=0.0, content_index=0, delta="float")
        + event(delta, 5, output_index=0, content_index=False, delta="bool")
        + b"event: "
        + delta.encode()
        + b"\ndata: {broken\n\n"
        + event(delta, 6, output_index=0, content_index=True, delta="t")
        + event(delta, 7, output_index=0, content_index=1, delta="d")
        + event(delta, 8, item_id="i", content_index=0, delta="e")
        + event(delta, 9, output_index=0, content_index=0, delta="f", error="x")
        + event(delta, 2, output_index=0, content_index=0, delta="g")
    )
    stream = same_as_bytewise(ResponsesStream, body)
    assert "sequence_number 4 after 4" in stream.notes
    assert "sequence_number 2 after 9" in stream.notes
    text = stream.response()["output"][0]["content"][0]["text"]
    assert text.startswith("abc") and "g" in text


# Events of each API, usual and odd, drawn in any order: whole-chunk feeding must rebuild what
# byte-at-a-time feeding (the line-by-line path) rebuilds.
INDEXES = st.sampled_from([0, 1, -1, True, 0.0, None, "0"])
TEXTS = st.sampled_from(["a", "", "é\u2028", None, 5, ["x"]])


def _named(name: str, obj: object) -> bytes:
    return b"event: " + name.encode() + b"\n" + data(obj)


CHAT_EVENTS = st.one_of(
    st.builds(lambda i, t: data(chat_chunk(t, i)), INDEXES, TEXTS),
    st.builds(lambda t: data({"choices": [{"index": 0, "delta": {"content": t}}]}), TEXTS),
    st.builds(
        lambda t: data(
            {
                "id": "",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": t, "role": "assistant"}}],
            }
        ),
        TEXTS,
    ),
    st.builds(lambda t: data(chat_chunk(t, finish_reason="stop")), TEXTS),
    st.builds(lambda t: data({**chat_chunk(t), "usage": {"n": 1}}), TEXTS),
    st.builds(lambda t: data({**chat_chunk(t), "system_fingerprint": "fp"}), TEXTS),
    st.builds(lambda t: data({**chat_chunk(t), "obfuscation": "xyz"}), TEXTS),
    st.builds(lambda t: data(chat_chunk(t, logprobs=None)), TEXTS),
    st.builds(lambda t: data(chat_chunk(t, logprobs={"content": []})), TEXTS),
    st.builds(
        lambda t: data({**chat_chunk(t), "choices": [chat_chunk(t)["choices"][0]] * 2}), TEXTS
    ),
    st.builds(
        lambda t: data(
            {**chat_chunk(t), "choices": [{"index": 0, "delta": {"content": t, "x": 1}}]}
        ),
        TEXTS,
    ),
    st.just(b"data: {bad\n\n"),
    st.just(b"data: [DONE]\n\n"),
    st.just(data([1])),
    st.just(b": ping\n\n"),
    st.just(b"data: 1\r\n\r\n"),
    st.just(data({"error": {"message": "e"}})),
)
MESSAGES_EVENTS = st.one_of(
    st.builds(
        lambda i, t: _named(
            "content_block_delta",
            {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": t}},
        ),
        INDEXES,
        TEXTS,
    ),
    st.builds(
        lambda i: _named(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        INDEXES,
    ),
    st.builds(
        lambda i: _named(
            "content_block_start",
            {"type": "content_block_start", "index": i, "content_block": {"type": "thinking"}},
        ),
        INDEXES,
    ),
    st.just(_named("message_start", {"type": "message_start", "message": {"id": "m"}})),
    st.just(_named("content_block_delta", {"type": "ping"})),
    st.just(b"event: content_block_delta\ndata: {bad\n\n"),
    st.just(_named("message_stop", {"type": "message_stop"})),
    st.just(
        data(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "unnamed"},
            }
        )
    ),
)
RESPONSES_EVENTS = st.one_of(
    st.builds(
        lambda i, j, t, n: _named(
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "sequence_number": n,
                "output_index": i,
                "content_index": j,
                "delta": t,
            },
        ),
        INDEXES,
        INDEXES,
        TEXTS,
        st.integers(0, 5),
    ),
    st.builds(
        lambda i: _named(
            "response.output_item.added",
            {
                "type": "response.output_item.added",
                "output_index": i,
                "item": {"type": "message", "id": "m", "content": []},
            },
        ),
        INDEXES,
    ),
    st.builds(
        lambda t: _named(
            "response.output_text.done",
            {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": t},
        ),
        TEXTS,
    ),
    st.just(
        _named(
            "response.content_part.added",
            {
                "type": "response.content_part.added",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": "p"},
            },
        )
    ),
    st.just(
        _named(
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": "m",
                "content_index": 0,
                "delta": "by id",
            },
        )
    ),
    st.just(_named("response.output_text.delta", {"type": "error", "message": "x"})),
    st.just(b"event: response.output_text.delta\ndata: {bad\n\n"),
    st.just(
        _named(
            "response.completed",
            {"type": "response.completed", "response": {"id": "r", "output": []}},
        )
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(CHAT_EVENTS, max_size=12), st.lists(st.integers(1, 200), max_size=4))
def test_chat_any_events_any_chunks(events: list[bytes], cuts: list[int]) -> None:
    _same_every_way(ChatStream, events, cuts)


@settings(max_examples=150, deadline=None)
@given(st.lists(MESSAGES_EVENTS, max_size=12), st.lists(st.integers(1, 200), max_size=4))
def test_messages_any_events_any_chunks(events: list[bytes], cuts: list[int]) -> None:
    _same_every_way(MessagesStream, events, cuts)


@settings(max_examples=150, deadline=None)
@given(st.lists(RESPONSES_EVENTS, max_size=12), st.lists(st.integers(1, 200), max_size=4))
def test_responses_any_events_any_chunks(events: list[bytes], cuts: list[int]) -> None:
    _same_every_way(ResponsesStream, events, cuts)


def _gemini_chunk(text: object, index: object = 0, **extra: object) -> dict:
    candidate: dict = {"content": {"parts": [{"text": text}], "role": "model"}}
    if index != "absent":
        candidate["index"] = index
    return {"candidates": [candidate], **extra}


GEMINI_TEXTS = st.sampled_from(["a", "", "é\u2028", None, 5])
GEMINI_EVENTS = st.one_of(
    st.builds(lambda t, i: data(_gemini_chunk(t, i)), GEMINI_TEXTS, INDEXES),
    st.builds(lambda t: data(_gemini_chunk(t, "absent")), GEMINI_TEXTS),
    st.builds(
        lambda t, n: data(
            _gemini_chunk(t, usageMetadata={"totalTokenCount": n}, modelVersion="m", responseId="r")
        ),
        GEMINI_TEXTS,
        st.integers(0, 3),
    ),
    st.builds(lambda t: data(_gemini_chunk(t, createTime="2026")), GEMINI_TEXTS),
    st.builds(lambda t: data(_gemini_chunk(t, modelVersion="m2")), GEMINI_TEXTS),
    st.builds(lambda t: data(_gemini_chunk(t, responseId="r2")), GEMINI_TEXTS),
    st.builds(  # new fields, in another order than UsualChunk's
        lambda t: data(_gemini_chunk(t, createTime="c", responseId="r3", modelVersion="m3")),
        GEMINI_TEXTS,
    ),
    st.builds(lambda t: data(_gemini_chunk(t, promptFeedback={})), GEMINI_TEXTS),
    st.builds(
        lambda t: data({"candidates": [{"content": {"parts": [{"text": t}]}, "index": 0}]}),
        GEMINI_TEXTS,
    ),
    st.builds(
        lambda t: data(
            {"candidates": [{"content": {"parts": [{"text": t, "thought": True}]}, "index": 0}]}
        ),
        GEMINI_TEXTS,
    ),
    st.just(
        data({"candidates": [{"content": {"parts": [{"thoughtSignature": "s"}]}, "index": 0}]})
    ),
    st.just(
        data(
            {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f"}}]}, "index": 0}]}
        )
    ),
    st.just(data({"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]})),
    st.just(data({"candidates": [{"content": {"parts": [{"text": "x"}]}, "index": 0}] * 2})),
    st.just(data({"error": {"code": 500, "message": "e"}})),
    st.just(b"data: {bad\n\n"),
    st.just(data([1])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(GEMINI_EVENTS, max_size=12), st.lists(st.integers(1, 200), max_size=4))
def test_gemini_any_events_any_chunks(events: list[bytes], cuts: list[int]) -> None:
    body = b"".join(events)
    _same_every_way(GeminiStream, events, cuts)
    # The same chunks as one JSON array: each element read as it ends, the usual ones at once.
    elements = [event[6:-2] for event in events if event.startswith(b"data: ")]
    array = b"[" + b",".join(elements) + b"]"
    same_as_bytewise(GeminiArrayStream, array)
    slow = GeminiStream()
    for byte in bytewise(body):
        slow.feed(byte)
    slow.close()
    whole = GeminiArrayStream()
    whole.feed(array)
    if b"{bad" not in array:  # (the array's splitter reads a broken element differently)
        assert json.dumps(whole.response()) == json.dumps(slow.response())


def _same_every_way(make, events: list[bytes], cuts: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Whole, byte by byte, cut at `cuts`, and an event a read: the same notes and response."""
    body = b"".join(events)
    same_as_bytewise(make, body)
    _same_in_chunks(make, body, cuts)
    _same_as_written(make, events)


def _same_as_written(make, events: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    """Each event as a read of its own (a model streaming tokens): what the whole body gives."""
    whole, written = make(), make()
    whole.feed(b"".join(events))
    whole.close()
    for event in events:
        written.feed(event)
    written.close()
    assert written.notes == whole.notes
    assert json.dumps(written.response()) == json.dumps(whole.response())


def test_a_read_of_one_whole_event_is_taken_at_once_between_events() -> None:
    decoder = run([b"event: a\ndata: 1\n\n", b"data: 2\n\n", b"data: [DONE] x\n\n", data(3)])
    assert decoder.batches == [1, 1]
    assert decoder.seen == [("event", "a", "1"), ("event", "", "2")] and decoder.done
    # Inside an event under way, or with a CR or a field of another kind: line by line.
    for reads in (
        [b"event: a\n", b"data: 1\n\n"],
        [b"data: 1\r\n\n"],
        [b"event: a\ndata:1\n\n"],
        [b"event: a\nid: 1\n\n"],
    ):
        assert run(reads).seen == run(bytewise(b"".join(reads))).seen


def _same_in_chunks(make, body: bytes, cuts: list[int]) -> None:  # type: ignore[no-untyped-def]  # type: ignore[no-untyped-def]
    whole, pieces = make(), make()
    whole.feed(body)
    whole.close()
    at = 0
    for cut in cuts:
        pieces.feed(body[at : at + cut])
        at += cut
    pieces.feed(body[at:])
    pieces.close()
    assert pieces.notes == whole.notes
    assert json.dumps(pieces.response()) == json.dumps(whole.response())


def test_only_chunks_of_a_kibibyte_or_more_are_read_at_once() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sse, "_AT_ONCE", 1024)
        small = data("x" * 200) * 4
        large = data("x" * 300) * 4
        assert len(small) < 1024 <= len(large)
        # Read line by line, each event of one data line still goes to on_events, alone.
        assert run([small]).batches == [1, 1, 1, 1] and run([large]).batches == [4]
        assert run([small]).seen == run([large.replace(b"x" * 300, b"x" * 200)]).seen
        # One line and its blank line: line by line, whatever its size.
        assert run([data("x" * 2000)]).batches == [1]


def test_an_event_of_several_data_lines_goes_to_on_event_decoded() -> None:
    decoder = run([b"event: e\ndata: a\ndata: \xff\n\n" + data("x")])
    assert decoder.batches == [1]  # only the one-line event
    assert decoder.seen[:2] == [("event", "e", "a\n\ufffd"), ("event", "", '"x"')]


@pytest.mark.parametrize(
    ("whole", "expected"),
    [
        (b"data: a\n\ndata:  b\n\ndata: \n\n", ([b"", b"", b""], [b"a", b" b", b""])),
        (b"event: x\ndata: 1\n\nevent: \ndata: 2\n\n", ([b"x", b""], [b"1", b"2"])),
        (b"data: a\ndata: b\n\n", None),
        (b"data: a\n\nevent: x\ndata: b\n\n", None),
        (b"event: x\ndata: 1\n\nevent: y\n\nevent: z\ndata: 2\ndata: 3\n\n", None),
        (b"event: x\ndata: 1\n\ndata: 2\n\n", None),
        (b"event: x\nid: 1\n\n", None),
        (b": ping\n\n", None),
    ],
)
def test_usual_events_takes_only_the_usual_form(whole: bytes, expected: object) -> None:
    assert usual_events(whole) == expected
