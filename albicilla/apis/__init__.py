"""The logged APIs: one pure module each, and the table the proxy routes and shapes errors by.

Each row names what differs between APIs: the path, the stream accumulator (raw SSE bytes in,
the record's `response` out, with its completeness rule and the frame the proxy sends when it
ends a stream itself), the client's own session ids, and the shape of the proxy's own errors.
The relay, the exchange and the log store never look further than this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ProxyError
from . import chat, messages, responses


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


@dataclass(frozen=True, slots=True)
class LoggedApi:
    path: str
    new_stream: Callable[[], ApiStream]
    # The client's own session ids, in order (docs/design.md section 4, step 3).
    session_candidates: Callable[[Mapping[str, Any], Mapping[str, str]], Iterable[str]]
    # The JSON body of an error the proxy makes itself on this API's paths.
    error_body: Callable[[ProxyError], dict[str, Any]]


LOGGED_APIS: tuple[LoggedApi, ...] = (
    LoggedApi(chat.PATH, chat.ChatStream, chat.session_candidates, chat.error_body),
    LoggedApi(responses.PATH, responses.ResponsesStream, responses.session_candidates,
              responses.error_body),
    LoggedApi(messages.PATH, messages.MessagesStream, messages.session_candidates,
              messages.error_body),
)
BY_PATH: dict[str, LoggedApi] = {api.path: api for api in LOGGED_APIS}


def api_for_path(path: str) -> LoggedApi | None:
    """The API whose path is `path` or a parent of it (`/v1/messages/count_tokens`)."""
    while path.startswith("/v1/"):
        api = BY_PATH.get(path)
        if api is not None:
            return api
        path = path.rpartition("/")[0]
    return None


def error_body_for(path: str, err: ProxyError) -> dict[str, Any]:
    """The proxy's own error for a request to `path`, in the shape that path's clients read."""
    api = api_for_path(path)
    return api.error_body(err) if api is not None else err.body()
