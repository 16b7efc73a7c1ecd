"""Reading proxy logs: find session files and yield their records."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Kept importable from here: what a record gives, and why one is skipped.
from .apis import to_exchange as usable_exchange  # noqa: F401
from .apis.common import (  # noqa: F401
    BAD_MESSAGES,
    INCOMPLETE,
    NO_CHOICES,
    NO_MESSAGES,
    NOT_200,
    NOT_CHAT,
    OTHER_ENDPOINT,
    Exchange,
)


@dataclass(frozen=True)
class SessionFile:
    """One session's `<day>/<name>.jsonl`: its file in each log root that holds it."""

    day: str
    name: str
    paths: tuple[str, ...]

    @property
    def path(self) -> str:
        """The file in the first root that holds it (the only one with a single root)."""
        return self.paths[0]

    @property
    def label(self) -> str:
        return f"{self.day}/{self.name}"


def find_session_files(logs_dir: str) -> list[SessionFile]:
    """Every `*.jsonl` directly inside a day directory of `logs_dir`, sorted by day then name."""
    found: list[SessionFile] = []
    for day in sorted_entries(logs_dir, want_dir=True):
        day_dir = os.path.join(logs_dir, day)
        for name in sorted_entries(day_dir, want_dir=False):
            if name.endswith(".jsonl"):
                found.append(SessionFile(day, name, (os.path.join(day_dir, name),)))
    return found


def sorted_entries(directory: str, *, want_dir: bool) -> list[str]:
    """The names of the directories (or files) directly in `directory`, hidden ones left out."""
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
