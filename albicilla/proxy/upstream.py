"""The shared upstream `requests.Session`, header rules in both directions, timeouts and URLs."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from ..apis import LOGGED_APIS, api_for_path
from ..config import Settings
from ..errors import ProxyError, UpstreamTimeout, UpstreamUnavailable

# RFC 9110 7.6.1 hop-by-hop headers, plus the ones a proxy must set itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The proxy answers `Expect: 100-continue` itself (gunicorn does) and sets its own length.
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
# What urllib3 can always decode; a body the proxy must read is asked for in these only.
_DECODABLE = ("gzip", "deflate")
_SAFE_PATH_CHARS = "/:@!$&'()*+,;=-._~"
# What a query keeps as sent (RFC 3986's query characters, `%` so escapes pass unchanged, and the
# brackets requests also leaves alone); anything else is percent-encoded byte by byte.
_SAFE_QUERY_CHARS = "!$%&'()*+,/:;=?@[]~-._"
READ_SIZE = 65536
_QUERY_KEY = re.compile(r"([?&;](?:key|api_key|access_token)=)[^&;\s'\")]*", re.IGNORECASE)


class UpstreamBroken(Exception):
    """The upstream stopped sending mid-body; `reason` goes into the record."""

    def __init__(self, reason: str, *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout

    def as_error(self) -> ProxyError:
        """What a client gets when this happens before it was sent any byte."""
        return UpstreamTimeout(self.reason) if self.timeout else UpstreamUnavailable(self.reason)


class Upstream:
    """One per worker: a pooled session created on first use, with settings fixed at start."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.upstream_base
        # An API's paths may have an upstream of their own (docs/design.md sections 9 and 14):
        # the table names the setting.
        self.api_bases = {api.path: getattr(settings, api.upstream) for api in LOGGED_APIS}
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self.pool_size = settings.worker_connections
        # Read once: requests would otherwise re-read the proxy environment on every call.
        self.proxies = {
            base: requests.utils.get_environ_proxies(base + "/")
            for base in (self.base, *self.api_bases.values())
        }
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        # The CA bundle only where TLS may be spoken (an https base, or any base reached
        # through a proxy): requests looks a path up on disk on every call it is given to.
        self.verify: dict[str, bool | str] = {
            base: bundle if bundle and (base.lower().startswith("https:") or proxies) else True
            for base, proxies in self.proxies.items()
        }
        self._session: requests.Session | None = None
        self._adapter: HTTPAdapter | None = None
        # Each base as requests prepares a URL (lower-case scheme and host, IDNA), done once, so
        # each call only appends the path we quoted and the client's query.
        self._prepared = {base: _prepared_base(base) for base in self.proxies}
        self._with_credentials = {base for base in self.proxies if "@" in urlsplit(base).netloc}

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = build_session(self.pool_size)
        return self._session

    @property
    def adapter(self) -> HTTPAdapter:
        """The session's one adapter (mounted for http and https), holding the pool."""
        return self.session.get_adapter(self.base + "/")

    def base_for(self, path: str) -> str:
        api = api_for_path(path)
        return self.api_bases[api.path] if api is not None else self.base

    def url(self, path: str, query: bytes = b"", base: str | None = None) -> str:
        """The upstream URL: the path quoted as requests would, the query as the client sent it,
        only the bytes a request line cannot carry percent-encoded, each byte on its own.
        `base`: the path's base, when the caller has looked it up already."""
        base = self.base_for(path) if base is None else base
        url = self._prepared[base] + quote(path, safe=_SAFE_PATH_CHARS)
        if query:
            # Not requote_uri: it reads the bytes as text and encodes them again as UTF-8, so a
            # raw "é" (C3 A9) went upstream as %C3%83%C2%A9, and it rewrites escapes (%41 -> A).
            url += "?" + quote(query, safe=_SAFE_QUERY_CHARS)
        return url

    def send(
        self, method: str, path: str, query: bytes, headers: dict[str, str], body: Any
    ) -> requests.Response:
        """Send and return the response with its body unread; network failures become 502/504."""
        # Straight to the session's adapter (its pool): Session.request would merge session
        # headers, cookies, auth and the environment into every call, build an empty cookie
        # jar, then fill it and look for redirects. None of that applies to a proxy, and it
        # was about 15% of a worker's time under load (bench/RESULTS.md).
        # The request is prepared by hand, not by prepare_url/prepare_headers: the base URL was
        # prepared once, the path is quoted here, and http.client validates every header name
        # and value again as it writes them (requests' own check was the same work twice).
        prepared = requests.PreparedRequest()
        try:
            prepared.method = method.upper()
            base = self.base_for(path)
            prepared.url = self.url(path, query, base)
            prepared.headers = CaseInsensitiveDict(headers)
            prepared.prepare_body(body, None)
            if base in self._with_credentials:  # user:password@ in the endpoint URL
                prepared.prepare_auth(None, prepared.url)
            if self._adapter is None:
                self._adapter = self.adapter
            return self._adapter.send(
                prepared,
                stream=True,
                timeout=self.timeout,
                proxies=self.proxies[base],
                verify=self.verify[base],
            )
        except requests.Timeout as exc:
            raise UpstreamTimeout(f"upstream timed out: {_short(exc)}") from None
        except (requests.ConnectionError, requests.exceptions.InvalidURL) as exc:
            raise UpstreamUnavailable(f"upstream unreachable: {_short(exc)}") from None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _prepared_base(base: str) -> str:
    probe = requests.PreparedRequest()
    probe.prepare_url(base + "/", None)
    return probe.url[:-1]


class PoolPerBase(HTTPAdapter):
    """requests' adapter, finding the connection pool of a scheme, host and port once.

    For every request, requests parses the URL, builds the key of its urllib3 pool (with the TLS
    settings) and looks it up in the pool manager: about 25 us a request in a loaded worker
    (bench/RESULTS.md). A proxy's only upstreams are its few bases, so the pool found for one is
    kept, by the URL's start and the TLS settings, until the adapter closes (its pools with it).
    The manager keeps `pool_connections` (4) pools, more than the three bases there can be, so
    it never lets one of ours go. Requests through a proxy or with a client certificate take
    requests' way. (`get_connection_with_tls_context` is the hook requests gives adapters that
    subclass it since 2.32.2, the least version pyproject.toml takes.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[tuple[Any, ...], Any] = {}

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        if proxies or cert is not None or not isinstance(request.url, str):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        scheme, _, authority = request.url.split("/", 3)[:3]  # "http:", "", "host:port"
        key = (scheme, authority, verify)
        pool = self._pools.get(key)
        if pool is None:
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self._pools[key] = pool
        return pool

    def close(self) -> None:
        pools, self._pools = self._pools, {}
        super().close()
        for pool in pools.values():
            pool.close()


def build_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    # Send only what the client sent; requests' default User-Agent/Accept headers are not ours.
    session.headers.clear()
    # One client's cookie must never reach another client's request.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = PoolPerBase(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def forward_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """End-to-end request headers to send upstream (Authorization included)."""
    pairs = list(pairs)
    dropped = _NOT_FORWARDED | _connection_tokens(pairs)
    return {name: value for name, value in pairs if name.lower() not in dropped}


def decodable_encodings(headers: dict[str, str]) -> dict[str, str]:
    """Narrow Accept-Encoding to what the proxy can decode, for bodies it parses and logs."""
    for name in list(headers):
        if name.lower() == "accept-encoding":
            offered = {part.split(";")[0].strip().lower() for part in headers.pop(name).split(",")}
            kept = [coding for coding in _DECODABLE if coding in offered]
            if kept:
                headers["Accept-Encoding"] = ", ".join(kept)
    return headers


def client_headers(
    pairs: Iterable[tuple[str, str]], *, decoded: bool, keep_length: bool = False
) -> list[tuple[str, str]]:
    """Upstream response headers to give the client."""
    # A comprehension, not list(): list() asks for the length first, and urllib3's items view
    # counts it by walking all the headers once more.
    pairs = [pair for pair in pairs]  # noqa: C416
    dropped = HOP_BY_HOP | _connection_tokens(pairs)
    if not keep_length:
        dropped = dropped | {"content-length"}
    if decoded:
        dropped = dropped | {"content-encoding", "content-length"}
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


def _connection_tokens(pairs: list[tuple[str, str]]) -> frozenset[str]:
    tokens = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return frozenset(tokens)


def iter_body(response: requests.Response, *, decode: bool) -> Iterator[bytes]:
    """Yield body bytes as soon as they arrive (read1, never waiting to fill a buffer)."""
    raw = response.raw
    with _broken_reads():
        while True:
            chunk = raw.read1(READ_SIZE, decode_content=decode)
            if not chunk:
                return
            yield chunk


def read_body(response: requests.Response) -> bytes:
    """The whole decoded body, in one call."""
    with _broken_reads():
        return response.raw.read(decode_content=True)


@contextlib.contextmanager
def _broken_reads() -> Iterator[None]:
    """urllib3's read failures as UpstreamBroken, with the reason the record gives."""
    try:
        yield
    except urllib3.exceptions.ReadTimeoutError:
        raise UpstreamBroken("upstream read timeout", timeout=True) from None
    except urllib3.exceptions.DecodeError:
        raise UpstreamBroken("upstream sent a body that cannot be decoded") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise UpstreamBroken("upstream connection lost") from None


def _short(exc: BaseException) -> str:
    # A URL in the message may carry a `key=` query parameter (Gemini): never repeat it.
    text = _QUERY_KEY.sub(r"\1[REDACTED]", str(exc))
    # urllib3 nests the real cause at the end: keep the message short and readable.
    if "(Caused by" in text:
        text = text.split("(Caused by", 1)[1].rstrip(")")
    return text.strip()[:300]
