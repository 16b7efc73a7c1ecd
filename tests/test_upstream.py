"""Header rules both ways, URL building, the shared session's settings, and body reading."""

from __future__ import annotations

import http.cookiejar

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter

from albicilla.config import Settings
from albicilla.errors import UpstreamTimeout, UpstreamUnavailable
from albicilla.proxy.upstream import (
    PoolPerBase,
    Upstream,
    UpstreamBroken,
    build_session,
    client_headers,
    decodable_encodings,
    forward_headers,
)


def test_forward_headers_drop_hop_by_hop_and_connection_listed():
    pairs = [
        ("Host", "proxy"),
        ("Content-Length", "10"),
        ("Connection", "close, X-Hop"),
        ("X-Hop", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Authorization", "Bearer k"),
        ("OpenAI-Organization", "org"),
        ("Accept", "*/*"),
    ]
    assert forward_headers(pairs) == {
        "Authorization": "Bearer k",
        "OpenAI-Organization": "org",
        "Accept": "*/*",
    }


@pytest.mark.parametrize(
    ("offered", "sent"),
    [
        ("gzip, deflate, br, zstd", "gzip, deflate"),
        ("br", None),
        ("GZIP;q=1.0", "gzip"),
        (None, None),
    ],
)
def test_chat_accept_encoding_is_narrowed_to_what_can_be_decoded(offered, sent):
    headers = {"Authorization": "Bearer k"}
    if offered is not None:
        headers["accept-encoding"] = offered
    narrowed = decodable_encodings(headers)
    assert narrowed.get("Accept-Encoding") == sent
    assert "accept-encoding" not in narrowed


def test_expect_is_not_forwarded():
    assert forward_headers([("Expect", "100-continue"), ("X-A", "1")]) == {"X-A": "1"}


def test_client_headers_drop_length_and_encoding_when_decoded():
    pairs = [
        ("Content-Type", "application/json"),
        ("Content-Length", "5"),
        ("Content-Encoding", "gzip"),
        ("Keep-Alive", "timeout=5"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-Request-Id", "r"),
    ]
    assert client_headers(pairs, decoded=True) == [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-Request-Id", "r"),
    ]
    assert ("Content-Encoding", "gzip") in client_headers(pairs, decoded=False, keep_length=True)
    assert ("Content-Length", "5") in client_headers(pairs, decoded=False, keep_length=True)


def test_url_keeps_path_and_query_on_the_configured_host():
    upstream = Upstream(Settings(upstream_endpoint="http://u.test/v1"))
    assert upstream.url("/v1/models", b"a=1&b=%20") == "http://u.test/v1/models?a=1&b=%20"
    assert upstream.url("/v1/files/a b") == "http://u.test/v1/files/a%20b"
    assert upstream.url("/v1/x@evil.example") == "http://u.test/v1/x@evil.example"


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [
        (b"beta=true", "beta=true"),
        ("q=\u00e9".encode(), "q=%C3%A9"),  # raw UTF-8: one escape per byte, never encoded twice
        (b"q=\xe9", "q=%E9"),  # a raw byte that is not UTF-8: its own escape
        (b"q=%41%e9%zz", "q=%41%e9%zz"),  # escapes, even odd ones, exactly as sent
        (b"a=b+c&d=[1]&e=~x/y?z:@!$'()*,;", "a=b+c&d=[1]&e=~x/y?z:@!$'()*,;"),
        (b'q=a b"<>{}|\\^`', "q=a%20b%22%3C%3E%7B%7D%7C%5C%5E%60"),
    ],
)
def test_query_goes_upstream_as_sent(sent: bytes, forwarded: str) -> None:
    upstream = Upstream(Settings(upstream_endpoint="http://u.test/v1"))
    assert upstream.url("/v1/models", sent) == "http://u.test/v1/models?" + forwarded


def test_send_prepares_url_and_endpoint_credentials():
    upstream = Upstream(Settings(upstream_endpoint="HTTP://user:pw@U.Test/v1"))
    with responses.RequestsMock() as mock:
        url = "http://user:pw@u.test/v1/chat/completions?q=a%20b&r=%E9"
        mock.post(url, body="{}")
        response = upstream.send(
            "POST", "/v1/chat/completions", "q=a b&r=\xe9".encode("latin-1"), {"X-A": "1"}, b"{}"
        )
        response.close()
        sent = mock.calls[0].request
    assert sent.url == url
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.headers["X-A"] == "1" and sent.headers["Content-Length"] == "2"


def test_session_stores_no_cookies_and_follows_no_redirects():
    upstream = Upstream(Settings(upstream_endpoint="http://u.test", worker_connections=7))
    with responses.RequestsMock() as mock:
        mock.get(
            "http://u.test/v1/a",
            status=302,
            headers={"Location": "http://elsewhere.test/", "Set-Cookie": "sid=secret; Path=/"},
        )
        response = upstream.send("GET", "/v1/a", b"", {}, None)
        response.close()
    assert response.status_code == 302
    assert len(upstream.session.cookies) == 0
    policy = upstream.session.cookies.get_policy()
    assert isinstance(policy, http.cookiejar.DefaultCookiePolicy)
    adapter = upstream.session.get_adapter("http://u.test")
    assert adapter._pool_maxsize == 7
    assert dict(upstream.session.headers) == {}


def test_proxy_environment_is_read_once_at_start(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://corp-proxy:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    upstream = Upstream(Settings(upstream_endpoint="http://u.test"))
    assert upstream.proxies[upstream.base].get("http") == "http://corp-proxy:3128"
    assert upstream.session.trust_env is False


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        (UpstreamBroken("upstream read timeout", timeout=True), UpstreamTimeout),
        (UpstreamBroken("upstream connection lost"), UpstreamUnavailable),
    ],
)
def test_broken_bodies_map_to_gateway_errors(broken, error):
    assert isinstance(broken.as_error(), error)


def test_anthropic_paths_go_to_their_own_upstream():
    settings = Settings(
        upstream_endpoint="http://openai.test/v1", anthropic_endpoint="https://anthropic.test"
    )
    upstream = Upstream(settings)
    assert (
        upstream.url("/v1/messages", b"beta=true") == "https://anthropic.test/v1/messages?beta=true"
    )
    assert (
        upstream.url("/v1/messages/count_tokens")
        == "https://anthropic.test/v1/messages/count_tokens"
    )
    assert upstream.url("/v1/messagesx") == "http://openai.test/v1/messagesx"
    assert upstream.url("/v1/responses") == "http://openai.test/v1/responses"


def prepared(url: str) -> requests.PreparedRequest:
    request = requests.PreparedRequest()
    request.prepare(method="POST", url=url)
    return request


def test_the_pool_of_a_base_is_found_once_and_again_once_closed():
    adapter = PoolPerBase(pool_connections=4, pool_maxsize=8, max_retries=0)
    first = adapter.get_connection_with_tls_context(prepared("http://a.test:81/v1/x"), True)
    # The same scheme, host and port: the pool requests' own lookup gives, without looking.
    assert (
        adapter.get_connection_with_tls_context(prepared("http://a.test:81/v1/y?q=1"), True)
        is first
    )
    assert (
        HTTPAdapter.get_connection_with_tls_context(adapter, prepared("http://a.test:81/z"), True)
        is first
    )
    # Another port, another host, another scheme or other TLS settings: another pool.
    others = [
        adapter.get_connection_with_tls_context(prepared("http://a.test:82/v1/x"), True),
        adapter.get_connection_with_tls_context(prepared("http://b.test:81/v1/x"), True),
        adapter.get_connection_with_tls_context(prepared("https://a.test:81/v1/x"), True),
        adapter.get_connection_with_tls_context(prepared("https://a.test:81/v1/x"), False),
    ]
    assert len({id(first), *map(id, others)}) == 5
    assert (others[2].host, others[2].port, others[2].scheme) == ("a.test", 81, "https")
    # The adapter closed: its pools with it, and the next request finds a working one.
    adapter.close()
    assert first.pool is None and all(pool.pool is None for pool in others)
    again = adapter.get_connection_with_tls_context(prepared("http://a.test:81/v1/x"), True)
    assert again is not first and again.pool is not None


def test_requests_through_a_proxy_take_requests_own_way():
    adapter = PoolPerBase(pool_connections=4, pool_maxsize=8, max_retries=0)
    proxies = {"http": "http://proxy.test:3128"}
    pool = adapter.get_connection_with_tls_context(prepared("http://a.test/v1/x"), True, proxies)
    assert (pool.host, pool.port) == ("proxy.test", 3128)
    direct = adapter.get_connection_with_tls_context(prepared("http://a.test/v1/x"), True)
    assert (direct.host, direct.port) == ("a.test", 80)


def test_the_session_sends_through_the_pool_per_base():
    assert isinstance(build_session(4).get_adapter("http://a.test/"), PoolPerBase)
