"""Log roots from several hosts: which directories are roots, and one session's files merged.

Each proxy host writes its own log root. `--logs` may name several roots, or a directory that
holds one root per host (`merged/host1/<day>/...`): a directory with no day directory
(`YYYY-MM-DD`) directly inside it but with subdirectories is taken as such a directory of roots,
each subdirectory a root, in name order. The files of one session (`<day>/<name>.jsonl`) in
several roots are read as one: records merged by their `timestamp`, ties broken by root order,
then line number; each file keeps its own order (a record with no readable timestamp stays
after the record before it in its file).
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .reader import SessionFile, find_session_files, iter_records, sorted_entries

DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
EARLIEST = -(1 << 62)  # the key of a record before any readable timestamp in its file

# (path, line, reason) of a damaged line; (path, reason) of a file that cannot be read.
OnDamage = Callable[[str, int, str], None]
OnUnreadable = Callable[[str, str], None]


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
