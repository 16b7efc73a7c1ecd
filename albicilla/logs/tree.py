"""The log tree: which directories are roots, their days and session files, and records read.

A log root holds `<YYYY-MM-DD>/<session>.jsonl`, one per session and UTC day (docs/design.md
section 5). Each proxy host writes its own root. `--logs` may name several roots, or a directory
that holds one root per host (`merged/host1/<day>/...`): a directory with no day directory
(`YYYY-MM-DD`) directly inside it but with subdirectories is taken as such a directory of roots,
each subdirectory a root, in name order. The files of one session (`<day>/<name>.jsonl`) in
several roots are read as one: records merged by their `timestamp`, ties broken by root order,
then line number; each file keeps its own order (a record with no readable timestamp stays
after the record before it in its file).

The converter reads the tree through this module alone (one file at a time through
`records.py`); so do the viewer and the compactor.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from .records import numbered_frames, records
from .zst import Frame, FrameLines, frame_bytes

DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
PLAIN = ".jsonl"
COMPRESSED = ".jsonl.zst"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
EARLIEST = -(1 << 62)  # the key of a record before any readable timestamp in its file

# (path, line, reason) of a damaged line; (path, reason) of a file that cannot be read.
OnDamage = Callable[[str, int, str], None]
OnUnreadable = Callable[[str, str], None]


@dataclass(frozen=True)
class SessionFile:
    """One session's `<day>/<name>.jsonl`: its files in each log root that holds it (per root,
    a compacted `<name>.jsonl.zst` first, then the plain `<name>.jsonl`)."""

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
    """Every session file directly inside a day directory of `logs_dir`, sorted by day then name.

    A session-day is `<name>.jsonl`, `<name>.jsonl.zst` (compacted, section 13) or both; its
    `name` is always the `.jsonl` name and `paths` holds the compressed part first, then the
    plain part, which is their record order."""
    found: list[SessionFile] = []
    for day in sorted_entries(logs_dir, want_dir=True):
        day_dir = os.path.join(logs_dir, day)
        names = set(sorted_entries(day_dir, want_dir=False))
        sessions = {n.removesuffix(".zst") for n in names if n.endswith((PLAIN, COMPRESSED))}
        for plain in sorted(sessions):
            parts = [os.path.join(day_dir, n) for n in (plain + ".zst", plain) if n in names]
            found.append(SessionFile(day, plain, tuple(parts)))
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
            paths.setdefault((found.day, found.name), []).extend(found.paths)
    return [SessionFile(day, name, tuple(paths[day, name])) for day, name in sorted(paths)]


def session_records(
    session: SessionFile, on_damage: OnDamage, on_unreadable: OnUnreadable
) -> Iterator[dict[str, Any]]:
    """The session's records, its files merged by timestamp; a file that cannot be read (or
    stops being readable) is reported and the others go on.

    The parts of one root (a compacted `.jsonl.zst`, then the `.jsonl` that grew after it) are
    one stream in file order; roots are merged by timestamp."""
    groups = root_parts(session.paths)
    if len(groups) == 1:  # one root: the file's own order, nothing parsed twice
        for _, record in _guarded(groups[0], on_damage, on_unreadable):
            yield record
        return
    streams = [
        _timed(rank, _guarded(group, on_damage, on_unreadable)) for rank, group in enumerate(groups)
    ]
    for *_, record in heapq.merge(*streams):
        yield record


def root_parts(paths: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`paths` grouped by the day directory (so the root) that holds them, in order."""
    groups: list[list[str]] = []
    for path in paths:
        if groups and os.path.dirname(groups[-1][0]) == os.path.dirname(path):
            groups[-1].append(path)
        else:
            groups.append([path])
    return [tuple(group) for group in groups]


def _guarded(
    parts: tuple[str, ...], on_damage: OnDamage, on_unreadable: OnUnreadable
) -> Iterator[tuple[int, dict[str, Any]]]:
    """One root's parts of a session-day as one stream, lines numbered across them.

    Between the compactor's rename and its removal of the `.jsonl` (or after a kill there), the
    `.jsonl` begins with exactly the bytes of the `.zst`'s last frame: those records were read
    from the frame and are skipped here (docs/design.md section 13)."""
    number = 0
    last: tuple[str, Frame] | None = None
    for path in parts:

        def damaged(line: int, reason: str, path: str = path) -> None:
            on_damage(path, line, reason)

        try:
            with open(path, "rb") as handle:
                if path.endswith(".zst"):
                    frames = FrameLines(handle)
                    lines = numbered_frames(frames, number + 1)
                    for line, record in records(lines, damaged):
                        number = line
                        yield line, record
                    if frames.last is not None:
                        last = (path, frames.last)
                    continue
                skipped = _already_compacted(handle, last)
                first = number
                for line, record in records(enumerate(handle, 1 + skipped), damaged):
                    number = first + line
                    yield number, record
        except OSError as exc:
            on_unreadable(path, str(exc.strerror or exc))


def _already_compacted(handle: BinaryIO, last: tuple[str, Frame] | None) -> int:
    """Positions `handle` after the bytes the `.zst`'s last frame already holds, if it begins
    with them; returns the number of lines skipped."""
    if last is None or last[1].size == 0:
        return 0
    path, frame = last
    head = handle.read(frame.size)
    if len(head) == frame.size:
        with open(path, "rb") as compressed:
            if frame_bytes(compressed, frame) == head:
                return head.count(b"\n")
    handle.seek(0)
    return 0


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
