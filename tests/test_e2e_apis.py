"""`/v1/responses`, `/v1/messages` and Gemini's `streamGenerateContent` through a real gunicorn,
driven by the official SDKs (Gemini by raw requests; tests/test_e2e_gemini.py has its SDK): every
guarantee the chat endpoint has (one line per exchange, written before the client's last byte,
cuts relayed as cuts, the proxy's own errors in each API's shape, hangups, SIGTERM, sessions,
no header value stored) holds for them too."""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest
import requests

from support import wire
from support.procs import (
    fake_upstream,
    free_port,
    gunicorn,
    session_records,
    wait_for,
    wait_records,
)
from support.sdk_oracles import responses_final, responses_partial
from support.wire import CHAT, GEMINI, GEMINI_LOGGED, MESSAGES, RESPONSES, expected_content

pytestmark = pytest.mark.e2e
NEW_APIS = [RESPONSES, MESSAGES]
ALL_APIS = (CHAT, RESPONSES, MESSAGES, GEMINI)
LOGGED = {CHAT: CHAT, RESPONSES: RESPONSES, MESSAGES: MESSAGES, GEMINI: GEMINI_LOGGED}
KEY = "sk-ant-api03-" + "k" * 40


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("apis") / "logs"


@pytest.fixture(scope="module")
def proxy(upstream, root, tmp_path_factory):
    with gunicorn(
        upstream.url,
        root,
        tmp_path_factory.mktemp("apis-proc"),
        workers=2,
        PROXY_READ_TIMEOUT="1",
        PROXY_MAX_BODY_BYTES="65536",
    ) as running:
        yield running


def new_session() -> str:
    return "s-" + uuid.uuid4().hex[:12]


def openai_client(proxy, scenario: str, session: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=proxy.url + "/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={"X-Scenario": scenario, "X-Session-Id": session},
    )


def anthropic_client(proxy, scenario: str, session: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=proxy.url,
        api_key=KEY,
        max_retries=0,
        default_headers={"X-Scenario": scenario, "X-Session-Id": session},
    )


def post(
    proxy, endpoint: str, scenario: str, session: str, *, stream: bool = False, **kwargs
) -> requests.Response:
    body = wire.request_body(endpoint, stream=stream) if stream else wire.request_body(endpoint)
    headers = {
        "X-Scenario": scenario,
        "X-Session-Id": session,
        "Connection": "close",
        **kwargs.pop("headers", {}),
    }
    kwargs.setdefault("timeout", 30)
    return requests.post(proxy.url + endpoint, json=body, headers=headers, **kwargs)


# --- whole exchanges, with the SDKs ---------------------------------------------------------------


def test_responses_stream_is_logged_as_the_terminal_response_before_the_sdk_returns(proxy, root):
    session = new_session()
    with openai_client(proxy, "stream?chunks=6&tools=2", session) as client:
        with client.responses.stream(model="m", input="Hi") as stream:
            final = stream.get_final_response()
        # Written before the client's last byte: there is no waiting here.
        [record] = session_records(root, session)
    assert final.output_text == expected_content(6)
    assert record["endpoint"] == RESPONSES and record["stream"] is True
    assert (record["status"], record["complete"], record["error"]) == (200, True, None)
    assert record["response"] == responses_final(final)  # what the SDK accumulated
    assert len(final.output) == 3  # the message and both calls: not two empty answers agreeing
    assert record["request"]["input"] == "Hi"  # as the SDK sent it


def test_responses_non_streaming_is_logged_as_received(proxy, root):
    session = new_session()
    with openai_client(proxy, "json", session) as client:
        response = client.responses.create(model="gpt-x", input="Hi")
    [record] = wait_records(root, session)
    assert response.output_text == "Hello!"
    assert record["response"] == response.model_dump(mode="json", exclude_unset=True)
    assert (record["endpoint"], record["stream"], record["complete"]) == (RESPONSES, False, True)


def test_messages_stream_is_logged_as_the_sdk_accumulates_it(proxy, root):
    session = new_session()
    with anthropic_client(proxy, "stream?chunks=5&tools=2", session) as client:
        with client.beta.messages.stream(
            model="m", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            final = stream.get_final_message()
        [record] = session_records(root, session)
    assert record["endpoint"] == MESSAGES and record["stream"] is True
    assert (record["status"], record["complete"], record["error"]) == (200, True, None)
    assert record["response"] == final.model_dump(mode="json", exclude_unset=True)
    assert final.content[1].input == {"x": 0} and len(final.content) == 3


def test_messages_non_streaming_with_query_string_is_logged(proxy, root, upstream):
    session = new_session()
    with anthropic_client(proxy, "json", session) as client:
        # Claude Code calls /v1/messages?beta=true (this SDK's beta client does not add it).
        message = client.beta.messages.create(
            model="claude-x",
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            extra_query={"beta": "true"},
        )
    [record] = wait_records(root, session)
    assert message.content[0].text == "Hello!"
    assert record["response"] == message.model_dump(mode="json", exclude_unset=True)
    assert record["endpoint"] == MESSAGES  # the path, without its query string
    seen = requests.get(upstream.url + "/_requests", timeout=5).json()
    assert any(
        r["path"] == "/v1/messages?beta=true" and r["headers"].get("x-session-id") == session
        for r in seen
    )


# --- upstream faults ------------------------------------------------------------------------------


def test_upstream_cut_reaches_the_sdk_as_a_connection_error(proxy, root):
    session = new_session()
    with openai_client(proxy, "cut?chunks=10&after=7", session) as client:
        with client.responses.stream(model="m", input="Hi") as stream:
            with pytest.raises(openai.APIConnectionError):
                stream.get_final_response()
            responses_sdk = responses_partial(stream._state)  # what it had when the read broke
    session2 = new_session()
    with anthropic_client(proxy, "cut?chunks=10&after=6", session2) as client:
        with client.messages.stream(
            model="m", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            # The anthropic SDK lets the transport's own error through a broken stream.
            with pytest.raises(httpx2.RemoteProtocolError):
                stream.get_final_message()
            messages_sdk = stream.current_message_snapshot.model_dump(
                mode="json", exclude_unset=True
            )
    [cut_responses] = wait_records(root, session)
    [cut_messages] = wait_records(root, session2)
    for record in (cut_responses, cut_messages):
        assert (record["status"], record["complete"]) == (200, False)
        assert record["error"] == "upstream connection lost"
    # The last snapshot plus what the deltas built, as each SDK accumulated it before the cut.
    assert cut_responses["response"] == responses_sdk
    assert cut_messages["response"] == messages_sdk
    assert wire.text_of(cut_responses) == wire.text_of(cut_messages) == "tok0 tok1 tok2 "


def test_read_timeout_mid_stream_ends_with_the_apis_own_error_frame(proxy, root):
    session = new_session()
    with openai_client(proxy, "stall?chunks=10&after=7&stall=3", session) as client:
        with client.responses.create(model="m", input="Hi", stream=True) as stream:
            events = list(stream)
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.id == "resp_fake"  # the stream's own id, or the SDK would reject it
    assert failed.sequence_number == events[-2].sequence_number + 1
    assert failed.response.error.code == "server_error"
    assert failed.response.error.message == "upstream read timeout"

    session2 = new_session()
    with anthropic_client(proxy, "stall?chunks=10&after=6&stall=3", session2) as client:
        with pytest.raises(anthropic.APIStatusError) as raised:
            with client.messages.stream(
                model="m", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
            ) as stream:
                stream.get_final_message()
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "timeout_error", "message": "upstream read timeout"},
    }
    session3 = new_session()
    answer = post(proxy, GEMINI, "stall?chunks=10&after=6&stall=3", session3)
    assert answer.content.startswith(b"".join(wire.stream_events(10, endpoint=GEMINI)[:6]))
    last = answer.content.rstrip().split(b"\n")[-1]
    assert json.loads(last.removeprefix(b"data: ")) == {
        "error": {"code": 504, "message": "upstream read timeout", "status": "DEADLINE_EXCEEDED"}
    }
    for name in (session, session2, session3):
        [record] = wait_records(root, name)
        assert (record["complete"], record["error"]) == (False, "upstream read timeout")


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        (RESPONSES, "upstream stream ended without response.completed"),
        (MESSAGES, "upstream stream ended without message_stop"),
    ],
)
def test_clean_end_before_the_terminal_event_is_relayed_as_is_and_incomplete(
    proxy, root, endpoint, reason
):
    session = new_session()
    response = post(proxy, endpoint, "sse?shape=truncated&after=6", session, stream=True)
    assert response.content == b"".join(wire.stream_events(5, endpoint=endpoint)[:6])
    [record] = wait_records(root, session)
    assert (record["status"], record["complete"], record["error"]) == (200, False, reason)


@pytest.mark.parametrize(
    ("endpoint", "kind", "reason"),
    [
        (MESSAGES, "overloaded", "upstream error event"),
        (RESPONSES, "flat", "upstream error event"),
        (RESPONSES, "nested", "upstream error event"),
        (RESPONSES, "failed", "upstream response failed: rate_limit_exceeded"),
    ],
)
def test_in_band_errors_are_relayed_and_recorded(proxy, root, endpoint, kind, reason):
    session = new_session()
    response = post(proxy, endpoint, f"inband?kind={kind}&after=4", session, stream=True)
    assert response.content.endswith(wire.in_band_error(kind))  # relayed as sent, nothing added
    [record] = wait_records(root, session)
    assert (record["status"], record["complete"]) == (200, False)
    assert record["error"].startswith(reason)


@pytest.mark.parametrize("endpoint", NEW_APIS)
def test_upstream_error_status_is_passed_through_and_logged(proxy, root, endpoint):
    session = new_session()
    response = post(proxy, endpoint, "status?code=529", session)
    assert response.status_code == 529
    assert response.json() == wire.error_answer(endpoint, 529)
    [record] = wait_records(root, session)
    assert (record["status"], record["response"]) == (529, wire.error_answer(endpoint, 529))


def test_anthropic_sdk_raises_its_own_exceptions_for_the_proxys_errors(proxy, root):
    session = new_session()
    with anthropic_client(proxy, "sleep?delay=3", session) as client:
        with pytest.raises(anthropic.InternalServerError) as timed_out:
            client.messages.create(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        with pytest.raises(anthropic.RequestTooLargeError) as too_large:
            client.messages.create(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "x" * 70000}]
            )
    assert timed_out.value.status_code == 504
    assert timed_out.value.body["error"]["type"] == "timeout_error"
    assert timed_out.value.body["error"]["message"].startswith("upstream timed out")
    assert too_large.value.body == {
        "type": "error",
        "error": {
            "type": "request_too_large",
            "message": "The request body is larger than the 65536-byte limit.",
        },
    }
    [record] = wait_records(root, session)  # the 413 never reached the upstream nor the log
    assert (record["status"], record["complete"]) == (504, False)
    assert record["response"]["type"] == "error"


@pytest.mark.parametrize(("endpoint", "shape"), [(RESPONSES, "openai"), (MESSAGES, "anthropic")])
def test_bad_bodies_are_refused_in_the_apis_shape_and_never_logged(proxy, root, endpoint, shape):
    session = new_session()
    cases = [
        (b"{not json", {}, 400),
        (b"[1]", {}, 400),
        (gzip.compress(b'{"model": "m"}'), {"Content-Encoding": "gzip"}, 415),
        (b'{"pad": "' + b"x" * 70000 + b'"}', {}, 413),
    ]
    for body, extra, status in cases:
        response = requests.post(
            proxy.url + endpoint,
            data=body,
            timeout=10,
            headers={"Content-Type": "application/json", "X-Session-Id": session, **extra},
        )
        assert response.status_code == status, (body[:20], response.text)
        error = response.json()
        if shape == "anthropic":
            kind = {
                400: "invalid_request_error",
                415: "invalid_request_error",
                413: "request_too_large",
            }[status]
            assert error["type"] == "error" and error["error"]["type"] == kind
            assert set(error["error"]) == {"type", "message"} and error["error"]["message"]
        else:
            assert set(error["error"]) == {"message", "type", "param", "code"}
    time.sleep(0.3)
    assert session_records(root, session) == []


def test_unreachable_upstreams_give_502_in_each_apis_shape(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    with gunicorn(dead, tmp_path / "logs", tmp_path, workers=1) as proxy:
        answers = {
            path: requests.post(
                proxy.url + path,
                json=wire.request_body(wire.api_of(path)),
                headers={"X-Session-Id": "dead"},
                timeout=10,
            )
            for path in (CHAT, RESPONSES, MESSAGES, "/v1/messages/count_tokens")
        }
        records = wait_records(tmp_path / "logs", "dead", 3)
    for path, answer in answers.items():
        assert answer.status_code == 502
        if path.startswith(MESSAGES):
            assert answer.json()["type"] == "error"
            assert answer.json()["error"]["type"] == "api_error"
            assert answer.json()["error"]["message"].startswith("upstream unreachable")
        else:
            assert answer.json()["error"]["code"] == "upstream_unavailable"
    assert sorted(r["endpoint"] for r in records) == sorted([CHAT, RESPONSES, MESSAGES])
    assert all(r["status"] == 502 and r["complete"] is False for r in records)


# --- clients that leave ---------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", [*NEW_APIS, GEMINI])
def test_client_gone_on_a_silent_upstream_ends_the_exchange_at_once(
    proxy, root, upstream, endpoint
):
    session, tag = new_session(), uuid.uuid4().hex
    body = json.dumps(wire.request_body(endpoint, stream=True))
    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        sock.sendall(
            f"POST {endpoint} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Session-Id: {session}\r\n"
            f"X-Scenario: watch?chunks=100&delay=4&tag={tag}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
        )
        received = b""
        # The first event (Gemini ends its events with CRLF CRLF), then four silent seconds.
        while not any(end in received.partition(b"\r\n\r\n")[2] for end in (b"\n\n", b"\r\n\r\n")):
            received += sock.recv(65536)
    left = time.monotonic()
    [record] = wait_records(root, session, timeout=3)
    assert time.monotonic() - left < 2.0  # not after the upstream's next event
    assert (record["complete"], record["error"]) == (False, "client disconnected")
    seen = wait_for(
        lambda: [
            e for e in requests.get(upstream.url + "/_events", timeout=5).json() if e["tag"] == tag
        ],
        timeout=10,
    )
    # The upstream was released: its next write after the silence went to a closed connection
    # (that one write can still land in the kernel's buffer; the one after it fails).
    assert seen[0]["client_gone"] is True and seen[0]["sent"] <= 2


# --- many at once, and stopping ------------------------------------------------------------------


def test_concurrent_streams_of_all_four_apis_into_one_session_leave_one_line_each(proxy, root):
    session, count = new_session(), 120

    def call(i: int) -> str:
        endpoint = ALL_APIS[i % 4]
        body = wire.request_body(endpoint, f"n{i}", stream=True)
        with requests.post(
            proxy.url + endpoint,
            json=body,
            timeout=60,
            headers={"X-Scenario": "stream?chunks=10&delay=0.01", "X-Session-Id": session},
        ) as r:
            return r.text

    with ThreadPoolExecutor(45) as pool:
        list(pool.map(call, range(count)))
    records = wait_records(root, session, count)
    assert all(r["complete"] and wire.text_of(r) == expected_content(10) for r in records)
    by_endpoint = {e: sum(r["endpoint"] == LOGGED[e] for r in records) for e in ALL_APIS}
    assert by_endpoint == dict.fromkeys(ALL_APIS, 30)


def test_sigterm_lets_streams_of_every_api_finish(upstream, tmp_path):
    log_root = tmp_path / "logs"
    bodies: dict[str, str] = {}
    started = threading.Semaphore(0)

    def slow(endpoint: str) -> None:
        body = wire.request_body(endpoint, stream=True)
        with requests.post(
            proxy.url + endpoint,
            json=body,
            stream=True,
            timeout=60,
            headers={"X-Scenario": "stream?chunks=30&delay=0.1", "X-Session-Id": "stopping"},
        ) as r:
            pieces = r.iter_content(None)
            first = next(pieces)
            started.release()
            bodies[endpoint] = (first + b"".join(pieces)).decode()

    with gunicorn(
        upstream.url, log_root, tmp_path, workers=2, PROXY_GRACEFUL_TIMEOUT="20"
    ) as proxy:
        threads = [threading.Thread(target=slow, args=(e,)) for e in ALL_APIS]
        for thread in threads:
            thread.start()
        for _ in threads:
            assert started.acquire(timeout=20)
        proxy.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(40)
        assert proxy.proc.wait(30) == 0
    last_responses_event = bodies[RESPONSES].rstrip().split("\n")[-1]
    assert last_responses_event.startswith('data: {"type": "response.completed"')
    assert bodies[MESSAGES].rstrip().endswith('data: {"type": "message_stop"}')
    assert bodies[GEMINI].endswith(wire.stream_events(30, endpoint=GEMINI)[-1].decode())
    records = session_records(log_root, "stopping")
    assert len(records) == 4
    assert all(r["complete"] and wire.text_of(r) == expected_content(30) for r in records)


# --- sessions, upstreams, secrets ----------------------------------------------------------------


def test_client_session_ids_and_keys_pick_the_file_and_no_header_value_is_written(tmp_path):
    cc_session = str(uuid.uuid4())
    codex_thread = str(uuid.uuid4())
    device = "d" * 64
    log_root = tmp_path / "logs"
    with (
        fake_upstream() as openai_up,
        fake_upstream() as anthropic_up,
        gunicorn(
            openai_up.url, log_root, tmp_path, workers=2, PROXY_ANTHROPIC_ENDPOINT=anthropic_up.url
        ) as proxy,
    ):

        def messages(headers: dict, metadata: dict | None = None, path: str = MESSAGES) -> None:
            body = wire.request_body(MESSAGES, **({"metadata": metadata} if metadata else {}))
            answer = requests.post(
                proxy.url + path,
                json=body,
                timeout=10,
                headers={
                    "x-api-key": KEY,
                    "anthropic-version": "2023-06-01",
                    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
                    **headers,
                },
            )
            assert answer.status_code == 200, answer.text

        # Claude Code: main loop and title side call share the header and the metadata session.
        new_form = json.dumps({"device_id": device, "account_uuid": "", "session_id": cc_session})
        messages(
            {"X-Claude-Code-Session-Id": cc_session}, {"user_id": new_form}, MESSAGES + "?beta=true"
        )
        messages({}, {"user_id": new_form})
        messages({}, {"user_id": f"user_{device}_account__session_{cc_session}"})
        messages({})  # nothing but the key
        # Codex: prompt_cache_key, else the session-id header.
        for body_key, header in ((codex_thread, None), (None, codex_thread)):
            body = wire.request_body(
                RESPONSES, **({"prompt_cache_key": body_key} if body_key else {})
            )
            answer = requests.post(
                proxy.url + RESPONSES,
                json=body,
                timeout=10,
                headers={
                    "Authorization": "Bearer sk-codex-secret",
                    **({"session-id": header} if header else {}),
                },
            )
            assert answer.status_code == 200
        wait_records(log_root, cc_session, 3)
        wait_records(log_root, codex_thread, 2)
        key_session = "key-" + hashlib.sha256(KEY.encode()).hexdigest()[:16]
        wait_records(log_root, key_session, 1)
        seen_anthropic = requests.get(anthropic_up.url + "/_requests", timeout=5).json()
        seen_openai = requests.get(openai_up.url + "/_requests", timeout=5).json()
        stderr = proxy.stderr()
    assert len(seen_anthropic) == 4 and all(r["path"].startswith(MESSAGES) for r in seen_anthropic)
    assert len(seen_openai) == 2 and all(r["path"] == RESPONSES for r in seen_openai)
    for headers in (r["headers"] for r in seen_anthropic):
        assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
        assert headers["anthropic-beta"].startswith("claude-code-20250219")
    assert seen_openai[0]["headers"]["authorization"] == "Bearer sk-codex-secret"
    logged = b"".join(p.read_bytes() for p in log_root.rglob("*") if p.is_file())
    haystack = stderr.encode() + logged
    for secret in (KEY, "sk-codex-secret", "interleaved-thinking"):
        assert secret.encode() not in haystack


def test_streams_still_open_at_the_graceful_deadline_get_the_apis_error_frame(upstream, tmp_path):
    log_root = tmp_path / "logs"
    outcomes: dict[str, object] = {}
    scenario = "stream?chunks=100&delay=0.1"

    def run_chat() -> None:
        with openai_client(proxy, scenario, "stopped") as client:
            try:
                for _ in client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
                ):
                    pass
            except openai.APIError as exc:
                outcomes[CHAT] = exc

    def run_responses() -> None:
        with openai_client(proxy, scenario, "stopped") as client:
            with client.responses.create(model="m", input="Hi", stream=True) as stream:
                outcomes[RESPONSES] = list(stream)[-1]

    def run_messages() -> None:
        with anthropic_client(proxy, scenario, "stopped") as client:
            try:
                with client.messages.stream(
                    model="m", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
                ) as s:
                    s.get_final_message()
            except anthropic.APIStatusError as exc:
                outcomes[MESSAGES] = exc

    def run_gemini() -> None:
        outcomes[GEMINI] = post(proxy, GEMINI, scenario, "stopped").content

    with gunicorn(upstream.url, log_root, tmp_path, workers=1, PROXY_GRACEFUL_TIMEOUT="3") as proxy:
        threads = [
            threading.Thread(target=f) for f in (run_chat, run_responses, run_messages, run_gemini)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        proxy.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(20)
        proxy.proc.wait(20)
    assert isinstance(outcomes[CHAT], openai.APIError)
    assert outcomes[CHAT].message == "the proxy is shutting down"
    failed = outcomes[RESPONSES]
    assert failed.type == "response.failed" and failed.response.id == "resp_fake"
    assert failed.response.error.message == "the proxy is shutting down"
    assert outcomes[MESSAGES].body == {
        "type": "error",
        "error": {"type": "api_error", "message": "the proxy is shutting down"},
    }
    last = outcomes[GEMINI].rstrip().split(b"\n")[-1]
    assert json.loads(last.removeprefix(b"data: ")) == {
        "error": {"code": 503, "message": "the proxy is shutting down", "status": "UNAVAILABLE"}
    }
    records = session_records(log_root, "stopped")
    assert sorted(r["endpoint"] for r in records) == sorted(LOGGED.values())
    for record in records:
        assert (record["complete"], record["error"]) == (False, "worker shutdown")
        assert wire.text_of(record).startswith("tok0 tok1 ")


def test_redact_logs_leaves_no_planted_secret_under_the_log_root(upstream, tmp_path):
    log_root = tmp_path / "logs"
    secrets = [
        "sk-proj-" + "Ab3" * 16,
        "ghp_" + "x7Y" * 12,
        "AKIAIOSFODNN7EXAMPLE",
        "hf_" + "QwErTy" * 6,
    ]
    text = "Deploy with " + " and ".join(secrets) + " please."
    with gunicorn(upstream.url, log_root, tmp_path, workers=1, PROXY_REDACT_LOGS="1") as proxy:
        for endpoint in (CHAT, RESPONSES, MESSAGES):
            for stream in (False, True):
                body = wire.request_body(endpoint, text, **({"stream": True} if stream else {}))
                answer = requests.post(
                    proxy.url + endpoint,
                    json=body,
                    timeout=10,
                    headers={
                        "X-Session-Id": "redacted",
                        "X-Scenario": "stream" if stream else "json",
                    },
                )
                assert answer.status_code == 200
        records = wait_records(log_root, "redacted", 6)
        seen = requests.get(upstream.url + "/_requests", timeout=5).json()
    logged = b"".join(p.read_bytes() for p in log_root.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret.encode() not in logged
        # What went upstream is untouched.
        assert sum(secret in r["body"] for r in seen) >= 6
    assert all("[REDACTED:" in json.dumps(r["request"]) for r in records)
