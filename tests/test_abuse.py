"""Abuse the proxy must refuse, against a real gunicorn: secrets never written, session ids that
never leave the log root, no call to any host but the configured upstream, and bad bodies that
never hurt a worker."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests

from albicilla.proxy.sessions import session_file_name
from support.procs import (
    fake_upstream,
    gunicorn,
    raw_exchange,
    session_records,
    wait_for,
    wait_records,
    watched_server,
    worker_pids,
)

pytestmark = pytest.mark.e2e
CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Say hello"}]
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.jsonl")


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as running:
        yield running


def upstream_requests(upstream) -> list[dict]:
    return requests.get(upstream.url + "/_requests", timeout=5).json()


def clear_upstream(upstream) -> None:
    requests.delete(upstream.url + "/_requests", timeout=5)


def http(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """One request as raw bytes (HTTP/1.1, Connection: close); `target` is sent as written."""
    lines = [f"{method} {target} HTTP/1.1", "Connection: close"]
    headers = {"Host": "proxy.test", **(headers or {})}
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        headers["Content-Length"] = str(len(body))
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def json_of(answer: bytes) -> dict:
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return json.loads(body)


def _dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += rest[:size]
        body = rest[size + 2 :]


def assert_openai_error(answer: bytes, status: int) -> dict:
    assert status_of(answer) == status, answer[:500]
    error = json_of(answer)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def assert_still_serving(proxy, pids: set[int]) -> None:
    answer = raw_exchange(proxy.port, http("GET", "/health"))
    assert status_of(answer) == 200 and json_of(answer) == {"status": "ok"}
    body = json.dumps({"model": "m", "messages": MESSAGES, "user": "still-" + uuid.uuid4().hex})
    answer = raw_exchange(
        proxy.port, http("POST", CHAT, {"Content-Type": "application/json"}, body.encode())
    )
    assert status_of(answer) == 200
    assert json_of(answer)["choices"][0]["message"]["content"] == "Hello!"
    assert worker_pids(proxy) == pids


def stderr_mentions(proxy, text: str, count: int) -> bool:
    wait_for(lambda: proxy.stderr().count(text) >= count)
    return True


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


# --- 1. secrets ---------------------------------------------------------------------------------


def test_no_secret_reaches_the_log_tree_or_the_process_logs(upstream, tmp_path):
    def secret(prefix: str) -> str:
        return prefix + uuid.uuid4().hex

    key, org, project = secret("sk-proj-"), secret("org-"), secret("proj_")
    cookie, azure, custom = secret("ck"), secret("az"), secret("cu")
    proxy_pass, session_cookie = secret("pp"), secret("sc")
    secrets = [key, org, project, cookie, azure, custom, proxy_pass, session_cookie]
    headers = {
        "Authorization": f"Bearer {key}",
        "OpenAI-Organization": org,
        "OpenAI-Project": project,
        "Cookie": f"session={cookie}; theme=dark; sid={session_cookie}",
        "api-key": azure,
        "X-Custom-Token": custom,
        "Proxy-Authorization": "Basic " + base64.b64encode(f"u:{proxy_pass}".encode()).decode(),
    }
    key_session = "key-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    log_root = tmp_path / "logs"
    # One session file the store cannot write, so the failure report is part of the haystack.
    (log_root / today() / "unwritable.jsonl").mkdir(parents=True)

    def call(
        scenario: str, *, stream: bool = False, user: str | None = None, path: str = CHAT
    ) -> requests.Response:
        body: dict = {"model": "m", "messages": MESSAGES}
        if stream:
            body["stream"] = True
        if user:
            body["user"] = user
        return requests.post(
            proxy.url + path,
            json=body,
            timeout=30,
            headers={**headers, "X-Scenario": scenario, "Connection": "close"},
        )

    with gunicorn(
        upstream.url,
        log_root,
        tmp_path,
        workers=2,
        PROXY_READ_TIMEOUT="1",
        PROXY_MAX_BODY_BYTES="65536",
    ) as proxy:
        clear_upstream(upstream)
        assert call("json").status_code == 200
        assert call("stream?chunks=5", stream=True).content.endswith(b"[DONE]\n\n")
        assert call("status?code=401").status_code == 401
        assert call("status?code=429", stream=True).status_code == 429
        assert call("html?code=502").status_code == 502
        assert call("empty").status_code == 502
        assert call("reset").status_code == 502
        with pytest.raises(requests.exceptions.ChunkedEncodingError):  # broken as upstream's
            call("cut?chunks=9&after=3", stream=True)
        assert b"read timeout" in call("stall?chunks=9&after=3&stall=3", stream=True).content
        assert call("sleep?delay=3").status_code == 504
        assert call("json", user="unwritable").status_code == 200
        assert call("json", path="/v1/embeddings").status_code == 200
        assert call("stream?chunks=3", path="/v1/responses").status_code == 200
        models = requests.get(
            proxy.url + "/v1/models?limit=1", timeout=10, headers={**headers, "Connection": "close"}
        )
        assert models.status_code == 200
        bad = {**headers, "Content-Type": "application/json", "Connection": "close"}
        for body, extra, status in [
            (b"{not json", {}, 400),
            (b"[1]", {}, 400),
            (gzip.compress(b'{"model": "m"}'), {"Content-Encoding": "gzip"}, 415),
            (b'{"pad": "' + b"x" * 70000 + b'"}', {}, 413),
        ]:
            response = requests.post(
                proxy.url + CHAT, data=body, headers={**bad, **extra}, timeout=10
            )
            assert response.status_code == status
        assert requests.get(proxy.url + "/v2/nothing", headers=bad, timeout=10).status_code == 404
        # A client that leaves mid-stream, its headers sent on a raw socket.
        raw = http(
            "POST",
            CHAT,
            {
                **headers,
                "Content-Type": "application/json",
                "X-Scenario": "stream?chunks=50&delay=0.05",
            },
            json.dumps(
                {"model": "m", "messages": MESSAGES, "stream": True, "user": "leaver"}
            ).encode(),
        )
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(raw)
            sock.recv(100)
        wait_records(log_root, "leaver")
        # Malformed header lines carrying the key: gunicorn rejects them, and logs why.
        for line in [
            f"Authorization Bearer {key}",
            f"Authorization Bearer {key}: x",
            f"Authorization: Bearer {key}\x01",
            f"X-Folded: a\r\n  {key}",
        ]:
            answer = raw_exchange(
                proxy.port,
                http("GET", "/health").replace(
                    b"Connection: close\r\n", b"Connection: close\r\n" + line.encode() + b"\r\n"
                ),
            )
            assert status_of(answer) == 400, line
        assert stderr_mentions(proxy, "Invalid request from ip=", 4)
        wait_for(lambda: "record lost" in proxy.stderr())
        seen_by_upstream = upstream_requests(upstream)
        wait_records(log_root, key_session, count=11)  # 10 chat records, 1 of /v1/responses
        stderr = proxy.stderr()

    # The calls did carry the secrets to the upstream, so their absence below means something.
    assert any(r["headers"].get("authorization") == f"Bearer {key}" for r in seen_by_upstream)
    assert any(cookie in r["headers"].get("cookie", "") for r in seen_by_upstream)
    assert all("proxy-authorization" not in r["headers"] for r in seen_by_upstream)
    files = [p for p in log_root.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == sorted([f"{key_session}.jsonl", "leaver.jsonl"])
    haystacks = [("stderr", stderr.encode())]
    haystacks += [
        (str(p), str(p.relative_to(log_root)).encode() + b"\n" + p.read_bytes()) for p in files
    ]
    for name, text in haystacks:
        for value in secrets:
            assert value.encode() not in text, f"{value} found in {name}"
            assert base64.b64encode(value.encode()) not in text
    assert re.fullmatch(r"key-[0-9a-f]{16}", key_session)
    assert (log_root / today() / f"{key_session}.jsonl").is_file()
    for record in session_records(log_root, key_session):
        assert record["session_id"] == key_session


# --- 2. paths -----------------------------------------------------------------------------------

MESSAGES_PATH = "/v1/messages"
RESPONSES_PATH = "/v1/responses"
GEMINI_PATH = "/v1beta/models/m:streamGenerateContent?alt=sse"
HOSTILE_IDS = [
    "../escape",
    "../../../../../../tmp/escaped",
    "/etc/passwd",
    "/tmp/absolute",
    ".",
    "..",
    "...",
    "./.",
    "a/../../b",
    "a\\..\\..\\b",
    "C:\\Windows\\x",
    "nul\u0000byte",
    "\u0000",
    "x" * 5000,
    "y" * 128,
    "z" * 129,
    "alice",
    "Alice",
    "\uff41\uff4c\uff49\uff43\uff45",
    "\u202ealice",
    "alice\u200b",
    "al\u0131ce",
    "a\u0301",
    "\u00e1",
    "\ud800",
    "\udfff\ud800",
    "sess\n2",
    "sess\r\n",
    "\U0001f600",
    "%2e%2e%2f",
    "~root",
    "$(id)",
    ".hidden",
    "-rf",
    "con",
    "a-b",
    "a/b",
    "a b",
    "a_b",
    "a.b",
    "a-b-0123456789ab",
    "session-0123456789ab",
    "a-b-" + hashlib.sha256(b"a/b").hexdigest()[:12],
    "unwritable.jsonl",
    "\t",
    " ",
    "\\",
]


def test_hostile_session_ids_stay_inside_the_root_one_file_each(upstream, tmp_path):
    log_root = tmp_path / "box" / "logs"
    header_ids = [
        "../h-escape",
        "/h/abs",
        "..",
        ".",
        "h\\..\\x",
        "x" * 4000,
        "\xef\xbc\xa1h-latin1",
        "h;rm -rf /",
        "h%00nul",
    ]
    with gunicorn(upstream.url, log_root, tmp_path, workers=2) as proxy:
        pids = worker_pids(proxy)
        for session in HOSTILE_IDS:
            # ensure_ascii: NUL and lone surrogates travel as \u escapes, as a client sends them.
            body = json.dumps({"model": "m", "messages": MESSAGES, "user": session})
            answer = raw_exchange(
                proxy.port, http("POST", CHAT, {"Content-Type": "application/json"}, body.encode())
            )
            assert status_of(answer) == 200, session
        for session in header_ids:
            body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
            answer = raw_exchange(
                proxy.port,
                http(
                    "POST",
                    CHAT,
                    {"Content-Type": "application/json", "X-Session-Id": session},
                    body,
                ),
            )
            assert status_of(answer) == 200, session
        # The clients' own session ids: Claude Code's metadata.user_id (both forms) and header,
        # Codex's prompt_cache_key.
        client_ids = []
        for i, session in enumerate(HOSTILE_IDS[:16]):
            cc, old, codex = f"cc{i}/{session}", f"old{i}/{session}", f"codex{i}/{session}"
            client_ids += [cc, old, codex]
            user_id = json.dumps({"device_id": "d", "account_uuid": "", "session_id": cc})
            bodies = [
                (
                    MESSAGES_PATH,
                    {
                        "model": "m",
                        "max_tokens": 8,
                        "messages": MESSAGES,
                        "metadata": {"user_id": user_id},
                    },
                ),
                (
                    MESSAGES_PATH,
                    {
                        "model": "m",
                        "max_tokens": 8,
                        "messages": MESSAGES,
                        "metadata": {"user_id": f"user_x_account__session_{old}"},
                    },
                ),
                (RESPONSES_PATH, {"model": "m", "input": "hi", "prompt_cache_key": codex}),
            ]
            for path, payload in bodies:
                answer = raw_exchange(
                    proxy.port,
                    http(
                        "POST",
                        path,
                        {"Content-Type": "application/json"},
                        json.dumps(payload).encode(),
                    ),
                )
                assert status_of(answer) == 200, (path, session)
        for session in header_ids[:5]:
            answer = raw_exchange(
                proxy.port,
                http(
                    "POST",
                    MESSAGES_PATH,
                    {
                        "Content-Type": "application/json",
                        "X-Claude-Code-Session-Id": "cch" + session,
                    },
                    json.dumps({"model": "m", "max_tokens": 8, "messages": MESSAGES}).encode(),
                ),
            )
            assert status_of(answer) == 200, session
            client_ids.append("cch" + session)
        everyone = HOSTILE_IDS + header_ids + client_ids
        wait_for(lambda: len(list(log_root.rglob("*.jsonl"))) >= len(set(everyone)))
        time.sleep(0.2)
        assert_still_serving(proxy, pids)
    # Nothing outside the log root (the gunicorn stderr file aside), nothing deeper than a day.
    outside = [
        p
        for p in tmp_path.rglob("*")
        if not p.is_relative_to(log_root) and p.name != "box" and not p.name.startswith("gunicorn-")
    ]
    assert outside == []
    assert not Path("/tmp/absolute.jsonl").exists() and not Path("/tmp/escaped.jsonl").exists()
    files = sorted(log_root.rglob("*.jsonl"))
    for path in files:
        assert path.parent.parent == log_root
        assert FILE_NAME.fullmatch(path.name), path.name
        assert len(path.name.encode()) <= 255
        assert path.resolve().is_relative_to(log_root.resolve())
    by_session: dict[str, set[Path]] = {}
    for path in files:
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b""
        for line in lines[:-1]:
            by_session.setdefault(json.loads(line)["session_id"], set()).add(path)
    # Every id kept exactly as given, each in one file of its own (the "still" probe aside).
    probes = [s for s in by_session if s.startswith("still-")]
    assert sorted(set(by_session) - set(probes)) == sorted(set(everyone))
    assert all(len(paths) == 1 for paths in by_session.values())
    assert len(files) == len(set(everyone)) + len(probes)


def test_symlinks_in_the_log_tree_are_never_followed(upstream, tmp_path):
    log_root = tmp_path / "logs"
    day_dir = log_root / today()
    day_dir.mkdir(parents=True)
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (day_dir / "victim.jsonl").symlink_to(target)
    with gunicorn(upstream.url, log_root, tmp_path, workers=1) as proxy:
        body = json.dumps({"model": "m", "messages": MESSAGES, "user": "victim"}).encode()
        answer = raw_exchange(proxy.port, http("POST", CHAT, {}, body))
        assert status_of(answer) == 200
        wait_for(lambda: "record lost" in proxy.stderr())
        stderr = proxy.stderr()
    assert target.read_text() == "keep me\n"
    assert "victim.jsonl" in stderr


# --- 3. not an open proxy -----------------------------------------------------------------------


def test_no_request_reaches_any_host_but_the_configured_upstream(upstream, tmp_path):
    log_root = tmp_path / "logs"
    # The Anthropic and Gemini upstreams are configured apart (the same fake, by another name).
    anthropic_up = upstream.url.replace("127.0.0.1", "localhost")
    with (
        watched_server() as evil,
        gunicorn(
            upstream.url,
            log_root,
            tmp_path,
            workers=2,
            PROXY_ANTHROPIC_ENDPOINT=anthropic_up,
            PROXY_GEMINI_ENDPOINT=anthropic_up,
        ) as proxy,
    ):
        pids = worker_pids(proxy)
        other = f"127.0.0.1:{evil.port}"
        body = json.dumps({"model": "m", "messages": MESSAGES, "user": "tricks"}).encode()
        gbody = json.dumps({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}).encode()
        json_headers = {"Content-Type": "application/json"}
        attempts = [
            http("GET", f"http://{other}/v1/models", {"Host": other}),
            http("GET", f"http://user:pw@{other}/v1/models"),
            http("GET", f"https://{other}/v1/models"),
            http("POST", f"http://{other}{CHAT}", {**json_headers, "Host": other}, body),
            http("GET", "/v1/models", {"Host": other}),
            http("POST", CHAT, {**json_headers, "Host": other}, body),
            http(
                "GET",
                "/v1/models",
                {
                    "X-Forwarded-Host": other,
                    "X-Forwarded-Proto": "http",
                    "X-Forwarded-Port": str(evil.port),
                    "Forwarded": f"host={other};proto=http",
                    "X-Original-URL": f"http://{other}/v1/models",
                    "X-Rewrite-URL": "/admin",
                    "X-Forwarded-Server": other,
                    "X-Host": other,
                },
            ),
            http("GET", "/v1/../admin"),
            http("GET", "/v1/%2e%2e/admin"),
            http("GET", "/v1/%2E%2E/%2E%2E/admin"),
            http("GET", "/v1/..%2fadmin"),
            http("GET", "/v1/models%2F..%2F..%2Fadmin"),
            http("GET", f"/v1/%2F%2F{other}/v1/models"),
            http("GET", f"//{other}/v1/models"),
            http("GET", f"/v1//{other}/v1/models"),
            http("GET", f"/v1/@{other}/"),
            http("GET", f"/v1/http://{other}/v1/models"),
            http("GET", f"/v1/models?url=http://{other}/&next=//{other}"),
            http("GET", f"/v1/models#@{other}"),
            http("GET", "/v1/\\\\127.0.0.1/x"),
            http("CONNECT", f"{other}", {"Host": other}),
            http("OPTIONS", "*"),
            http("POST", f"http://{other}{MESSAGES_PATH}", {**json_headers, "Host": other}, body),
            http(
                "POST",
                MESSAGES_PATH + f"?url=http://{other}/",
                {**json_headers, "Host": other},
                body,
            ),
            http("POST", f"{MESSAGES_PATH}/..%2f..%2f{other}", json_headers, body),
            http("POST", f"{MESSAGES_PATH}//{other}/v1/messages", json_headers, body),
            http("POST", RESPONSES_PATH, {**json_headers, "X-Forwarded-Host": other}, body),
            # Gemini's paths: the model is a path segment, the method follows a ':'.
            http("POST", f"http://{other}{GEMINI_PATH}", {**json_headers, "Host": other}, gbody),
            http("POST", GEMINI_PATH, {**json_headers, "Host": other}, gbody),
            http("POST", GEMINI_PATH + f"&url=http://{other}/&key=k", json_headers, gbody),
            http(
                "POST",
                GEMINI_PATH,
                {**json_headers, "X-Forwarded-Host": other, "Forwarded": f"host={other}"},
                gbody,
            ),
            http(
                "POST", f"/v1beta/../{other}/v1beta/models/m:generateContent", json_headers, gbody
            ),
            http("POST", "/v1beta/models/..%2f..%2fadmin:generateContent", json_headers, gbody),
            http("POST", f"/v1beta/models/%2F%2F{other}%2Fm:generateContent", json_headers, gbody),
            http("POST", f"/v1beta//{other}/v1beta/models/m:generateContent", json_headers, gbody),
            http(
                "POST",
                f"/v1beta/models/http://{other}/m:streamGenerateContent?alt=sse",
                json_headers,
                gbody,
            ),
            http("POST", f"/v1beta/models/m@{other}:generateContent", json_headers, gbody),
            http("POST", f"/v1/models/..%2F..%2F{other}:generateContent", json_headers, gbody),
            http("GET", f"/v1beta/models/%2E%2E/%2E%2E/{other}"),
            http("GET", f"//{other}/v1beta/models"),
        ]
        clear_upstream(upstream)
        answers = [raw_exchange(proxy.port, attempt) for attempt in attempts]
        # The upstream answers with a redirect to the other server: never followed. A chat
        # completion that is not JSON becomes a 502; other paths pass the 302 on as it came.
        chat_redirect = raw_exchange(
            proxy.port,
            http(
                "POST",
                CHAT,
                {**json_headers, "X-Scenario": f"redirect?to=http://{other}/v1/x"},
                body,
            ),
        )
        passed_redirect = raw_exchange(
            proxy.port,
            http("GET", "/v1/models", {"X-Scenario": f"redirect?to=http://{other}/v1/models"}),
        )
        gemini_redirect = raw_exchange(
            proxy.port,
            http(
                "POST",
                GEMINI_PATH,
                {**json_headers, "X-Scenario": f"redirect?to=http://{other}/v1beta/x"},
                gbody,
            ),
        )
        assert_still_serving(proxy, pids)
        seen = upstream_requests(upstream)
    assert (evil.connections, evil.received) == (0, b"")
    for attempt, answer in zip(attempts, answers, strict=True):
        assert answer == b"" or status_of(answer) < 500, (attempt, answer[:300])
    assert assert_openai_error(chat_redirect, 502)["code"] == "upstream_invalid_response"
    assert status_of(passed_redirect) == 302
    assert f"Location: http://{other}/v1/models".encode() in passed_redirect
    # A logged Gemini call answered with a redirect is not followed: a Google-shaped 502.
    assert status_of(gemini_redirect) == 502, gemini_redirect[:300]
    error = json.loads(gemini_redirect.split(b"\r\n\r\n", 1)[1])["error"]
    assert (error["code"], error["status"]) == (502, "UNAVAILABLE")
    assert seen
    assert any(call["path"].startswith("/v1beta/models/") for call in seen)
    for call in seen:
        path = unquote(call["path"].split("?")[0])
        assert path.startswith(("/v1/", "/v1beta/")), call["path"]
        assert ".." not in path.split("/"), call["path"]


# --- 4. bad bodies ------------------------------------------------------------------------------


def test_bad_bodies_get_clear_errors_and_never_hurt_a_worker(upstream, tmp_path):
    log_root = tmp_path / "logs"
    limit = 4096
    good = json.dumps({"model": "m", "messages": MESSAGES, "user": "good"}).encode()
    ct = {"Content-Type": "application/json"}
    refused = [
        (b"not json at all", {}, 400, "parse"),
        (b"", {}, 400, "parse"),
        (b"[1, 2, 3]", {}, 400, "JSON object"),
        (b"null", {}, 400, "JSON object"),
        (b"[" * 100000, {}, 413, "limit"),
        (b"[" * 2000 + b"]" * 2000, {}, 400, "nested too deeply"),
        (b'{"model": "m", "messages": "\xff\xfe"}', {}, 400, "UTF-8"),
        (b"\xef\xbb\xbf" + good, {}, 400, "parse"),
        (gzip.compress(good), {"Content-Encoding": "gzip"}, 415, "Content-Encoding"),
        (good, {"Content-Encoding": "br"}, 415, "Content-Encoding"),
        (good, {"Content-Encoding": "deflate, identity"}, 415, "Content-Encoding"),
        (b'{"pad": "' + b"x" * limit + b'"}', {}, 413, "limit"),
        (b"1" * (limit + 1), {"Content-Length": str(limit + 1)}, 413, "limit"),
    ]
    with gunicorn(
        upstream.url, log_root, tmp_path, workers=2, PROXY_MAX_BODY_BYTES=str(limit)
    ) as proxy:
        pids = worker_pids(proxy)
        clear_upstream(upstream)
        for body, headers, status, fragment in refused:
            answer = raw_exchange(proxy.port, http("POST", CHAT, {**ct, **headers}, body))
            error = assert_openai_error(answer, status)
            assert fragment in error["message"], (body[:40], error)
        # Over the limit without a Content-Length: a chunked body is cut off at the limit too.
        chunked = b"".join(b"%x\r\n%s\r\n" % (1000, b" " * 1000) for _ in range(6)) + b"0\r\n\r\n"
        answer = raw_exchange(
            proxy.port, http("POST", CHAT, {**ct, "Transfer-Encoding": "chunked"}, chunked)
        )
        assert_openai_error(answer, 413)
        assert upstream_requests(upstream) == []

        # Nesting right around the parser's recursion limit: a 400 or a logged 200, never a 500.
        answered = 0
        for depth in range(880, 1010, 6):
            body = b'{"model": "m", "user": "deep", "x": ' + b"[" * depth + b"]" * depth + b"}"
            answer = raw_exchange(proxy.port, http("POST", CHAT, ct, body))
            assert status_of(answer) in (200, 400), (depth, answer[:300])
            answered += status_of(answer) == 200
        deep_file = log_root / today() / "deep.jsonl"
        wait_for(
            lambda: (
                answered == 0
                or (deep_file.exists() and deep_file.read_bytes().count(b"\n") == answered)
            )
        )

        # Content-Length shorter than the body: exactly that many bytes are the request.
        clear_upstream(upstream)
        answer = raw_exchange(
            proxy.port,
            http("POST", CHAT, {**ct, "Content-Length": str(len(good))}, good + b'GARBAGE{"x": 1}'),
        )
        assert status_of(answer) == 200
        assert [r["body"] for r in upstream_requests(upstream)] == [good.decode()]
        answer = raw_exchange(proxy.port, http("POST", CHAT, {**ct, "Content-Length": "10"}, good))
        assert_openai_error(answer, 400)
        # Content-Length longer than the body: the client gives up (half-close) or hangs up.
        clear_upstream(upstream)
        for path in (CHAT, "/v1/embeddings"):
            answer = raw_exchange(
                proxy.port,
                http("POST", path, {**ct, "Content-Length": str(len(good) + 50)}, good),
                shut=True,
            )
            assert "Content-Length" in assert_openai_error(answer, 400)["message"]
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(http("POST", CHAT, {**ct, "Content-Length": "4000"}, good))
        time.sleep(0.3)
        # Only the passthrough began an upstream call, and it was cut, not left waiting.
        assert [r["path"] for r in upstream_requests(upstream)] == ["/v1/embeddings"]
        clear_upstream(upstream)
        # Both Content-Length and chunked: refused, or read as chunked; never two requests.
        smuggled = http("GET", "/v1/models", {"X-Smuggled": "1"})
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(good), good) + smuggled
        answer = raw_exchange(
            proxy.port,
            http("POST", CHAT, {**ct, "Content-Length": "4", "Transfer-Encoding": "chunked"}, body),
        )
        assert status_of(answer) in (200, 400)
        time.sleep(0.3)
        assert all("x-smuggled" not in r["headers"] for r in upstream_requests(upstream))
        assert all(r["body"] in ("", good.decode()) for r in upstream_requests(upstream))

        assert_still_serving(proxy, pids)
        stderr = proxy.stderr()
    assert "Traceback" not in stderr
    assert [r["request"] for r in session_records(log_root, "good")] == [json.loads(good)]
    # Every line written, the deepest included, is read back by the converter.
    lines = sum(p.read_bytes().count(b"\n") for p in log_root.rglob("*.jsonl"))
    converted = subprocess.run(
        [
            sys.executable,
            "-m",
            "albicilla.conv",
            "--logs",
            str(log_root),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert converted.returncode == 0, converted.stderr
    assert f"{lines} records read" in converted.stderr
    assert " 0 damaged lines" in converted.stderr
    assert os.path.isdir(log_root)
    names = {p.name for p in log_root.rglob("*.jsonl")}
    assert names <= {session_file_name(s) + ".jsonl" for s in ("good", "deep")} | {
        n for n in names if n.startswith("still-")
    }
