"""Properties over generated input, in-process: session file names stay in the root and never
collide, and every record the proxy writes is one JSON line the converter reads back whole.

(That any chunking of a stream rebuilds the same completion is a property of tests/test_streaming.)
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from albicilla import create_app
from albicilla.config import Settings
from albicilla.conv.apis import to_exchange as usable_exchange
from albicilla.logs.records import iter_records
from albicilla.proxy.sessions import session_file_name
from conftest import CHAT_URL, UPSTREAM

# Every code point, lone surrogates and control characters included.
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

SESSION_IDS = st.one_of(
    st.text(ANY_CHAR, min_size=1, max_size=300),
    st.text(st.sampled_from("./\\\x00 -_aA0\u202e\uff0e\uff0f"), min_size=1, max_size=12),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True),
    # Plain ids shaped like the names that hashing produces.
    st.from_regex(r"([a-z.]{0,8}-)?[0-9a-f]{12}", fullmatch=True),
    st.builds(lambda n, c: c * n, st.integers(1, 400), st.sampled_from("x.-\u00e9")),
    st.sampled_from([".", "..", "...", "anonymous", "key-0123456789abcdef", "session-" + "0" * 12]),
)


@given(SESSION_IDS)
def test_a_session_file_name_is_one_safe_component_inside_the_root(session_id):
    name = session_file_name(session_id)
    assert SAFE_NAME.fullmatch(name), name
    assert name not in (".", "..")
    assert len((name + ".jsonl").encode()) <= 255
    root = "/var/log/albicilla/2026-01-01"
    path = os.path.normpath(os.path.join(root, name + ".jsonl"))
    assert os.path.dirname(path) == root and os.path.basename(path) == name + ".jsonl"


@given(st.lists(SESSION_IDS, unique=True, max_size=40))
def test_distinct_session_ids_get_distinct_file_names(session_ids):
    names = [session_file_name(s) for s in session_ids]
    assert len(set(names)) == len(names)


@given(SESSION_IDS, SESSION_IDS)
def test_file_names_are_injective_pairwise(a, b):
    assert (session_file_name(a) == session_file_name(b)) == (a == b)


# --- records -------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "developer"]),
            "content": ANY_TEXT,
        },
        optional={"name": ANY_TEXT, "extra": JSON_VALUES},
    ),
    min_size=1,
    max_size=4,
)
EXTRA_FIELDS = st.dictionaries(
    ANY_TEXT.filter(lambda k: k not in ("user", "stream", "messages")), JSON_VALUES, max_size=3
)


@pytest.fixture(scope="module")
def proxy_app(tmp_path_factory):
    log_root = tmp_path_factory.mktemp("properties") / "logs"
    app = create_app(Settings(upstream_endpoint=UPSTREAM, log_root=log_root))
    yield app, log_root
    app.extensions["albicilla"].upstream.close()


def dumps(value, ascii_only: bool) -> bytes:
    """JSON bytes as a client or upstream sends them: raw UTF-8 when it can be, else escaped."""
    if not ascii_only:
        try:
            return json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
            pass
    return json.dumps(value).encode("ascii")


def sse(parts: list[str], ascii_only: bool) -> bytes:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    ]
    chunks += [
        {**base, "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]}
        for part in parts
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return b"".join(b"data: " + dumps(c, ascii_only) + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def completion(content: str) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=MESSAGES,
    extra=EXTRA_FIELDS,
    user=st.none() | ANY_TEXT,
    stream=st.booleans(),
    reply=st.lists(ANY_TEXT, max_size=5),
    ascii_only=st.booleans(),
)
def test_every_record_is_one_json_line_the_converter_reads_back(
    proxy_app, messages, extra, user, stream, reply, ascii_only
):
    app, log_root = proxy_app
    payload = {"model": "m", "messages": messages, **extra}
    if user is not None:
        payload["user"] = user
    if stream:
        payload["stream"] = True
    header_session = "prop-" + uuid.uuid4().hex
    session = user if user else header_session
    with responses.RequestsMock() as upstream:
        if stream:
            upstream.post(CHAT_URL, body=sse(reply, ascii_only), content_type="text/event-stream")
        else:
            upstream.post(
                CHAT_URL,
                body=dumps(completion("".join(reply)), ascii_only),
                content_type="application/json",
            )
        before = _lines(log_root, session)
        response = app.test_client().post(
            "/v1/chat/completions",
            data=dumps(payload, ascii_only),
            headers={"Content-Type": "application/json", "X-Session-Id": header_session},
        )
        assert response.status_code == 200
        assert response.get_data()  # read to the end, as a client does
        response.close()
    [path] = log_root.glob(f"*/{session_file_name(session)}.jsonl")
    data = path.read_bytes()
    assert data.endswith(b"\n")
    assert data.count(b"\n") == before + 1  # exactly one more line, whatever the content
    damage: list[tuple[int, str]] = []
    *_, (number, record) = iter_records(str(path), lambda n, why: damage.append((n, why)))
    assert damage == [] and number == before + 1
    assert record["request"] == payload
    assert record["session_id"] == session
    assert (record["status"], record["complete"], record["stream"]) == (200, True, stream)
    assert record["response"]["choices"][0]["message"]["content"] == "".join(reply)
    exchange = usable_exchange(record)
    assert not isinstance(exchange, str), exchange
    assert exchange.messages == messages


def _lines(log_root: Path, session: str) -> int:
    return sum(
        p.read_bytes().count(b"\n") for p in log_root.glob(f"*/{session_file_name(session)}.jsonl")
    )
