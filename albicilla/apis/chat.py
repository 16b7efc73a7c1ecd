"""/v1/chat/completions: the rebuilt completion, when a stream is whole, and the proxy's frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ProxyError, sse_error_event
from .chat_stream import StreamRebuilder

PATH = "/v1/chat/completions"


class ChatStream(StreamRebuilder):
    """Chunks rebuilt into a `chat.completion`; `[DONE]` ends the stream."""

    @property
    def finished(self) -> bool:
        return self.done

    def response(self) -> dict[str, Any]:
        return self.completion()

    def outcome(self) -> str | None:
        if self.error is not None:
            return "upstream error event"
        if self.done:
            return None
        # Some servers never send [DONE]: a stream whose every choice has ended is whole.
        if self.every_choice_finished():
            return None
        return "upstream stream ended without [DONE]"

    def end_frame(self, message: str, *, timeout: bool) -> bytes:
        code = "upstream_timeout" if timeout else "worker_shutdown"
        return sse_error_event(message, "upstream_error" if timeout else "server_error", code)


def session_candidates(body: Mapping[str, Any], headers: Mapping[str, str]) -> Iterable[str]:
    """Chat clients have no session id of their own beyond `user` and the session header."""
    return ()


def error_body(err: ProxyError) -> dict[str, Any]:
    return err.body()
