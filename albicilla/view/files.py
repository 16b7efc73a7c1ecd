"""One session file as the viewer's index knows it: what it looked like when read, whether it only
grew since, and reading on from where the last read stopped (docs/viewer.md, "Live")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..logs.records import Position, iter_records_from
from ..logs.tree import OnDamage, OnUnreadable, SessionFile
from .summary import RecordSummary, Totals

TORN = "last line has no newline yet (being written, or torn)"
NO_TOTALS = Totals()  # what a file not read yet counts: shared, so never changed
Signature = tuple[tuple[str, int, int, int], ...]  # (path, size, mtime_ns, inode) per part


def stem_of(name: str) -> str:
    """The session file's name without `.jsonl` (or `.jsonl.zst`)."""
    return name.removesuffix(".zst").removesuffix(".jsonl")


@dataclass
class FileState:
    """One session file (one day, every root that holds it) and what was read from it."""

    file: SessionFile
    signature: Signature
    size: int
    mtime: float
    parsed: Signature | None = None
    summaries: list[RecordSummary] = field(default_factory=list)
    totals: Totals = field(default_factory=lambda: NO_TOTALS)  # replaced, never changed
    session_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    kind: str | None = None  # the client, guessed from the first records
    position: Position | None = None  # how far a lone plain file was read, to go on from there

    @property
    def stale(self) -> bool:
        return self.parsed != self.signature


def signature_of(paths: tuple[str, ...]) -> Signature:
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            parts.append((path, -1, 0, 0))
            continue
        parts.append((path, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(parts)


def goes_on(parsed: Signature | None, now: Signature, position: Position | None) -> bool:
    """Whether the file read as `parsed` is now the same plain file, grown (or touched)."""
    if position is None or parsed is None or len(parsed) != 1 or len(now) != 1:
        return False
    (path, size, _, inode), (now_path, now_size, _, now_inode) = parsed[0], now[0]
    return (
        path == now_path
        and inode == now_inode
        and size >= 0
        and now_size >= max(size, position.offset)
    )


def records_from(
    path: str, position: Position, on_damage: OnDamage, on_unreadable: OnUnreadable
) -> Iterator[dict[str, Any]]:
    """The records of a plain file from `position` on; a read error is reported, not raised."""

    def damaged(line: int, reason: str) -> None:
        on_damage(path, line, reason)

    try:
        for _, record in iter_records_from(path, position, damaged):
            yield record
    except OSError as exc:
        on_unreadable(path, str(exc.strerror or exc))
