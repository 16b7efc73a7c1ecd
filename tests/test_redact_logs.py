"""`--redact-logs`: records are redacted before they are written; traffic is not touched."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from albicilla import cli, create_app
from albicilla.config import ConfigError, Settings
from albicilla.conv.cli import main as conv_main
from conftest import CHAT_URL, UPSTREAM, read_records

GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
TAG = "[REDACTED:github_token]"
ARGS = json.dumps({"cmd": f"export GH_TOKEN={GITHUB}"})
CALL = {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": ARGS}}
REPLY = {"role": "assistant", "content": None, "tool_calls": [CALL]}
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "gpt-test",
    "choices": [{"index": 0, "message": REPLY, "finish_reason": "tool_calls"}],
}
USER = {"role": "user", "content": f"use {GITHUB}"}
SSE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    b'[{"index":0,"delta":{"role":"assistant","content":"key ghp_aB3dE5fG7hJ9kL1m"},'
    b'"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    b'[{"index":0,"delta":{"content":"N3pQ5rS7tU9vW1xY3zA5 ok"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.fixture
def redacting_app(settings: Settings):
    app = create_app(replace(settings, redact_logs=True))
    app.config["TESTING"] = True
    yield app
    app.extensions["albicilla"].upstream.close()


def post(client, body: dict):
    return client.post("/v1/chat/completions", data=json.dumps(body).encode(),
                       headers={"Content-Type": "application/json"})  # fmt: skip


def test_record_is_redacted_but_upstream_and_client_get_the_original(
    redacting_app, upstream, log_root
):
    upstream.post(CHAT_URL, json=COMPLETION)
    body = {"model": "gpt-test", "messages": [USER]}

    response = post(redacting_app.test_client(), body)

    assert response.get_json() == COMPLETION
    assert json.loads(upstream.calls[0].request.body) == body
    [record] = read_records(log_root)
    assert record["request"]["messages"] == [{"role": "user", "content": f"use {TAG}"}]
    arguments = record["response"]["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(arguments["arguments"]) == {"cmd": f"export GH_TOKEN={TAG}"}
    assert GITHUB not in json.dumps(record)


def test_streamed_secret_split_across_chunks_is_redacted_in_the_record(
    redacting_app, upstream, log_root
):
    upstream.post(CHAT_URL, body=SSE, content_type="text/event-stream")

    response = post(redacting_app.test_client(), {"model": "m", "messages": [], "stream": True})

    assert response.get_data() == SSE
    [record] = read_records(log_root)
    assert record["response"]["choices"][0]["message"]["content"] == f"key {TAG} ok"


def test_without_the_setting_records_are_verbatim(client, upstream, log_root):
    upstream.post(CHAT_URL, json=COMPLETION)
    post(client, {"model": "gpt-test", "messages": [USER]})
    [record] = read_records(log_root)
    assert record["request"]["messages"] == [USER]


def test_redacted_logs_still_fold_into_one_conversation(
    redacting_app, upstream, log_root, tmp_path
):
    """The same resent history is redacted the same way on every call."""
    done = {
        "index": 0,
        "message": {"role": "assistant", "content": "done"},
        "finish_reason": "stop",
    }
    upstream.post(CHAT_URL, json=COMPLETION)
    upstream.post(CHAT_URL, json={**COMPLETION, "choices": [done]})
    client = redacting_app.test_client()
    post(client, {"model": "m", "messages": [USER], "user": "s"})
    result = {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
    post(client, {"model": "m", "messages": [USER, REPLY, result], "user": "s"})

    out = tmp_path / "out"
    assert conv_main(["--logs", str(log_root), "--output", str(out), "--single-file"]) == 0
    lines = (out / "conversations.jsonl").read_text().splitlines()
    assert len(lines) == 1 and GITHUB not in lines[0] and TAG in lines[0]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False)])
def test_environment_variable_turns_it_on_or_off(raw: str, expected: bool) -> None:
    environ = {"PROXY_UPSTREAM_ENDPOINT": UPSTREAM, "PROXY_REDACT_LOGS": raw}
    assert Settings.load(environ=environ).redact_logs is expected


def test_malformed_boolean_is_a_config_error() -> None:
    environ = {"PROXY_UPSTREAM_ENDPOINT": UPSTREAM, "PROXY_REDACT_LOGS": "maybe"}
    with pytest.raises(ConfigError, match="PROXY_REDACT_LOGS"):
        Settings.load(environ=environ)


def test_flag_turns_it_on(monkeypatch, tmp_path) -> None:
    served: list[Settings] = []
    monkeypatch.setattr("albicilla.server.serve", lambda s: served.append(s) or 0)
    monkeypatch.delenv("PROXY_REDACT_LOGS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--upstream-endpoint", UPSTREAM, "--redact-logs"]) == 0
    assert cli.main(["--upstream-endpoint", UPSTREAM]) == 0
    assert [s.redact_logs for s in served] == [True, False]
