"""The index of the log roots: sessions found by listing, records summarized by one parse.

Listing needs no parsing, so names, days, sizes and modification times are there at once; each
session file is then read once through the log tree (`albicilla.logs.tree`, the one reader of
roots, days and session files, plain or compacted) and summarized. A file is read again only when
its (path, size, mtime) changes, so an appended record shows up on the next look and a tree of
10,000 files re-reads only the files that changed (docs/design.md section 12).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..logs.records import Position
from ..logs.tree import (
    PLAIN,
    find_sessions,
    log_roots,
    session_records,
)
from .files import (
    TORN,
    FileState,
    Signature,
    goes_on,
    records_from,
    signature_of,
    stem_of,
)
from .summary import RecordSummary, Totals, client_kind, summarize

SCAN_EVERY_S = 1.0  # a listing is at most this old when a page is drawn


@dataclass
class SessionEntry:
    """One session id: its files, one per day, in day order."""

    stem: str
    files: list[FileState]

    @property
    def session(self) -> str:
        for state in self.files:
            if state.session_id is not None:
                return state.session_id
        return self.stem

    @property
    def days(self) -> list[str]:
        return [state.file.day for state in self.files]

    @property
    def indexed(self) -> bool:
        return not any(state.stale for state in self.files)

    @property
    def size(self) -> int:
        return sum(state.size for state in self.files)

    @property
    def mtime(self) -> float:
        return max(state.mtime for state in self.files)

    @property
    def signature(self) -> Signature:
        return tuple(part for state in self.files for part in state.signature)

    def totals(self) -> Totals:
        """The session's counts; not to be changed (a one-file session's are the file's own)."""
        if len(self.files) == 1:
            return self.files[0].totals
        totals = Totals()
        for state in self.files:
            totals.add(state.totals)
        return totals

    def summaries(self) -> Iterator[tuple[FileState, RecordSummary]]:
        for state in self.files:
            for summary in state.summaries:
                yield state, summary


class LogIndex:
    """The sessions under `logs`, kept up to date by `refresh` (and `run` in a thread)."""

    def __init__(self, logs: list[str]) -> None:
        self.logs = logs
        self._lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._read_lock = threading.Lock()  # one reader per file at a time: positions move
        self._files: dict[tuple[str, str], FileState] = {}
        self._sessions: dict[str, SessionEntry] = {}
        self._by_id: dict[str, SessionEntry] = {}
        self._scanned_at = 0.0
        self.listed = threading.Event()
        self.generation = 0  # changes whenever a file appears, changes or is read again
        self.errors: list[str] = []
        self.rows_cache: tuple[int, Any] | None = None  # the sessions list's rows, by generation

    # --- listing -------------------------------------------------------------------------

    def scan(self) -> None:
        """List the roots and stat every session file; no file is opened."""
        try:
            found = find_sessions(log_roots(list(self.logs)))
        except OSError as exc:
            self.errors = [f"cannot list logs: {exc.strerror or exc}"]
            found = []
        files: dict[tuple[str, str], FileState] = {}
        changed = False
        for session_file in found:
            signature = signature_of(session_file.paths)
            key = (session_file.day, session_file.name)
            old = self._files.get(key)
            if old is not None and old.signature == signature and old.file == session_file:
                files[key] = old
                continue
            changed = True
            state = FileState(
                session_file,
                signature,
                size=sum(part[1] for part in signature),
                mtime=max((part[2] for part in signature), default=0) / 1e9,
            )
            if old is not None:  # keep what was read until the file is read again
                state.summaries, state.totals = old.summaries, old.totals
                state.session_id, state.parsed = old.session_id, old.parsed
                state.warnings, state.kind = old.warnings, old.kind
                state.position = old.position
            files[key] = state
        if changed or len(files) != len(self._files):
            sessions: dict[str, SessionEntry] = {}
            for (_, name), state in files.items():
                stem = stem_of(name)
                entry = sessions.get(stem)
                if entry is None:
                    sessions[stem] = SessionEntry(stem, [state])
                else:
                    entry.files.append(state)
            with self._lock:
                self._files, self._sessions = files, sessions
                self._rebuild_ids()
                self.generation += 1
        self._scanned_at = time.monotonic()
        self.listed.set()

    def refresh(self, *, force: bool = False) -> None:
        """List again when the last listing is older than SCAN_EVERY_S."""
        if not force and time.monotonic() - self._scanned_at < SCAN_EVERY_S:
            return
        if self._scan_lock.acquire(blocking=not self.listed.is_set()):
            try:
                self.scan()
            finally:
                self._scan_lock.release()

    # --- reading ---------------------------------------------------------------------------

    def read(self, state: FileState) -> None:
        """Summarize the file's records: one parse per line, through the log tree. A lone plain
        `.jsonl` that only grew since it was last read is read from where that read stopped;
        one that shrank, was replaced or compacted, and every other file, is read whole."""
        with self._read_lock:
            if state.stale:
                self._read(state)

    def _read(self, state: FileState) -> None:
        signature = state.signature
        go_on = goes_on(state.parsed, signature, state.position)
        if go_on:
            summaries = list(state.summaries)
            totals = state.totals.copy()
            warnings = [w for w in state.warnings if not w.endswith(TORN)]
            session_id, kind = state.session_id, state.kind
            position = replace(state.position)  # type: ignore[type-var]
            if state.position.pending:  # type: ignore[union-attr]
                totals.damaged -= 1  # the torn line is read again below
        else:
            summaries, totals, warnings = [], Totals(), []
            session_id, kind, position = None, None, None
            if len(signature) == 1 and signature[0][0].endswith(PLAIN):
                position = Position()

        def damaged(path: str, line: int, reason: str) -> None:
            totals.damaged += 1
            warnings.append(f"{path}:{line}: {reason}")

        def unreadable(path: str, reason: str) -> None:
            warnings.append(f"{path}: cannot read: {reason}")

        if position is None:
            records = session_records(state.file, damaged, unreadable)
        else:
            records = records_from(signature[0][0], position, damaged, unreadable)
        for record in records:
            summary = summarize(record)
            summaries.append(summary)
            totals.add_summary(summary)
            if session_id is None and type(record.get("session_id")) is str:
                session_id = record["session_id"]
            if kind is None or kind == "other":
                kind = client_kind(record) or kind
        if position is not None and position.pending:
            totals.damaged += 1
            warnings.append(f"{signature[0][0]}:{position.lines + 1}: {TORN}")
        totals.clients.clear()
        if kind is not None:
            totals.clients[kind] += 1
        with self._lock:
            state.summaries, state.totals, state.warnings = summaries, totals, warnings
            state.kind, state.position = kind, position
            state.parsed = signature
            if state.session_id != session_id:
                state.session_id = session_id
                entry = self._sessions.get(stem_of(state.file.name))
                if entry is not None:  # one entry's id: no pass over every session
                    self._by_id[entry.session] = entry
            self.generation += 1

    def ensure(self, entry: SessionEntry) -> None:
        """Bring one session up to date now (its page is being drawn)."""
        for state in list(entry.files):
            if state.stale:
                self.read(state)

    def pending(self) -> list[FileState]:
        with self._lock:
            return [state for state in self._files.values() if state.stale]

    def read_all(self) -> None:
        for state in self.pending():
            self.read(state)

    def run(self, stop: threading.Event, every: float = SCAN_EVERY_S) -> None:
        """The background indexer: list, read what changed, wait, again."""
        while not stop.is_set():
            self.refresh(force=True)
            for state in self.pending():
                if stop.is_set():
                    return
                self.read(state)
            stop.wait(every)

    # --- looking up --------------------------------------------------------------------------

    def sessions(self) -> list[SessionEntry]:
        with self._lock:
            return list(self._sessions.values())

    def lookup(self, session: str) -> SessionEntry | None:
        """The session whose recorded id (else file name) is `session`; never a path join."""
        with self._lock:
            return self._by_id.get(session) or self._sessions.get(session)

    def progress(self) -> dict[str, Any]:
        with self._lock:
            states = list(self._files.values())
        total = sum(s.size for s in states)
        done = sum(s.size for s in states if not s.stale)
        return {
            "files": len(states),
            "files_indexed": sum(1 for s in states if not s.stale),
            "bytes": total,
            "bytes_indexed": done,
            "done": done == total,
            "generation": self.generation,
        }

    def _rebuild_ids(self) -> None:
        self._by_id = {entry.session: entry for entry in self._sessions.values()}
