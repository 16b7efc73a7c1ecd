"""The JSONL log store: one locked, single-write append per record, and the store's health."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..jsonio import dumps_line

# How long a writer waits for another process's lock before appending without it (an O_APPEND
# write of one line is still never interleaved on a local filesystem).
LOCK_PATIENCE_S = 10.0
# Opens of a file that was removed (compacted) while a writer waited for its lock; the last one
# writes whatever it holds.
REOPEN_ATTEMPTS = 5
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Read-write: the torn-line check reads the last byte.
_FILE_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
# The /health probe file: hidden, never a `.jsonl`, so the converter never reads it.
_PROBE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def serialize_record(record: dict[str, Any]) -> bytes:
    """The whole line, built before any lock is taken (lone surrogates from a client's JSON
    are not UTF-8: such a record is written escaped, which keeps them exactly)."""
    return dumps_line(record)


class LogStore:
    """Appends lines under `root/<day>/<name>.jsonl`; remembers whether the last append failed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.last_error: str | None = None
        self.failures = 0
        self._report_lock = threading.Lock()

    def append(self, day: str, name: str, line: bytes) -> bool:
        try:
            append_line(self.root, day, name + ".jsonl", line)
        except OSError as exc:
            self._failed(f"cannot write {day}/{name}.jsonl: {exc.strerror or exc}")
            return False
        if self.last_error is not None:
            self.last_error = None
            print("albicilla: log store recovered, logging resumed", file=sys.stderr, flush=True)
        return True

    def _failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason
        print(f"albicilla: record lost: {reason}", file=sys.stderr, flush=True)

    def health(self) -> dict[str, Any]:
        """The store's state now: a probe write, so every worker reports the same."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        try:
            probe_store(self.root, day)
        except OSError as exc:
            reason = self.last_error or f"cannot write {day}/: {exc.strerror or exc}"
            return {"status": "degraded", "reason": reason, "records_lost": self.failures}
        if self.last_error is not None:
            self.last_error = None
            print("albicilla: log store recovered, logging resumed", file=sys.stderr, flush=True)
        return {"status": "ok"}


def append_line(root: Path, day: str, file_name: str, line: bytes) -> None:
    """Append one line to root/day/file_name under an exclusive flock, in one write.

    Once locked, the file must still be the one at its path: the compactor (docs/design.md
    section 13) removes a `.jsonl` under this lock after copying it, and a record appended to the
    removed file would be lost, so the writer opens the path again. Closing the file releases
    the lock."""
    dir_fd = _open_day_dir(root, day)
    try:
        for attempt in range(REOPEN_ATTEMPTS):
            fd = os.open(file_name, _FILE_FLAGS, 0o600, dir_fd=dir_fd)
            try:
                _lock(fd)
                held = os.fstat(fd)
                if attempt + 1 < REOPEN_ATTEMPTS and not _still_linked(held, file_name, dir_fd):
                    continue
                _write_line(fd, line, held.st_size)
                return
            finally:
                _close(fd)
    finally:
        _close(dir_fd)


def _still_linked(held: os.stat_result, file_name: str, dir_fd: int) -> bool:
    """Whether the open file (`held`, its fstat) is still the one named `file_name` (not
    removed or replaced)."""
    if held.st_nlink == 0:
        return False
    try:
        named = os.stat(file_name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (named.st_ino, named.st_dev) == (held.st_ino, held.st_dev)


def _write_line(fd: int, line: bytes, size: int) -> None:
    """Write `line` at the end of the file, `size` bytes long when it was locked."""
    # A torn last line (a writer killed mid-write) must not swallow this record.
    if size and os.pread(fd, 1, size - 1) != b"\n":
        line = b"\n" + line
    view = memoryview(line)
    while view:
        view = view[os.write(fd, view) :]


def _close(fd: int) -> None:
    """Close a descriptor of the log tree. Not `os.close`: gevent's monkey-patching wraps it
    in an fcntl and an fstat, and defers a directory's close through its event loop (about
    4 us a record together); these descriptors are never watched by an event loop, and
    nothing is written at close (every write has returned), so its error does not matter."""
    os.closerange(fd, fd + 1)


def probe_store(root: Path, day: str) -> None:
    """Write and remove a page in root/day the way a record is written; raises OSError."""
    dir_fd = _open_day_dir(root, day)
    try:
        name = f".health-probe-{os.getpid()}"
        fd = os.open(name, _PROBE_FLAGS, 0o600, dir_fd=dir_fd)
        try:
            os.write(fd, b"\n" * 4096)
        finally:
            os.close(fd)
            os.unlink(name, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _open_day_dir(root: Path, day: str) -> int:
    path = os.path.join(root, day)
    try:
        return os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        pass
    os.makedirs(root, mode=0o700, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    return os.open(path, _DIR_FLAGS)


def _lock(fd: int) -> bool:
    """Take the lock without blocking the process: a blocking flock would freeze every greenlet."""
    deadline = time.monotonic() + LOCK_PATIENCE_S
    delay = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() > deadline:
            print("albicilla: log lock busy, appending without it", file=sys.stderr, flush=True)
            return False
        time.sleep(delay)  # cooperative under gevent's monkey-patching
        delay = min(delay * 2, 0.02)
