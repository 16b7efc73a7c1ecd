"""End to end: the official openai SDK -> a real gunicorn (gevent workers) -> a real upstream."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

from conftest import API_KEY, read_records
from support.procs import BIN, ROOT, fake_upstream, gunicorn, proxy_env, runner
from support.sdk_oracles import chat_without_sdk_additions
from support.wire import expected_content, stream_events

pytestmark = pytest.mark.e2e
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as running:
        yield running


@pytest.fixture
def proxy(upstream, log_root, tmp_path):
    with gunicorn(upstream.url, log_root, tmp_path, workers=3) as running:
        yield running


def sdk(proxy, scenario: str = "json", **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=proxy.url + "/v1",
        api_key=API_KEY,
        max_retries=0,
        default_headers={"X-Scenario": scenario, **headers},
    )


def with_logprobs(sdk: dict) -> dict:
    """The record's choices always carry `logprobs` (null when no chunk had any), as a
    ChatCompletion's do; the SDK's snapshot leaves out every field no chunk set."""
    for choice in sdk["choices"]:
        choice.setdefault("logprobs", None)
    return sdk


def test_sdk_non_streaming_call_is_logged_as_received(proxy, log_root):
    with sdk(proxy) as client:
        reply = client.chat.completions.create(model="gpt-x", messages=MESSAGES, user="alice")
    [record] = read_records(log_root)
    assert record["response"] == reply.model_dump(mode="json", exclude_unset=True)
    assert record["request"] == {"model": "gpt-x", "messages": MESSAGES, "user": "alice"}
    assert (record["session_id"], record["status"], record["complete"]) == ("alice", 200, True)
    assert (log_root / record["timestamp"][:10] / "alice.jsonl").is_file()


@pytest.mark.parametrize("framing", ["chunked", "close", "length"])
def test_sdk_stream_is_relayed_and_rebuilt_for_every_framing(proxy, log_root, framing):
    scenario = f"stream?chunks=20&tools=2&framing={framing}"
    with sdk(proxy, scenario) as client:
        with client.chat.completions.stream(
            model="gpt-x", messages=MESSAGES, stream_options={"include_usage": True}
        ) as stream:
            chunks = [
                e.chunk.model_dump(mode="json", exclude_unset=True)
                for e in stream
                if e.type == "chunk"
            ]
            accumulated = stream.current_completion_snapshot
    sdk_sees = with_logprobs(
        chat_without_sdk_additions(accumulated.model_dump(mode="json", exclude_unset=True), chunks)
    )
    [record] = read_records(log_root)
    assert (record["stream"], record["complete"], record["error"]) == (True, True, None)
    assert record["response"] == sdk_sees  # what the SDK itself accumulated through the proxy
    # The scenario's shape, so that equality above is not two empty answers agreeing.
    assert sdk_sees["choices"][0]["message"]["content"] == expected_content(20)
    assert len(sdk_sees["choices"][0]["message"]["tool_calls"]) == 2


def test_first_token_is_not_held_back(proxy, log_root):
    # 7 events 0.4 s apart: a buffering proxy would deliver the first one seconds late.
    scenario = "stream?chunks=3&delay=0.4&framing=close"
    started = time.monotonic()
    with requests.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "m", "messages": MESSAGES, "stream": True},
        headers={"X-Scenario": scenario},
        stream=True,
    ) as response:
        pieces = response.raw.stream(1024, decode_content=False)
        first = next(pieces)
        first_at = time.monotonic() - started
        rest = b"".join(pieces)
        total = time.monotonic() - started
    assert first.startswith(b"data: "), (first, rest)
    assert total > 2.0, (first, rest)
    assert first_at < total / 2


@pytest.mark.parametrize(
    ("scenario", "stream"),
    [
        ("stream?chunks=3&delay=0.4&framing=close", True),
        ("sleep?delay=1.5", False),
    ],
)
def test_duration_ms_runs_from_the_requests_arrival_to_the_records_writing(
    proxy, log_root, scenario, stream
):
    # The upstream takes a known time: 1.5 s before a JSON answer, or its events 0.4 s apart
    # (the record is written when the last one, [DONE], arrives). The client's own clock holds
    # the whole exchange, so it bounds duration_ms from above.
    upstream_takes = 0.4 * (len(stream_events(3)) - 1) if stream else 1.5
    started = time.monotonic()
    response = requests.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "m", "messages": MESSAGES, "stream": stream},
        headers={"X-Scenario": scenario},
        timeout=30,
    )
    client_saw = time.monotonic() - started
    assert response.status_code == 200
    [record] = read_records(log_root)
    assert record["complete"] is True
    assert upstream_takes * 1000 <= record["duration_ms"] <= client_saw * 1000


def test_client_disconnect_mid_stream_writes_partial_record(proxy, log_root):
    body = json.dumps({"model": "m", "messages": MESSAGES, "stream": True, "user": "gone"})
    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Scenario: stream?chunks=50&delay=0.1\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
        )
        assert b"tok0" in _read_until(sock, b"tok0")
    record = _wait_for_record(log_root)
    assert (record["complete"], record["error"]) == (False, "client disconnected")
    content = record["response"]["choices"][0]["message"]["content"]
    assert content.startswith("tok0 ") and len(content) < len(expected_content(50))


@pytest.mark.parametrize(
    ("scenario", "stream", "status"),
    [("sleep?delay=8", False, 499), ("stall?chunks=5&after=3&stall=8", True, 200)],
)
def test_client_hangup_on_a_silent_upstream_ends_the_exchange_at_once(
    proxy, log_root, scenario, stream, status
):
    body = json.dumps({"model": "m", "messages": MESSAGES, "stream": stream, "user": "hup"})
    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-Scenario: {scenario}\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )
        if stream:
            _read_until(sock, b"tok0")
        else:
            time.sleep(0.5)
    # The upstream stays silent for 8 s; the record must not wait for it.
    record = _wait_for_record(log_root, timeout=4.0)
    assert (record["status"], record["complete"]) == (status, False)
    assert record["error"] == "client disconnected"
    assert record["duration_ms"] < 4000


def test_upstream_cut_mid_stream_breaks_the_client_connection_and_records_the_part(proxy, log_root):
    # As without the proxy: the SDK's read breaks, so it raises APIConnectionError (which its
    # retry logic keys on), after the tokens that did arrive.
    chunks = []
    with sdk(proxy, "cut?chunks=10&after=4") as client:
        with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            with pytest.raises(openai.APIConnectionError):
                for event in stream:
                    if event.type == "chunk":
                        chunks.append(event.chunk.model_dump(mode="json", exclude_unset=True))
            accumulated = stream.current_completion_snapshot
    sdk_sees = with_logprobs(
        chat_without_sdk_additions(accumulated.model_dump(mode="json", exclude_unset=True), chunks)
    )
    assert sdk_sees["choices"][0]["message"]["content"] == "tok0 tok1 tok2 "
    [record] = read_records(log_root)
    assert (record["status"], record["complete"]) == (200, False)
    assert record["error"] == "upstream connection lost"
    assert record["response"] == sdk_sees  # the part the SDK had when its read broke


def test_concurrent_streams_into_one_session_leave_one_intact_line_each(proxy, log_root):
    count = 200

    def call(i: int) -> str:
        with sdk(proxy, "stream?chunks=10&delay=0.01") as client:
            stream = client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": f"n{i}"}],
                stream=True,
                user="shared",
            )
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    with ThreadPoolExecutor(64) as pool:
        contents = list(pool.map(call, range(count)))
    assert contents == [expected_content(10)] * count
    [path] = list(log_root.rglob("*.jsonl"))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == count
    assert sorted(r["request"]["messages"][0]["content"] for r in records) == sorted(
        f"n{i}" for i in range(count)
    )
    bad = [
        (r["status"], r["complete"], r["error"])
        for r in records
        if not r["complete"]
        or r["response"]["choices"][0]["message"]["content"] != expected_content(10)
    ]
    assert bad == []


def test_sigterm_lets_streams_in_flight_finish_and_refuses_new(upstream, log_root, tmp_path):
    with gunicorn(upstream.url, log_root, tmp_path, workers=2) as proxy:
        got: dict[str, bytes] = {}

        def slow_stream() -> None:
            with requests.post(
                proxy.url + "/v1/chat/completions",
                json={"model": "m", "messages": MESSAGES, "stream": True, "user": "late"},
                headers={"X-Scenario": "stream?chunks=30&delay=0.1"},
                stream=True,
            ) as response:
                got["body"] = response.content

        thread = threading.Thread(target=slow_stream)
        thread.start()
        time.sleep(0.5)
        proxy.proc.send_signal(signal.SIGTERM)
        # Workers notice the stop within their 1 s heartbeat, then stop accepting.
        time.sleep(1.5)
        assert thread.is_alive()
        with pytest.raises(requests.ConnectionError):
            requests.get(proxy.url + "/health", timeout=2)
        thread.join(10)
        assert proxy.proc.wait(10) == 0
    assert got["body"].endswith(b"data: [DONE]\n\n")
    [record] = read_records(log_root)
    assert record["complete"] is True
    assert record["response"]["choices"][0]["message"]["content"] == expected_content(30)


def test_sigterm_past_graceful_timeout_still_writes_partial_record(upstream, log_root, tmp_path):
    with gunicorn(upstream.url, log_root, tmp_path, workers=1, PROXY_GRACEFUL_TIMEOUT="2") as proxy:

        def endless_stream() -> None:
            try:
                with requests.post(
                    proxy.url + "/v1/chat/completions",
                    json={"model": "m", "messages": MESSAGES, "stream": True, "user": "cut"},
                    headers={"X-Scenario": "stream?chunks=100&delay=0.1"},
                    stream=True,
                ) as response:
                    response.content  # noqa: B018
            except requests.RequestException:
                pass

        thread = threading.Thread(target=endless_stream)
        thread.start()
        time.sleep(0.5)
        proxy.proc.send_signal(signal.SIGTERM)
        proxy.proc.wait(15)
        thread.join(10)
    [record] = read_records(log_root)
    assert (record["complete"], record["error"]) == (False, "worker shutdown")
    assert record["response"]["choices"][0]["message"]["content"].startswith("tok0 tok1 ")


def test_sigint_quick_stop_still_writes_partial_record(upstream, log_root, tmp_path):
    with gunicorn(upstream.url, log_root, tmp_path, workers=1) as proxy:
        received = threading.Event()

        def stream() -> None:
            try:
                with requests.post(
                    proxy.url + "/v1/chat/completions",
                    json={"model": "m", "messages": MESSAGES, "stream": True, "user": "int"},
                    headers={"X-Scenario": "stream?chunks=100&delay=0.1"},
                    stream=True,
                ) as response:
                    for _ in response.iter_content(None):
                        received.set()
            except requests.RequestException:
                pass

        thread = threading.Thread(target=stream)
        thread.start()
        assert received.wait(10)
        time.sleep(0.3)
        proxy.proc.send_signal(signal.SIGINT)
        proxy.proc.wait(15)
        thread.join(10)
    [record] = read_records(log_root)
    assert (record["complete"], record["error"]) == (False, "worker shutdown")
    assert record["response"]["choices"][0]["message"]["content"].startswith("tok0 ")


def test_runner_serves_with_flags_and_dotenv(upstream, tmp_path):
    (tmp_path / ".env").write_text(
        f"PROXY_UPSTREAM_ENDPOINT={upstream.url}\nPROXY_LOG_ROOT=from-dotenv\n"
    )
    env = {k: v for k, v in proxy_env(upstream.url, tmp_path).items() if not k.startswith("PROXY_")}
    with runner(["--session-header", "X-Run,X-Other"], tmp_path, env) as proxy:
        with sdk(proxy, **{"X-Other": "via-header"}) as client:
            client.chat.completions.create(model="m", messages=MESSAGES)
    [record] = read_records(tmp_path / "from-dotenv")
    assert record["session_id"] == "via-header"


def test_runner_without_upstream_is_a_one_line_error(tmp_path):
    env = {k: v for k, v in proxy_env("http://x", tmp_path).items() if not k.startswith("PROXY_")}
    result = subprocess.run(
        [str(BIN / "albicilla-proxy")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "upstream" in result.stderr and "Traceback" not in result.stderr


def test_gunicorn_without_upstream_is_a_one_line_error(tmp_path):
    env = {k: v for k, v in proxy_env("http://x", tmp_path).items() if not k.startswith("PROXY_")}
    result = subprocess.run(
        [str(BIN / "gunicorn"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "PROXY_UPSTREAM_ENDPOINT" in result.stderr and "Traceback" not in result.stderr


def test_gunicorn_refuses_a_session_header_with_an_underscore(tmp_path):
    env = {**proxy_env("http://x", tmp_path), "PROXY_SESSION_HEADER": "X-Run,X_Session"}
    result = subprocess.run(
        [str(BIN / "gunicorn"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "'X_Session'" in result.stderr and "underscores" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["two", "0", "1.5"])
def test_a_malformed_worker_count_is_the_same_line_under_both_entry_points(tmp_path, value):
    env = {**proxy_env("http://127.0.0.1:9", tmp_path), "PROXY_WORKERS": value}
    lines = []
    for command, cwd in (
        ([str(BIN / "albicilla-proxy")], tmp_path),
        ([str(BIN / "gunicorn"), "wsgi:app"], ROOT),
    ):
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        lines.append(result.stderr)
    assert lines[0] == lines[1]
    assert "PROXY_WORKERS" in lines[0] or "workers" in lines[0]


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    sock.settimeout(10)
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _wait_for_record(log_root, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = read_records(log_root) if log_root.exists() else []
        if records:
            [record] = records
            return record
        time.sleep(0.05)
    raise AssertionError("no record written")
