"""Tests for the SSE byte decoder in albicilla.apis.sse, its memory limits above all."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import albicilla.apis.chat_choices
import albicilla.apis.chat_stream
import albicilla.apis.sse
import albicilla.apis.sse_usual
import albicilla.apis.stream
from albicilla.apis.chat_stream import StreamRebuilder
from albicilla.apis.messages import MessagesStream
from albicilla.apis.responses import ResponsesStream
from albicilla.apis.sse import MAX_EVENT_BYTES, SSEDecoder
from albicilla.apis.stream import parse_data

MIB = 1024 * 1024
LINE_DROPPED = "oversized SSE line dropped"
EVENT_DROPPED = "oversized SSE event dropped"
NO_DONE = "stream ended without [DONE]"
BOM = b"\xef\xbb\xbf"


class Recorder(SSEDecoder):
    """Events and notes in the order the decoder reports them."""

    def __init__(self, max_bytes: int = MAX_EVENT_BYTES) -> None:
        self.seen: list[tuple[str, ...]] = []
        super().__init__(
            lambda event, data: self.seen.append(("event", event, data)), max_bytes=max_bytes
        )

    def note(self, note: str) -> None:
        self.seen.append(("note", note))
        super().note(note)


def decode(chunks: list[bytes], max_bytes: int = MAX_EVENT_BYTES) -> list[tuple[str, ...]]:
    decoder = Recorder(max_bytes)
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()
    return decoder.seen


def held(decoder: SSEDecoder | StreamRebuilder) -> int:
    """Bytes the decoder holds for a line not ended yet and an event not ended yet."""
    decoder = getattr(decoder, "_sse", decoder)  # an accumulator: the decoder it holds
    return sum(map(len, decoder._partial)) + sum(map(len, decoder._data))


def content_event(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def content(rebuilder: StreamRebuilder) -> str | None:
    return rebuilder.completion()["choices"][0]["message"]["content"]


# ---------------------------------------------------------------------------------------------
# 1. The decoder on its own

CASES = [
    pytest.param(
        [b"data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: [DONE]\n\n"],
        [("event", "", "a"), ("event", "", "b"), ("event", "", "c")],
        id="eols",
    ),
    pytest.param(
        [b"data: a\r", b"\n", b"\r", b"\ndata: b\r", b"\r"],
        [("event", "", "a"), ("event", "", "b"), ("note", NO_DONE)],
        id="crlf-cut",
    ),
    pytest.param(
        [b": keep-alive\n\ndata:x\ndata\ndata:  y\n\n"],
        [("event", "", "x\n\n y"), ("note", NO_DONE)],
        id="multi-line-data",
    ),
    pytest.param(
        [b"event: error\ndata: e\n\ndata: f\n\nevent: ping\n\ndata: g\n\n"],
        [("event", "error", "e"), ("event", "", "f"), ("event", "", "g"), ("note", NO_DONE)],
        id="event-field-lasts-one-event",
    ),
    pytest.param(
        [b"\xef", b"\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n"],
        [("event", "", "a"), ("note", NO_DONE)],
        id="bom-only-at-start",
    ),
    pytest.param(
        [b"\ndata: \xf0\x9f", b"\xa6\x85 \xff\n\n"],
        [("event", "", "\U0001f985 \ufffd"), ("note", NO_DONE)],
        id="utf8",
    ),
    pytest.param(
        [b"data: a\n\ndata: [DONE] or not\n\ndata: b\n\n"],
        [("event", "", "a")],
        id="done-stops-decoding",
    ),
    pytest.param(
        [b"data: a\n\ndata: b"],
        [("event", "", "a"), ("event", "", "b"), ("note", NO_DONE)],
        id="cut-off-event-counts",
    ),
    pytest.param([], [("note", NO_DONE)], id="empty"),
]


@pytest.mark.parametrize(("chunks", "expected"), CASES)
def test_decoder_cases_at_every_split(chunks, expected):
    body = b"".join(chunks)
    assert decode(chunks) == expected
    for i in range(len(body) + 1):
        assert decode([body[:i], body[i:]]) == expected, f"split at {i}"
    assert decode([body[i : i + 1] for i in range(len(body))]) == expected


def test_done_close_and_feed_after_close():
    decoder = Recorder()
    decoder.feed(b"data: a\n\ndata: [DONE]\n\ndata: b\n\n")
    assert decoder.done and decoder.seen == [("event", "", "a")]
    decoder.close()
    decoder.close()
    decoder.feed(b"data: c\n\n")
    assert decoder.seen == [("event", "", "a")]  # no note: [DONE] came


# ---------------------------------------------------------------------------------------------
# 2. Against a model: the whole body decoded in one go, the simple way


def reference(body: bytes, max_bytes: int, line_cost: int = 64) -> list[tuple[str, ...]]:
    seen: list[tuple[str, ...]] = []
    *lines, tail = re.split(rb"\r\n|\r|\n", body)
    data: list[bytes] = []
    event, dropped = "", False
    for number, line in enumerate([*lines, tail, b""] if tail else [*lines, b""]):
        if len(line) > max_bytes:
            seen.append(("note", LINE_DROPPED))
            continue
        if number == 0 and line.startswith(BOM):
            line = line[3:]
        name, _, value = line.partition(b":")
        value = value[1:] if value[:1] == b" " else value
        if not line:
            text = "\n".join(part.decode("utf-8", "replace") for part in data)
            if data and not dropped and text.startswith("[DONE]"):
                return seen
            if data and not dropped:
                seen.append(("event", event, text))
            data, event, dropped = [], "", False
        elif name == b"data":
            data.append(value)
            cost = sum(len(part) + line_cost for part in data)
            if len(data) > 1 and cost > max_bytes and not dropped:
                seen.append(("note", EVENT_DROPPED))
                dropped = True
        elif name == b"event":
            event = value.decode("utf-8", "replace")
    return [*seen, ("note", NO_DONE)]


PIECES = st.sampled_from(
    [
        b"data:",
        b"data: ",
        b"event: error",
        b":",
        b"x",
        b"yyyyyyy",
        BOM,
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"[DONE]",
        b"\xff",
        "é".encode(),
    ]
)


@st.composite
def chunked(draw) -> tuple[bytes, list[bytes]]:
    body = b"".join(draw(st.lists(PIECES, max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return body, [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=500, deadline=None, database=None)
@given(chunked(), st.integers(1, 150), st.sampled_from([0, 1, 7, 64]))
def test_any_chunking_decodes_like_the_model_and_holds_no_more(body_and_chunks, max_bytes, cost):
    body, chunks = body_and_chunks
    with mock.patch.object(albicilla.apis.sse, "_LINE_COST", cost):
        decoder = Recorder(max_bytes)
        for chunk in chunks:
            decoder.feed(chunk)
            assert sum(map(len, decoder._partial)) <= max_bytes
            data = decoder._data
            assert len(data) <= 1 or sum(len(part) + cost for part in data) <= max_bytes
        decoder.close()
    assert decoder.seen == reference(body, max_bytes, cost)


@settings(max_examples=200, deadline=None, database=None)
@given(chunked())
def test_any_chunking_decodes_like_the_model_without_limits(body_and_chunks):
    body, chunks = body_and_chunks
    assert decode(chunks) == reference(body, MAX_EVENT_BYTES)


# ---------------------------------------------------------------------------------------------
# 3. Memory limits


def test_line_at_the_limit_is_kept_and_one_byte_more_is_dropped():
    line = b"data: " + b"a" * 10  # 16 bytes; the BOM counts as part of the first line
    for body in [line + b"\n\n", BOM + line + b"\n\n"]:
        for i in range(len(body) + 1):
            kept = decode([body[:i], body[i:]], max_bytes=len(body) - 2)
            dropped = decode([body[:i], body[i:]], max_bytes=len(body) - 3)
            assert kept == [("event", "", "a" * 10), ("note", NO_DONE)]
            assert dropped == [("note", LINE_DROPPED), ("note", NO_DONE)]


def test_event_at_the_limit_is_kept_and_one_byte_more_is_dropped():
    body = b"data: a\ndata: bc\n\n"  # (1 + 64) + (2 + 64) = 131 to hold
    for i in range(len(body) + 1):
        kept = decode([body[:i], body[i:]], max_bytes=131)
        dropped = decode([body[:i], body[i:]], max_bytes=130)
        assert kept == [("event", "", "a\nbc"), ("note", NO_DONE)]
        assert dropped == [("note", EVENT_DROPPED), ("note", NO_DONE)]


def test_a_held_line_counts_from_its_first_byte_across_chunks():
    decoder = Recorder(max_bytes=10)
    decoder.feed(b"data: a\n\ndata: b")  # 7 bytes held, from the end of this chunk
    for piece in [b"cd", b"e", b"f"]:  # 10, then 11: past the limit, the pieces go
        decoder.feed(piece)
        assert sum(map(len, decoder._partial)) <= 10
    assert decoder._partial == []
    decoder.feed(b"g\ndata: h\n\n")
    assert decoder.seen == [("event", "", "a"), ("note", LINE_DROPPED), ("event", "", "h")]


def test_a_dropped_first_line_was_still_the_first():
    body = b"x" * 20 + b"\n" + BOM + b"data: a\n\n"  # the BOM of a second line is no BOM
    assert decode([body], max_bytes=10) == [("note", LINE_DROPPED), ("note", NO_DONE)]


@pytest.mark.parametrize("piece", [64 * 1024, 9 * MIB + 1], ids=["64KiB-chunks", "one-chunk"])
@pytest.mark.parametrize("start", [b"", b"data: "], ids=["garbage", "data-line"])
def test_nine_mib_without_a_line_break_is_dropped_and_the_stream_goes_on(piece, start):
    rebuilder = StreamRebuilder()
    rebuilder.feed(content_event("A"))
    junk = start + b"x" * (9 * MIB)
    for i in range(0, len(junk), piece):
        rebuilder.feed(junk[i : i + piece])
        assert held(rebuilder) <= MAX_EVENT_BYTES
    assert held(rebuilder) == 0  # past the limit nothing of that line is kept
    rebuilder.feed(b"x" * 1000)
    assert held(rebuilder) == 0
    # One line break ends the dropped line; the event after it is read as usual.
    rebuilder.feed(b"\n" + content_event("B") + b"data: [DONE]\n\n")
    rebuilder.close()
    assert content(rebuilder) == "AB"
    assert rebuilder.done and rebuilder.notes == [LINE_DROPPED]


def test_event_over_the_limit_is_dropped_whole_and_the_next_one_kept():
    rebuilder = StreamRebuilder()
    line = b"data: " + b"y" * MIB + b"\n"
    for _ in range(9):
        rebuilder.feed(line)
        assert held(rebuilder) <= MAX_EVENT_BYTES
    assert held(rebuilder) == 0
    rebuilder.feed(line + b"\n")  # the rest of the event is dropped with it
    rebuilder.feed(content_event("A"))
    rebuilder.close()
    assert content(rebuilder) == "A"
    assert rebuilder.notes == [EVENT_DROPPED, NO_DONE]


def test_a_flood_of_empty_data_lines_is_bounded_by_what_holding_them_costs():
    decoder = Recorder(max_bytes=64 * 1000)
    decoder.feed(b"data:\n" * 100_000)
    assert len(decoder._data) == 0 and decoder.seen == [("note", EVENT_DROPPED)]
    decoder.feed(b"data:\n" * 999)
    assert len(decoder._data) == 0  # still the same, dropped event
    decoder.feed(b"\n" + b"data:\n" * 999 + b"\n")  # 999 lines: 63,936 to hold, not over
    assert decoder.seen[-1] == ("event", "", "\n" * 998)


# ---------------------------------------------------------------------------------------------
# 4. Shape


@pytest.mark.parametrize("stream", [StreamRebuilder, MessagesStream, ResponsesStream])
def test_accumulators_hold_a_decoder_instead_of_extending_it(stream):
    assert not issubclass(stream, SSEDecoder)
    accumulator = stream()
    assert isinstance(accumulator._sse, SSEDecoder)
    assert not set(vars(accumulator)) & set(vars(accumulator._sse)) - {"note"}


@pytest.mark.parametrize(
    "module",
    [
        albicilla.apis.sse,
        albicilla.apis.sse_usual,
        albicilla.apis.stream,
        albicilla.apis.chat_stream,
        albicilla.apis.chat_choices,
    ],
)
def test_modules_import_only_the_standard_library_and_each_other(module):
    imported = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            # Inside the package only accumulator -> stream -> sse -> sse_usual, and the chat
            # accumulator -> its choices' rules; outside it only the one JSON module.
            allowed = {
                (1, "stream"),
                (1, "sse"),
                (1, "sse_usual"),
                (1, "chat_choices"),
                (2, "jsonio"),
            }
            assert (node.level, node.module) in allowed, node.module
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


_REFERENCE = json.JSONDecoder(parse_constant=lambda _: None)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _decoded(data: str) -> tuple[str, object]:
    try:
        return "value", _REFERENCE.decode(data)
    except ValueError as exc:
        return "error", type(exc)


@pytest.mark.parametrize(
    "data",
    [
        '{"a":1}',
        ' {"a":1}',
        '{"a":1} ',
        '{"a":1}\t',
        '{"a":1}{"b":2}',
        '{"a":1} x',
        "",
        " ",
        "NaN",
        '{"x":Infinity}',
        "[1,-Infinity]",
        "[DONE]",
        "{",
        '"text"',
        "12",
        "1 2",
        "\ufeff{}",
    ],
)
def test_parse_data_reads_what_decode_reads(data: str) -> None:
    try:
        got: tuple[str, object] = ("value", parse_data(data))
    except ValueError as exc:
        got = ("error", type(exc))
    assert repr(got) == repr(_decoded(data))  # repr: NaN would never equal itself


@given(_JSON_VALUES, st.sampled_from(["", " ", "\n", "x", "{}"]), st.sampled_from(["", " "]))
def test_parse_data_matches_decode_on_any_json(value: object, after: str, before: str) -> None:
    data = before + json.dumps(value) + after
    try:
        got: tuple[str, object] = ("value", parse_data(data))
    except ValueError as exc:
        got = ("error", type(exc))
    assert repr(got) == repr(_decoded(data))
