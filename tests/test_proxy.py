"""Forwarding, relaying and recording through the Flask test client, with `responses` upstreams."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
import responses

from conftest import API_KEY, CHAT_URL, UPSTREAM, log_files, read_records

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "gpt-test",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}
LARGE_COMPLETION = {**COMPLETION, "padding": "x" * 100_000}
REQUEST = {"model": "gpt-test", "messages": [{"role": "user", "content": "Hi"}]}
SSE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":"He"},"finish_reason":null}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def post_chat(client, body=REQUEST, headers=None, **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    return client.post("/v1/chat/completions", data=data, headers=headers, **kwargs)


def test_non_streaming_completion_is_forwarded_and_recorded(client, upstream, log_root):
    upstream.post(CHAT_URL, json=COMPLETION, headers={"X-Request-Id": "req-9"})
    raw_body = b'{"model": "gpt-test",  "messages": [{"role":"user","content":"Hi"}], "x_extra": 1}'

    response = post_chat(client, raw_body, {"Authorization": f"Bearer {API_KEY}"})

    assert response.status_code == 200
    assert response.get_json() == COMPLETION
    assert response.headers["X-Request-Id"] == "req-9"
    sent = upstream.calls[0].request
    assert sent.body == raw_body  # byte for byte, extra fields and spacing kept
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    [record] = read_records(log_root)
    assert set(record) == {
        "timestamp",
        "session_id",
        "request",
        "response",
        "status",
        "stream",
        "complete",
        "error",
        "duration_ms",
        "endpoint",
        "schema_version",
        "instance",
    }
    assert record["request"] == json.loads(raw_body)
    assert record["response"] == COMPLETION
    assert record["status"] == 200
    assert record["stream"] is False
    assert record["complete"] is True
    assert record["error"] is None
    assert record["endpoint"] == "/v1/chat/completions"
    assert record["schema_version"] == 1
    assert record["instance"] == "proxy-a"
    assert record["timestamp"].endswith("Z")
    assert record["duration_ms"] >= 0
    assert record["session_id"].startswith("key-")


def test_hop_by_hop_and_host_headers_are_not_forwarded(client, upstream):
    upstream.post(CHAT_URL, json=COMPLETION)
    post_chat(
        client,
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "1",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic abc",
            "Upgrade": "h2c",
            "OpenAI-Organization": "org-1",
            "X-Custom": "kept",
        },
    )
    sent = {k.lower(): v for k, v in upstream.calls[0].request.headers.items()}
    for name in (
        "connection",
        "x-private-hop",
        "keep-alive",
        "te",
        "proxy-authorization",
        "upgrade",
        "host",
    ):
        assert name not in sent
    assert sent["openai-organization"] == "org-1"
    assert sent["x-custom"] == "kept"


def test_hop_by_hop_response_headers_are_dropped(client, upstream):
    upstream.post(
        CHAT_URL, json=COMPLETION, headers={"Connection": "close", "Keep-Alive": "timeout=1"}
    )
    response = post_chat(client)
    assert "Keep-Alive" not in response.headers
    assert response.headers.get("Connection") is None


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_upstream_errors_pass_through_with_status_and_body(client, upstream, log_root, status):
    body = {"error": {"message": "nope", "type": "x", "param": None, "code": "c"}}
    upstream.post(CHAT_URL, json=body, status=status)
    response = post_chat(client)
    assert response.status_code == status
    assert response.get_json() == body
    [record] = read_records(log_root)
    assert (record["status"], record["response"], record["complete"]) == (status, body, True)


def test_non_json_upstream_error_page_becomes_openai_error(client, upstream, log_root):
    upstream.post(CHAT_URL, body="<html>Bad Gateway</html>", status=502, content_type="text/html")
    response = post_chat(client)
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert "Bad Gateway" in error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    [record] = read_records(log_root)
    assert record["status"] == 502 and record["response"] == response.get_json()


@pytest.mark.parametrize("body", [b"", b"not json"])
def test_unparsable_200_becomes_502(client, upstream, log_root, body):
    upstream.post(CHAT_URL, body=body, status=200, content_type="application/json")
    response = post_chat(client)
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_invalid_response"
    [record] = read_records(log_root)
    assert (record["status"], record["complete"]) == (502, False)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (requests.ConnectionError("refused"), 502, "upstream_unavailable"),
        (requests.ConnectTimeout("slow connect"), 504, "upstream_timeout"),
        (requests.ReadTimeout("slow read"), 504, "upstream_timeout"),
    ],
)
def test_upstream_failures_give_gateway_errors_and_records(
    client, upstream, log_root, exc, status, code
):
    upstream.post(CHAT_URL, body=exc)
    response = post_chat(client, headers={"X-Session-Id": "s1"})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    [record] = read_records(log_root)
    assert record["status"] == status
    assert record["complete"] is False
    assert record["error"] == response.get_json()["error"]["message"]
    assert record["session_id"] == "s1"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "parse"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 2000 + b"]" * 2000, "nested too deeply"),
        (b"", "parse"),
    ],
)
def test_bad_bodies_get_400_and_never_reach_upstream(client, upstream, log_root, body, fragment):
    response = post_chat(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]
    assert len(upstream.calls) == 0
    assert log_files(log_root) == []


def test_body_over_limit_gets_413(client, upstream):
    body = json.dumps({**REQUEST, "pad": "x" * 5000}).encode()
    response = post_chat(client, body)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_too_large"
    assert len(upstream.calls) == 0


def test_gzip_request_body_is_refused_with_415(client, upstream):
    body = gzip.compress(json.dumps(REQUEST).encode())
    response = post_chat(client, body, {"Content-Encoding": "gzip"})
    assert response.status_code == 415
    assert len(upstream.calls) == 0


def test_stream_is_relayed_and_rebuilt(client, upstream, log_root):
    upstream.post(CHAT_URL, body=SSE, content_type="text/event-stream")
    response = post_chat(client, {**REQUEST, "stream": True, "user": "agent-1"})
    assert response.status_code == 200
    assert response.data == SSE
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers
    [record] = read_records(log_root)
    assert record["stream"] is True and record["complete"] is True and record["error"] is None
    assert record["session_id"] == "agent-1"
    assert record["response"]["object"] == "chat.completion"
    assert record["response"]["choices"][0]["message"]["content"] == "Hello"
    assert record["response"]["choices"][0]["finish_reason"] == "stop"
    assert (log_root / record["timestamp"][:10] / "agent-1.jsonl").exists()


@pytest.mark.parametrize("cut", [False, True], ids=["whole", "without-done"])
def test_a_stream_is_rebuilt_and_judged_once_for_its_one_record(
    client, upstream, log_root, monkeypatch, cut
):
    from albicilla.apis.chat import ChatStream

    calls = {"response": 0, "outcome": 0}
    for name in calls:
        original = getattr(ChatStream, name)

        def counted(self, _original=original, _name=name):
            calls[_name] += 1
            return _original(self)

        monkeypatch.setattr(ChatStream, name, counted)
    body = SSE.split(b": keep-alive")[0] if cut else SSE
    upstream.post(CHAT_URL, body=body, content_type="text/event-stream")
    assert post_chat(client, {**REQUEST, "stream": True}).data == body
    [record] = read_records(log_root)
    assert record["complete"] is not cut
    assert calls == {"response": 1, "outcome": 1}


def test_stream_without_done_or_finish_reason_is_incomplete(client, upstream, log_root):
    cut = SSE.split(b": keep-alive")[0]
    upstream.post(CHAT_URL, body=cut, content_type="text/event-stream")
    response = post_chat(client, {**REQUEST, "stream": True})
    # The upstream's early end reaches the client as it was: nothing added.
    assert response.data == cut
    [record] = read_records(log_root)
    assert record["complete"] is False
    assert record["error"] == "upstream stream ended without [DONE]"
    assert record["response"]["choices"][0]["message"]["content"] == "He"


def test_upstream_error_event_marks_record_incomplete(client, upstream, log_root):
    body = SSE.split(b": keep-alive")[0] + b'data: {"error": {"message": "overloaded"}}\n\n'
    upstream.post(CHAT_URL, body=body, content_type="text/event-stream")
    response = post_chat(client, {**REQUEST, "stream": True})
    assert response.data == body  # the upstream's own error event reaches the client as sent
    [record] = read_records(log_root)
    assert (record["complete"], record["error"]) == (False, "upstream error event")


def test_client_disconnect_mid_stream_writes_partial_record(client, upstream, log_root):
    # Long enough that the upstream body arrives in several reads, [DONE] in the last one.
    head, tail = SSE.split(b": keep-alive\n\n")
    upstream.post(CHAT_URL, body=head * 1000 + tail, content_type="text/event-stream")
    response = post_chat(client, {**REQUEST, "stream": True}, buffered=False)
    first = next(iter(response.response))
    assert first.startswith(b"data: ")
    response.close()
    [record] = read_records(log_root)
    assert record["complete"] is False
    assert record["error"] == "client disconnected"


def test_session_from_header_and_anonymous(client, upstream, log_root):
    upstream.post(CHAT_URL, json=COMPLETION)
    upstream.post(CHAT_URL, json=COMPLETION)
    post_chat(client, headers={"X-Session-Id": "../../etc/passwd"})
    post_chat(client)
    ids = sorted(r["session_id"] for r in read_records(log_root))
    assert ids == ["../../etc/passwd", "anonymous"]
    for path in log_files(log_root):
        assert path.resolve().is_relative_to(log_root.resolve())


def test_api_key_is_never_written(client, upstream, log_root):
    upstream.post(CHAT_URL, json=COMPLETION)
    upstream.post(CHAT_URL, body=SSE, content_type="text/event-stream")
    upstream.post(CHAT_URL, body=requests.ConnectionError("down"))
    headers = {"Authorization": f"Bearer {API_KEY}", "OpenAI-Organization": "org-SECRET"}
    post_chat(client, headers=headers)
    post_chat(client, {**REQUEST, "stream": True}, headers=headers)
    post_chat(client, headers=headers)
    assert len(log_files(log_root)) == 1
    for path in log_root.rglob("*"):
        assert API_KEY not in str(path)
        if path.is_file():
            text = path.read_text()
            assert API_KEY not in text and "org-SECRET" not in text


def test_other_v1_paths_pass_through_untouched(client, upstream, log_root):
    upstream.get(UPSTREAM + "/v1/models", json={"object": "list", "data": []})
    upstream.post(UPSTREAM + "/v1/embeddings", json={"data": [{"embedding": [0.1]}]}, status=201)
    upstream.get(UPSTREAM + "/v1/chat/completions", json={"object": "list", "data": []})

    models = client.get("/v1/models?limit=2", headers={"Authorization": "Bearer k"})
    body = b'{"input":"x",  "model":"e"}'
    embeddings = client.post("/v1/embeddings", data=body, content_type="application/json")
    stored = client.get("/v1/chat/completions")

    assert models.get_json() == {"object": "list", "data": []}
    assert upstream.calls[0].request.url == UPSTREAM + "/v1/models?limit=2"
    assert upstream.calls[0].request.headers["Authorization"] == "Bearer k"
    assert embeddings.status_code == 201
    assert upstream.calls[1].request.body == body
    assert stored.status_code == 200
    assert log_files(log_root) == []


def test_passthrough_keeps_compressed_body_as_sent(client, upstream):
    payload = gzip.compress(b'{"data": []}')
    upstream.get(
        UPSTREAM + "/v1/files",
        body=payload,
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
        auto_calculate_content_length=True,
    )
    response = client.get("/v1/files")
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.data == payload


def test_passthrough_stream_is_relayed(client, upstream):
    upstream.post(UPSTREAM + "/v1/responses", body=SSE, content_type="text/event-stream")
    response = client.post("/v1/responses", json={"stream": True})
    assert response.data == SSE
    assert response.headers["X-Accel-Buffering"] == "no"


@pytest.mark.parametrize("path", ["/v1/../admin", "/v1/./models", "/v1/a/../../x"])
def test_dot_segments_are_refused(client, upstream, path):
    response = client.get("/", environ_overrides={"PATH_INFO": path})
    assert response.status_code == 404
    assert len(upstream.calls) == 0


def test_health_does_not_call_upstream(client, upstream):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert len(upstream.calls) == 0


@pytest.mark.parametrize("path", ["/", "/admin", "/v2/chat/completions", "//evil.example/v1"])
def test_non_v1_paths_get_openai_shaped_404(client, upstream, path):
    response = client.get("/", environ_overrides={"PATH_INFO": path})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_url"
    assert len(upstream.calls) == 0


def test_log_store_failure_keeps_answering_and_reports_degraded(client, upstream, log_root, capsys):
    log_root.parent.mkdir(parents=True, exist_ok=True)
    log_root.write_text("not a directory")
    upstream.post(CHAT_URL, json=COMPLETION)
    upstream.post(CHAT_URL, json=COMPLETION)

    response = post_chat(client)
    assert response.status_code == 200 and response.get_json() == COMPLETION
    health = client.get("/health").get_json()
    assert health["status"] == "degraded" and "cannot write" in health["reason"]
    assert "record lost" in capsys.readouterr().err

    log_root.unlink()
    post_chat(client)
    assert client.get("/health").get_json() == {"status": "ok"}
    assert len(read_records(log_root)) == 1


def test_upstream_endpoint_with_or_without_v1(log_root):
    from albicilla import create_app
    from albicilla.config import Settings

    for endpoint in (UPSTREAM, UPSTREAM + "/", UPSTREAM + "/v1", UPSTREAM + "/v1/"):
        app = create_app(Settings(upstream_endpoint=endpoint, log_root=log_root))
        with responses.RequestsMock() as mock:
            mock.post(CHAT_URL, json=COMPLETION)
            assert post_chat(app.test_client()).status_code == 200
        app.extensions["albicilla"].upstream.close()


def test_gzipped_completion_is_decoded_for_client_and_log(client, upstream, log_root):
    upstream.post(
        CHAT_URL,
        body=gzip.compress(json.dumps(COMPLETION).encode()),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    response = post_chat(client, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers
    assert response.get_json() == COMPLETION
    assert upstream.calls[0].request.headers["Accept-Encoding"] == "gzip"
    [record] = read_records(log_root)
    assert record["response"] == COMPLETION


def test_record_is_on_disk_before_the_client_gets_the_last_byte(client, upstream, log_root):
    upstream.post(CHAT_URL, body=SSE, content_type="text/event-stream")
    upstream.post(CHAT_URL, json=COMPLETION)
    upstream.post(CHAT_URL, json=LARGE_COMPLETION)

    stream = post_chat(client, {**REQUEST, "stream": True}, buffered=False)
    pieces = iter(stream.response)
    assert next(pieces).endswith(b"data: [DONE]\n\n")
    [record] = read_records(log_root)
    assert record["complete"] is True and record["stream"] is True
    stream.close()

    plain = post_chat(client, buffered=False)
    pieces = iter(plain.response)
    assert json.loads(next(pieces)) == COMPLETION  # a small body goes in one piece
    assert len(read_records(log_root)) == 2
    plain.close()

    big = post_chat(client, buffered=False)
    pieces = iter(big.response)
    body = next(pieces)
    assert len(read_records(log_root)) == 2  # not yet: the client may still leave
    last = next(pieces)
    assert len(read_records(log_root)) == 3
    assert json.loads(body + last) == LARGE_COMPLETION
    big.close()
    assert [r["complete"] for r in read_records(log_root)] == [True, True, True]
