"""Compacting one day directory: each idle `.jsonl` into a zstd frame of `.jsonl.zst`, crash-safe.

The steps (docs/design.md section 13), for a session file `N.jsonl` of a closed day, with the
day directory locked against another compactor:

1. copy the existing `N.jsonl.zst` (if any) into a hidden temporary file, without its last frame
   when the `.jsonl` begins with exactly that frame's bytes (a run killed after its rename);
2. compress the `.jsonl` into it as one frame left open, and fsync;
3. take the writers' flock on the `.jsonl`, compress what grew meanwhile, close the frame, fsync;
4. rename the temporary file over `N.jsonl.zst`, fsync the directory;
5. remove the `.jsonl`, fsync the directory, release the lock.

A kill before 4 leaves the `.jsonl` whole and a temporary file that readers skip and the next run
removes. A kill between 4 and 5 leaves a `.jsonl` whose bytes are the `.zst`'s last frame:
readers skip them (`tree`), and the next run replaces that frame with the whole `.jsonl`. Writers
check, once they hold the lock, that their file is still linked (`store`), so none appends to a
removed `.jsonl`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from dataclasses import dataclass

import zstandard

from .zst import FrameLines, frame_bytes

# Level 19 with a window up to 2^27: the window must cover the previous request of a session
# (a 200k-token history is about 1 MB), and `zstd -d` / `zstdcat` accept up to 2^27 by default.
LEVEL = 19
MAX_WINDOW_LOG = 27
MIN_WINDOW_LOG = 20
CHUNK = 1 << 20
TEMP_SUFFIX = ".tmp"  # `.N.jsonl.zst.tmp`: hidden, so no reader takes it
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class CompactError(Exception):
    """One session file that was left as it is, with the reason."""


@dataclass(frozen=True)
class Outcome:
    """What was done to one session file: `after` is the bytes its new frame takes (0 in a dry
    run)."""

    name: str
    before: int
    after: int


def checkpoint(step: str) -> None:
    """Called after each durable step; tests replace it to kill the process there."""


def open_day(day_dir: str) -> int:
    """The day directory, opened without following a symlink and locked against another
    compactor (waiting for it). Closing the descriptor releases the lock."""
    fd = os.open(day_dir, _DIR_FLAGS)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def idle_files(dir_fd: int, cutoff: float) -> list[str]:
    """The `.jsonl` names in the locked day directory not modified since `cutoff` (a time)."""
    names = []
    for name in sorted(os.listdir(dir_fd)):
        if name.startswith(".") or not name.endswith(".jsonl"):
            continue
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if info.st_mtime <= cutoff or not stat.S_ISREG(info.st_mode):
            names.append(name)  # a non-regular one is reported by `compact_file`
    return names


def compact_file(dir_fd: int, plain: str, dry_run: bool = False) -> Outcome:
    """Move `plain` (a `.jsonl` in the locked day directory) into `plain.zst`; raises
    CompactError (the file left as it was) or OSError."""
    source = os.open(plain, _READ_FLAGS, dir_fd=dir_fd)
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise CompactError("not a regular file, left alone")
        packed = plain + ".zst"
        base, keep = _base(dir_fd, packed, source)
        try:
            if dry_run:
                return Outcome(plain, info.st_size, 0)
            return _write(dir_fd, plain, source, base, keep)
        finally:
            if base is not None:
                os.close(base)
    finally:
        os.close(source)


def _base(dir_fd: int, packed: str, source: int) -> tuple[int | None, int]:
    """The existing `.zst` (or None) and how many of its bytes the new file keeps."""
    try:
        base = os.open(packed, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, 0
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CompactError(f"{packed} is a symlink, left alone") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(base).st_mode):
            raise CompactError(f"{packed} is not a regular file, left alone")
        size = os.fstat(base).st_size
        with os.fdopen(os.dup(base), "rb") as handle:
            last = FrameLines(handle)
            for _ in last:
                pass
            frame = last.last
            if frame is not None and frame.size:
                head = os.pread(source, frame.size, 0)
                if head == frame_bytes(handle, frame):
                    return base, frame.start  # killed after its rename: that frame again
        return base, size
    except BaseException:
        os.close(base)
        raise


def _write(dir_fd: int, plain: str, source: int, base: int | None, keep: int) -> Outcome:
    packed = plain + ".zst"
    temp = "." + packed + TEMP_SUFFIX
    out = _create_temp(dir_fd, temp)
    renamed = False
    try:
        if base is not None:
            _copy(base, out, keep)
        size = os.fstat(source).st_size
        window = min(MAX_WINDOW_LOG, max(MIN_WINDOW_LOG, (size * 2).bit_length()))
        params = zstandard.ZstdCompressionParameters.from_level(LEVEL, window_log=window)
        compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
        read = _feed(source, 0, compressor, out)
        os.fsync(out)
        checkpoint("compressed")
        fcntl.flock(source, fcntl.LOCK_EX)  # writers hold it for one write
        try:
            read = _feed(source, read, compressor, out)
            _write_all(out, compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
            info = os.fstat(source)
            os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
            os.fsync(out)
            checkpoint("sealed")
            os.rename(temp, packed, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            renamed = True
            checkpoint("renamed")
            os.fsync(dir_fd)
            os.unlink(plain, dir_fd=dir_fd)
            checkpoint("removed")
            os.fsync(dir_fd)
        finally:
            fcntl.flock(source, fcntl.LOCK_UN)
        return Outcome(plain, read, os.fstat(out).st_size - keep)
    finally:
        os.close(out)
        if not renamed:
            try:
                os.unlink(temp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass


def _create_temp(dir_fd: int, temp: str) -> int:
    """A new temporary file; one left by a killed run (or planted) is removed first, never
    followed: the day directory is locked, so no other compactor is using it."""
    try:
        return os.open(temp, _TEMP_FLAGS, 0o600, dir_fd=dir_fd)
    except FileExistsError:
        os.unlink(temp, dir_fd=dir_fd)
        return os.open(temp, _TEMP_FLAGS, 0o600, dir_fd=dir_fd)


def remove_stale_temps(dir_fd: int) -> None:
    """Temporary files of killed runs in the locked day directory."""
    for name in os.listdir(dir_fd):
        if name.startswith(".") and name.endswith(".jsonl.zst" + TEMP_SUFFIX):
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                pass


def _feed(source: int, offset: int, compressor: zstandard.ZstdCompressionObj, out: int) -> int:
    """Compress the source from `offset` to its end; returns the offset reached."""
    while True:
        chunk = os.pread(source, CHUNK, offset)
        if not chunk:
            return offset
        offset += len(chunk)
        _write_all(out, compressor.compress(chunk))


def _copy(base: int, out: int, count: int) -> None:
    offset = 0
    while offset < count:
        chunk = os.pread(base, min(CHUNK, count - offset), offset)
        if not chunk:
            raise CompactError("the existing .zst shrank while it was copied")
        _write_all(out, chunk)
        offset += len(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
