"""Reading proxy logs: find session files, yield their records, tell usable exchanges apart."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Reasons a record is not training data, as they appear in the summary.
OTHER_ENDPOINT = "other endpoint"
NOT_200 = "status not 200"
INCOMPLETE = "incomplete"
NO_MESSAGES = "no request messages"
NOT_CHAT = "not a chat completion"
NO_CHOICES = "no choices"
BAD_MESSAGES = "malformed messages"


@dataclass(frozen=True)
class SessionFile:
    """One `<logs>/<day>/<name>.jsonl` file."""

    day: str
    name: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.day}/{self.name}"


@dataclass(frozen=True)
class Exchange:
    """The parts of one usable record that make conversations."""

    messages: list[dict[str, Any]]
    replies: list[dict[str, Any]]
    tools: list[Any]


def find_session_files(logs_dir: str) -> list[SessionFile]:
    """Every `*.jsonl` directly inside a day directory of `logs_dir`, sorted by day then name."""
    found: list[SessionFile] = []
    for day in _sorted_entries(logs_dir, want_dir=True):
        day_dir = os.path.join(logs_dir, day)
        for name in _sorted_entries(day_dir, want_dir=False):
            if name.endswith(".jsonl"):
                found.append(SessionFile(day, name, os.path.join(day_dir, name)))
    return found


def _sorted_entries(directory: str, *, want_dir: bool) -> list[str]:
    # os.scandir order depends on the filesystem; sorting names makes the output order stable.
    with os.scandir(directory) as entries:
        names = [
            e.name
            for e in entries
            if not e.name.startswith(".") and (e.is_dir() if want_dir else e.is_file())
        ]
    return sorted(names)


def iter_records(
    path: str, on_damage: Callable[[int, str], None]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line number, record)` for every line that is a JSON object; report the others.

    One `json.loads` per line and nothing else on the happy path: a damaged line is only examined
    after it failed to parse.
    """
    loads = json.loads
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = loads(line)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                on_damage(number, _damage_reason(line, exc))
                continue
            except RecursionError:  # nesting the proxy accepted but a deeper stack cannot parse
                on_damage(number, "JSON nested too deeply")
                continue
            if type(record) is not dict:
                on_damage(number, "not a JSON object")
                continue
            yield number, record


def _damage_reason(line: bytes, exc: ValueError) -> str:
    if not line.strip():
        return "blank line"
    if not line.endswith(b"\n"):
        return "torn last line (no newline at end of file)"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    return "not valid UTF-8"


def usable_exchange(record: dict[str, Any]) -> Exchange | str:
    """The record's messages, replies and tools, or the reason it is skipped.

    Usable: a chat completion endpoint (or no endpoint field), status 200 (or none recorded),
    `complete` not false, a list of request messages and at least one choice with a message.
    Every choice's message is a reply, in the order of the choices.
    """
    endpoint = record.get("endpoint")
    if endpoint is not None and not (
        type(endpoint) is str and endpoint.rstrip("/").endswith("/chat/completions")
    ):
        return OTHER_ENDPOINT
    status = record.get("status")
    if status is not None and status != 200:
        return NOT_200
    if record.get("complete") is False:
        return INCOMPLETE
    request = record.get("request")
    messages = request.get("messages") if type(request) is dict else None
    if type(messages) is not list:
        return NO_MESSAGES
    response = record.get("response")
    if type(response) is not dict:
        return NO_CHOICES
    kind = response.get("object")
    if kind is not None and kind != "chat.completion":
        return NOT_CHAT
    choices = response.get("choices")
    if type(choices) is not list:
        return NO_CHOICES
    replies = [
        _assistant(c["message"])
        for c in choices
        if type(c) is dict and type(c.get("message")) is dict
    ]
    if not replies:
        return NO_CHOICES
    tools = request.get("tools")
    return Exchange(messages, replies, tools if type(tools) is list else [])


def _assistant(message: dict[str, Any]) -> dict[str, Any]:
    """A reply as the client will resend it: an upstream that left out the role meant assistant."""
    return message if "role" in message else {"role": "assistant", **message}
