"""Numbers JSON cannot hold (NaN, Infinity, -Infinity, overflowing floats) are null in records,
on every path, while the bytes relayed to the upstream and the client stay as they came."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import CHAT_URL

# Each key holds one number JSON cannot hold; Python's json reads them all (as nan or inf).
ODD = b'{"nan":NaN,"inf":Infinity,"ninf":-Infinity,"big":1e999,"ok":0.5}'
NULLED = {"nan": None, "inf": None, "ninf": None, "big": None, "ok": 0.5}


def strict_loads(line: bytes) -> Any:
    """What a strict parser (JavaScript's JSON.parse, jq, serde_json) accepts: no constants, and
    no number that overflows a double."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    def finite(text: str) -> float:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"{text} overflows a double")
        return value

    return json.loads(line, parse_constant=refuse, parse_float=finite)


def record_lines(log_root: Path) -> list[bytes]:
    return [
        line
        for path in sorted(log_root.rglob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def chat_body(extra: bytes, *, stream: bool = False) -> bytes:
    head = b'{"model":"m","stream":true,' if stream else b'{"model":"m",'
    return head + b'"messages":[{"role":"user","content":"Hi"}],"odd":' + extra + b"}"


COMPLETION = (
    b'{"id":"c","object":"chat.completion","created":1,"model":"m","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}'
    b'],"odd":' + ODD + b"}"
)


def test_request_values_json_cannot_hold_are_null_in_the_record_and_forwarded_as_sent(
    client, upstream, log_root
):
    upstream.post(CHAT_URL, body=COMPLETION.replace(ODD, b"{}"), content_type="application/json")
    body = chat_body(ODD)
    response = client.post(
        "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert upstream.calls[0].request.body == body  # the upstream gets the client's bytes
    [line] = record_lines(log_root)
    assert strict_loads(line)["request"]["odd"] == NULLED


@pytest.mark.parametrize("size", ["small", "split"])  # sent whole, or in two parts
def test_response_values_json_cannot_hold_are_null_in_the_record_and_relayed_as_sent(
    client, upstream, log_root, size
):
    answer = COMPLETION if size == "small" else COMPLETION[:-1] + b',"pad":"' + b"x" * 70000 + b'"}'
    upstream.post(CHAT_URL, body=answer, content_type="application/json")
    response = client.post(
        "/v1/chat/completions", data=chat_body(b"1"), headers={"Content-Type": "application/json"}
    )
    assert response.data == answer  # the client gets the upstream's bytes
    [line] = record_lines(log_root)
    record = strict_loads(line)
    assert record["response"]["odd"] == NULLED and record["complete"] is True


def test_stream_event_values_json_cannot_hold_are_null_in_the_record_and_relayed_as_sent(
    client, upstream, log_root
):
    chunk = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},'
        b'"logprobs":{"content":[{"token":"Hi","logprob":-Infinity,"bytes":[72,105],'
        b'"top_logprobs":[]},{"token":"!","logprob":NaN,"bytes":[33],"top_logprobs":[]},'
        b'{"token":"?","logprob":-1e999,"bytes":[63],"top_logprobs":[]}]},'
        b'"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    upstream.post(CHAT_URL, body=chunk, content_type="text/event-stream")
    response = client.post(
        "/v1/chat/completions",
        data=chat_body(b"1", stream=True),
        headers={"Content-Type": "application/json"},
    )
    assert response.data == chunk
    [line] = record_lines(log_root)
    record = strict_loads(line)
    logprobs = record["response"]["choices"][0]["logprobs"]["content"]
    assert [entry["logprob"] for entry in logprobs] == [None, None, None]
    assert record["complete"] is True
