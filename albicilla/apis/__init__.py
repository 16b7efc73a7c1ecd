"""The logged APIs: one pure module each, and the table the proxy routes and shapes errors by.

Each row names what differs between APIs: the paths it logs and the paths it owns (whose errors
it shapes and whose upstream it names), the stream accumulator (raw bytes in, the record's
`response` out, with its completeness rule and the frame the proxy sends when it ends a stream
itself), the client's own session ids and API key, and the shape of the proxy's own errors.
The relay, the exchange and the log store never look further than this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ProxyError
from . import chat, gemini, messages, responses
from .api_keys import header_key


class ApiStream(Protocol):
    """An accumulator for one logged stream; `feed` raw bytes as they arrive."""

    @property
    def finished(self) -> bool:
        """The stream's terminal event has arrived: the record is final from here on."""

    def feed(self, chunk: bytes) -> None: ...

    def close(self) -> None:
        """The upstream body has ended (cleanly or not)."""

    def response(self) -> Any:
        """The record's `response` as far as the stream has come."""

    def outcome(self) -> str | None:
        """None when the stream ended properly, else the record's `error`."""

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        """The SSE bytes the proxy sends when it ends the stream itself."""


def _body_stream(path: str, body: Mapping[str, Any]) -> bool:
    return body.get("stream") is True


@dataclass(frozen=True, slots=True)
class LoggedApi:
    # The logged path; for an API with several, a name for them (`routes` lists the rules).
    path: str
    # The accumulator of a `text/event-stream` answer.
    new_stream: Callable[[], ApiStream]
    # The client's own session ids, in order (docs/design.md section 4, step 3).
    session_candidates: Callable[[Mapping[str, Any], Mapping[str, str]], Iterable[str]]
    # The JSON body of an error the proxy makes itself on this API's paths.
    error_body: Callable[[ProxyError], dict[str, Any]]
    # Flask rules of the logged calls; a `<model>` part becomes the record's `model`, and the
    # record's `endpoint` is the rule with `{model}` in its place. Default: (path,).
    routes: tuple[str, ...] = ()
    # Every path of this API, logged or not. Default: `path` and the paths under it.
    owns: Callable[[str], bool] | None = None
    # The Settings attribute naming this API's upstream base URL.
    upstream: str = "upstream_base"
    # Whether a request asks for a stream (the record's `stream`), from its path and body.
    is_stream: Callable[[str, Mapping[str, Any]], bool] = _body_stream
    # The accumulator of a 2xx stream sent as JSON, not SSE (Gemini's array); None: no such.
    new_json_stream: Callable[[], ApiStream] | None = None
    # The API key the client sent, hashed into a session id (docs/design.md section 4, step 4).
    api_key: Callable[[Mapping[str, str], bytes], str] = header_key

    def __post_init__(self) -> None:
        if not self.routes:
            object.__setattr__(self, "routes", (self.path,))
        if self.owns is None:
            prefix = self.path + "/"
            object.__setattr__(
                self, "owns", lambda path: path == self.path or path.startswith(prefix)
            )


LOGGED_APIS: tuple[LoggedApi, ...] = (
    LoggedApi(chat.PATH, chat.ChatStream, chat.session_candidates, chat.error_body),
    LoggedApi(
        responses.PATH,
        responses.ResponsesStream,
        responses.session_candidates,
        responses.error_body,
    ),
    LoggedApi(
        messages.PATH,
        messages.MessagesStream,
        messages.session_candidates,
        messages.error_body,
        upstream="anthropic_base",
    ),
    LoggedApi(
        "/v1beta/models/{model}",
        gemini.GeminiStream,
        gemini.session_candidates,
        gemini.error_body,
        routes=gemini.ROUTES,
        owns=gemini.owns,
        upstream="gemini_base",
        is_stream=gemini.is_stream,
        new_json_stream=gemini.GeminiArrayStream,
        api_key=gemini.api_key,
    ),
)


def api_for_path(path: str) -> LoggedApi | None:
    """The API that owns `path`, logged or not (`/v1/messages/count_tokens`: Anthropic)."""
    for api in LOGGED_APIS:
        if api.owns(path):  # type: ignore[misc]
            return api
    return None


def error_body_for(path: str, err: ProxyError) -> dict[str, Any]:
    """The proxy's own error for a request to `path`, in the shape that path's clients read."""
    api = api_for_path(path)
    return api.error_body(err) if api is not None else err.body()
