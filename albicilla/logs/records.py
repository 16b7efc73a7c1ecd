"""One session file's records: a plain `.jsonl` or a compacted `.jsonl.zst`, whole or from an
offset, with each line that is not a JSON object reported as damaged and skipped.

`tree.py` finds the files and merges a session's parts; this module reads one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import zstandard

from ..jsonio import loads as json_loads
from .zst import FrameLines, line_in_frame


def iter_records(
    path: str, on_damage: Callable[[int, str], None]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line number, record)` for every line that is a JSON object; report the others.

    A `.jsonl.zst` path is read frame by frame, its lines numbered across frames; a frame that
    does not decode is reported as one damaged line. One `jsonio.loads` per line and nothing else
    on the happy path: a damaged line is only examined after it failed to parse.
    """
    with open(path, "rb") as handle:
        if os.fspath(path).endswith(".zst"):
            yield from records(numbered_frames(FrameLines(handle), 1), on_damage)
        else:
            yield from records(enumerate(handle, 1), on_damage)


@dataclass
class Position:
    """How far `iter_records_from` has read a plain session file: the bytes and the number of
    its complete lines, and the bytes after them that have no newline yet (a line being
    written, or torn for good)."""

    offset: int = 0
    lines: int = 0
    pending: int = 0


def iter_records_from(
    path: str, position: Position, on_damage: Callable[[int, str], None]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Like `iter_records` for a plain `.jsonl`, from `position` on, moving it past every complete
    line read; a last line with no newline is left for the next call (`position.pending` says how
    long it is) and is not reported. Raises OSError when the file cannot be read.

    Reading a file again from where the last call stopped parses only what was appended. The file
    is read in blocks and split at newlines (cheaper than a buffered line iterator)."""
    with open(path, "rb", buffering=0) as handle:
        if position.offset:
            handle.seek(position.offset)
        position.pending = 0
        yield from records(_complete_lines(handle, position), on_damage, complete=True)


BLOCK = 1 << 18


def _complete_lines(handle: Any, position: Position) -> Iterator[tuple[int, bytes]]:
    """`(line number, line without its newline)` of each complete line from where `handle` is."""
    pieces: list[bytes] = []  # of a line longer than a block: joined once, when it ends
    while True:
        block = handle.read(BLOCK)
        if not block:
            break
        if b"\n" not in block:
            pieces.append(block)
            continue
        if pieces:
            pieces.append(block)
            block = b"".join(pieces)
        lines = block.split(b"\n")
        last = lines.pop()
        pieces = [last] if last else []
        for line in lines:
            position.offset += len(line) + 1
            position.lines += 1
            yield position.lines, line
    position.pending = sum(map(len, pieces))


def numbered_frames(frames: FrameLines, first: int) -> Iterator[tuple[int, bytes | str]]:
    """`(line number, line)`, or `(line number, reason)` for a frame that did not decode."""
    number = first
    for _, where, line in frames:
        yield number, (where if line is None else line)  # type: ignore[misc]
        number += 1


def records(
    lines: Iterable[tuple[int, bytes | str]],
    on_damage: Callable[[int, str], None],
    *,
    complete: bool = False,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The records of `lines`; `complete`: every line was followed by a newline (it may have
    been cut off)."""
    loads = json_loads
    for number, line in lines:
        if type(line) is str:  # a damaged zstd frame, already described
            on_damage(number, line)
            continue
        try:
            record = loads(line)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            on_damage(number, _damage_reason(line, exc, complete))  # type: ignore[arg-type]
            continue
        except RecursionError:  # nesting the proxy accepted but a deeper stack cannot parse
            on_damage(number, "JSON nested too deeply")
            continue
        if type(record) is not dict:
            on_damage(number, "not a JSON object")
            continue
        yield number, record


def iter_lines(path: str) -> Iterator[tuple[Any, bytes]]:
    """`(position, raw line)` of every line of a session file, for `line_at`; lines of a frame
    that does not decode are left out (`iter_records` reports them)."""
    with open(path, "rb") as handle:
        if os.fspath(path).endswith(".zst"):
            for start, offset, line in FrameLines(handle):
                if line is not None:
                    yield (start, offset), line
            return
        offset = 0
        for line in handle:
            yield offset, line
            offset += len(line)


def line_at(path: str, position: Any) -> bytes:
    """The raw line at a position `iter_lines` gave; raises OSError when the file is gone."""
    with open(path, "rb") as handle:
        if not os.fspath(path).endswith(".zst"):
            handle.seek(position)
            return handle.readline()
        try:
            return line_in_frame(handle, *position)
        except zstandard.ZstdError as exc:
            raise OSError(f"{path}: damaged zstd frame: {exc}") from exc


def _damage_reason(line: bytes, exc: ValueError, complete: bool = False) -> str:
    if not line.strip():
        return "blank line"
    if not complete and not line.endswith(b"\n"):
        return "torn last line (no newline at end of file)"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    return "not valid UTF-8"
