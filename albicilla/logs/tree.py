"""The log tree: which directories are roots, their days and session files, and records read.

A log root holds `<YYYY-MM-DD>/<session>.jsonl`, one per session and UTC day (docs/design.md
section 5). Each proxy host writes its own root. `--logs` may name several roots, or a directory
that holds one root per host (`merged/host1/<day>/...`): a directory with no day directory
(`YYYY-MM-DD`) directly inside it but with subdirectories is taken as such a directory of roots,
each subdirectory a root, in name order. The files of one session (`<day>/<name>.jsonl`) in
several roots are read as one: records merged by their `timestamp`, ties broken by root order,
then line number; each file keeps its own order (a record with no readable timestamp stays
after the record before it in its file).

The converter reads the tree through this module alone; so do the viewer and the compactor.
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..jsonio import loads as json_loads

DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
EARLIEST = -(1 << 62)  # the key of a record before any readable timestamp in its file

# (path, line, reason) of a damaged line; (path, reason) of a file that cannot be read.
OnDamage = Callable[[str, int, str], None]
OnUnreadable = Callable[[str, str], None]


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
    loads = json_loads
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


def log_roots(directories: list[str]) -> list[str]:
    """The log roots named by `--logs`, in the order given (a directory of roots: name order)."""
    roots: list[str] = []
    for directory in directories:
        subdirectories = sorted_entries(directory, want_dir=True)
        if not subdirectories or any(DAY.match(name) for name in subdirectories):
            roots.append(directory)
        else:
            roots.extend(os.path.join(directory, name) for name in subdirectories)
    return roots


def find_sessions(roots: list[str]) -> list[SessionFile]:
    """Every session under any of `roots`, sorted by day then name, its files in root order."""
    if len(roots) == 1:
        return find_session_files(roots[0])
    paths: dict[tuple[str, str], list[str]] = {}
    for root in roots:
        for found in find_session_files(root):
            paths.setdefault((found.day, found.name), []).append(found.path)
    return [SessionFile(day, name, tuple(paths[day, name])) for day, name in sorted(paths)]


def session_records(
    session: SessionFile, on_damage: OnDamage, on_unreadable: OnUnreadable
) -> Iterator[dict[str, Any]]:
    """The session's records, its files merged by timestamp; a file that cannot be read (or
    stops being readable) is reported and the others go on."""
    if len(session.paths) == 1:  # one root: the file's own order, nothing parsed twice
        for _, record in _guarded(session.paths[0], on_damage, on_unreadable):
            yield record
        return
    streams = [
        _timed(rank, _guarded(path, on_damage, on_unreadable))
        for rank, path in enumerate(session.paths)
    ]
    for *_, record in heapq.merge(*streams):
        yield record


def _guarded(
    path: str, on_damage: OnDamage, on_unreadable: OnUnreadable
) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        yield from iter_records(path, lambda line, reason: on_damage(path, line, reason))
    except OSError as exc:
        on_unreadable(path, str(exc.strerror or exc))


def _timed(
    rank: int, records: Iterator[tuple[int, dict[str, Any]]]
) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
    """`(time, rank, line, record)`: the merge key, never reaching the record itself."""
    key = EARLIEST
    for line, record in records:
        key = timestamp_key(record.get("timestamp"), key)
        yield key, rank, line, record


def timestamp_key(value: Any, previous: int) -> int:
    """Microseconds since the epoch of an ISO 8601 timestamp (UTC when it has no offset), else
    `previous`."""
    if type(value) is not str:
        return previous
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return previous
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MICROSECOND
