"""The Gemini API through a real gunicorn, driven by the google-genai SDK against a scripted fake
Gemini: the SDK gets the same objects as direct, every call is one record, keys go upstream and
nowhere else, and the proxy's own errors are exceptions the SDK reads."""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from pathlib import Path

import pytest
import requests
from google import genai
from google.genai import errors, types

from support.fake_gemini import CASES, array_pieces, chunks, serving
from support.procs import gunicorn, session_records, wait_for

pytestmark = pytest.mark.e2e
KEY = "AIzaSyFAKE-" + "q" * 28
GENERATE = "/v1beta/models/{model}:generateContent"
STREAM = "/v1beta/models/{model}:streamGenerateContent"


@pytest.fixture(scope="module")
def fake():
    with serving() as server:
        yield server


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gemini") / "logs"


@pytest.fixture(scope="module")
def proxy(fake, root, tmp_path_factory):
    # The OpenAI upstream points nowhere: every Gemini call must take PROXY_GEMINI_ENDPOINT.
    with gunicorn(
        "http://127.0.0.1:9",
        root,
        tmp_path_factory.mktemp("gemini-proc"),
        workers=2,
        PROXY_GEMINI_ENDPOINT=fake.url,
        PROXY_READ_TIMEOUT="1",
        PROXY_MAX_BODY_BYTES="65536",
    ) as running:
        yield running


def client(url: str, session: str | None = None, version: str = "v1beta") -> genai.Client:
    headers = {"X-Session-Id": session} if session else {}
    return genai.Client(
        api_key=KEY,
        http_options=types.HttpOptions(base_url=url, api_version=version, headers=headers),
    )


_clients: list[genai.Client] = []


def held(url: str, session: str | None = None, version: str = "v1beta") -> genai.Client:
    """A client kept alive for the module: a dropped one closes its connection pool at once."""
    _clients.append(client(url, session, version))
    return _clients[-1]


def dumped(response) -> dict:
    return response.model_dump(exclude={"sdk_http_response"})


def new_session() -> str:
    return "g-" + uuid.uuid4().hex[:12]


@pytest.mark.parametrize("case", sorted(CASES))
def test_generate_content_equals_direct_and_is_logged_whole(fake, proxy, root, case):
    session = new_session()
    direct = held(fake.url).models.generate_content(model=f"case-{case}", contents="Hi")
    via = held(proxy.url, session).models.generate_content(model=f"case-{case}", contents="Hi")
    assert dumped(via) == dumped(direct)
    [record] = session_records(root, session)
    assert (record["endpoint"], record["model"]) == (GENERATE, f"case-{case}")
    assert (record["status"], record["stream"], record["complete"]) == (200, False, True)
    assert record["response"] == CASES[case]
    assert record["request"]["contents"] == [{"parts": [{"text": "Hi"}], "role": "user"}]


@pytest.mark.parametrize("version", ["v1beta", "v1"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_stream_equals_direct_and_is_logged_as_the_non_streamed_response(
    fake, proxy, root, case, version
):
    session = new_session()
    model = f"case-{case}"
    direct = list(
        held(fake.url, version=version).models.generate_content_stream(model=model, contents="Hi")
    )
    via = list(
        held(proxy.url, session, version).models.generate_content_stream(model=model, contents="Hi")
    )
    assert [dumped(c) for c in via] == [dumped(c) for c in direct]
    [record] = session_records(root, session)
    assert record["endpoint"] == STREAM.replace("v1beta", version)
    assert (record["model"], record["stream"], record["complete"]) == (model, True, True)
    assert record["response"] == CASES[case]
    assert fake.log[-1]["path"].endswith(":streamGenerateContent?alt=sse")


def test_array_stream_is_relayed_as_sent_and_logged_whole(fake, proxy, root):
    session = new_session()
    path = "/v1beta/models/case-parallel_calls:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    headers = {"x-goog-api-key": KEY, "X-Session-Id": session}
    with requests.post(
        proxy.url + path, json=body, headers=headers, stream=True, timeout=10
    ) as response:
        got = b"".join(response.iter_content(None))
    assert got == b"".join(array_pieces(chunks(CASES["parallel_calls"])))
    [record] = session_records(root, session)
    assert record["response"] == CASES["parallel_calls"]
    assert (record["stream"], record["complete"], record["error"]) == (True, True, None)


def test_query_is_forwarded_as_sent_and_count_tokens_is_not_logged(fake, proxy, root):
    session = new_session()
    query = "alt=sse&key=" + KEY + "&x=%41b&y=a+b"
    # http.client sends the URL as written (requests would turn %41 into A before us).
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request(
        "POST",
        f"/v1beta/models/case-text:streamGenerateContent?{query}",
        body=b'{"contents": []}',
        headers={"X-Session-Id": session},
    )
    assert connection.getresponse().read().startswith(b"data: ")
    connection.close()
    assert fake.log[-1]["path"] == f"/v1beta/models/case-text:streamGenerateContent?{query}"
    count = requests.post(
        f"{proxy.url}/v1beta/models/case-text:countTokens?key={KEY}",
        json={"contents": []},
        headers={"X-Session-Id": session},
        timeout=10,
    )
    assert count.json() == {"totalTokens": 5}
    assert fake.log[-1]["path"].endswith(":countTokens?key=" + KEY)
    assert [r["endpoint"] for r in session_records(root, session)] == [STREAM]


@pytest.mark.parametrize("how", ["header", "query", "bearer"])
def test_keys_reach_the_upstream_hash_into_the_session_and_are_written_nowhere(
    fake, proxy, root, how
):
    key = f"AIzaSy-{how}-" + uuid.uuid4().hex
    headers = {"x-goog-api-key": key} if how == "header" else {}
    if how == "bearer":
        headers["Authorization"] = f"Bearer {key}"
    query = f"?key={key}" if how == "query" else ""
    response = requests.post(
        f"{proxy.url}/v1beta/models/case-text:generateContent{query}",
        json={"contents": []},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200
    sent = fake.log[-1]
    assert key in sent["path"] + json.dumps(sent["headers"])
    session = "key-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    [record] = session_records(root, session)
    assert record["model"] == "case-text"
    on_disk = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    assert key.encode() not in on_disk
    assert key not in proxy.stderr()


def test_session_header_wins_over_the_key(proxy, root):
    session = new_session()
    requests.post(
        f"{proxy.url}/v1beta/models/case-text:generateContent?key={KEY}",
        json={"contents": []},
        headers={"X-Session-Id": session},
        timeout=10,
    )
    assert len(session_records(root, session)) == 1


def test_upstream_unreachable_is_a_google_502_the_sdk_raises_with_the_message(tmp_path):
    key = "AIzaSy-unreachable-" + uuid.uuid4().hex
    root = tmp_path / "logs"
    with gunicorn(
        "http://127.0.0.1:9", root, tmp_path, workers=1, PROXY_GEMINI_ENDPOINT="http://127.0.0.1:9"
    ) as proxy:
        with pytest.raises(errors.ServerError) as raised:
            held(proxy.url, "down").models.generate_content(model="m", contents="Hi")
        url = f"{proxy.url}/v1beta/models/m:generateContent?key={key}"
        body = requests.post(url, json={"contents": []}, timeout=10).json()
        stderr = proxy.stderr()
    assert raised.value.code == 502 and raised.value.status == "UNAVAILABLE"
    assert raised.value.message.startswith("upstream unreachable")
    assert body["error"]["status"] == "UNAVAILABLE"
    on_disk = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    assert key.encode() not in on_disk and key not in stderr
    assert key not in json.dumps(body)


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ({"data": b"not json"}, 400),
        ({"data": b"{" + b" " * 70000 + b"}"}, 413),
        ({"data": b"\x1f\x8b", "headers": {"Content-Encoding": "gzip"}}, 415),
    ],
)
def test_proxy_errors_are_google_shaped_and_the_sdk_raises_them(proxy, send, code):
    response = requests.post(
        f"{proxy.url}/v1beta/models/m:generateContent", timeout=10, **{"headers": {}, **send}
    )
    assert response.status_code == code
    error = response.json()["error"]
    assert error["code"] == code and error["status"] == "INVALID_ARGUMENT" and error["message"]
    with pytest.raises(errors.ClientError) as raised:
        errors.APIError.raise_for_response(_as_sdk_response(response))
    assert (raised.value.code, raised.value.message) == (code, error["message"])


def _as_sdk_response(response: requests.Response):
    import httpx2  # what the SDK's client reads responses with

    return httpx2.Response(
        response.status_code, content=response.content, headers={"content-type": "application/json"}
    )


def test_read_timeout_is_a_google_504(proxy, root):
    session = new_session()
    with pytest.raises(errors.ServerError) as raised:
        held(proxy.url, session).models.generate_content(model="slow-text", contents="Hi")
    assert (raised.value.code, raised.value.status) == (504, "DEADLINE_EXCEEDED")
    [record] = session_records(root, session)
    assert (record["status"], record["complete"]) == (504, False)


def test_cut_stream_breaks_the_sdk_as_direct_and_records_what_came(fake, proxy, root):
    session = new_session()
    kinds = []
    for url, sid in ((fake.url, None), (proxy.url, session)):
        with pytest.raises(Exception) as raised:  # noqa: PT011 - compared below
            list(held(url, sid).models.generate_content_stream(model="cut-text", contents="x"))
        kinds.append(type(raised.value))
    assert kinds[0] is kinds[1]
    [record] = wait_for(lambda: session_records(root, session))
    assert (record["complete"], record["error"]) == (False, "upstream connection lost")
    assert record["response"]["candidates"][0]["content"]["parts"][0]["text"].startswith("Hello")


def test_error_object_mid_stream_reaches_the_sdk_as_direct_and_is_recorded(fake, proxy, root):
    session = new_session()
    raised = []
    for url, sid in ((fake.url, None), (proxy.url, session)):
        with pytest.raises(errors.ServerError) as caught:
            list(held(url, sid).models.generate_content_stream(model="error-text", contents="x"))
        raised.append((caught.value.code, caught.value.message))
    assert raised[0] == raised[1]
    [record] = session_records(root, session)
    assert record["complete"] is False
    assert record["error"] == "upstream error object: INTERNAL: An internal error has occurred."


def test_function_calling_round_trip_through_the_sdk_equals_direct(fake, proxy):
    def turn(url: str) -> list[dict]:
        tools = [
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name="run_shell_command",
                        description="Run a command",
                        parameters_json_schema={
                            "type": "object",
                            "properties": {"command": {"type": "string"}},
                        },
                    )
                ]
            )
        ]
        config = types.GenerateContentConfig(
            tools=tools,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        gen = client(url)
        first = gen.models.generate_content(model="agent", contents="Say hello", config=config)
        call = first.candidates[0].content.parts[-1]
        history = [
            types.Content(role="user", parts=[types.Part(text="Say hello")]),
            first.candidates[0].content,
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(
                        name=call.function_call.name, response={"output": "hello-from-tool"}
                    )
                ],
            ),
        ]
        second = list(
            gen.models.generate_content_stream(model="agent", contents=history, config=config)
        )
        return [dumped(first), *(dumped(c) for c in second)]

    assert turn(proxy.url) == turn(fake.url)
