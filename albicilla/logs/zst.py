"""Reading a compacted session file (`.jsonl.zst`): its lines frame by frame, damage and all.

A compacted file is one zstd frame per batch of the `.jsonl` it replaced (docs/design.md section
13). Lines are split within a frame: a torn last line of one batch stays torn and never swallows
the first line of the next. A frame that does not decode is reported once and reading resumes at
the next frame's magic number, when one can be found.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame starts with these bytes (RFC 8878)
CHUNK = 1 << 17  # compressed bytes fed at a time: bounded output per step


@dataclass(frozen=True)
class Frame:
    """Where a whole frame lies in the file, and how many bytes it holds."""

    start: int
    end: int
    size: int


class FrameLines:
    """Iterates `(frame start, offset in frame, line)`; `line` is None for damage, whose reason
    is then in `offset`'s place as a string. After the iteration `last` is the final frame when
    it decoded whole and ends the file, else None."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._decompressor = zstandard.ZstdDecompressor()
        self.last: Frame | None = None

    def __iter__(self) -> Iterator[tuple[int, int | str, bytes | None]]:
        handle = self._handle
        handle.seek(0)
        start = 0
        data = b""  # compressed bytes not fed yet, beginning at `start + fed`
        while True:
            if not data:
                data = handle.read(CHUNK)
                if not data:
                    return
            decoder = self._decompressor.decompressobj()
            fed = 0
            offset = 0
            pending = b""
            self.last = None
            try:
                while True:
                    out = decoder.decompress(data)
                    if out:
                        if pending:
                            out = pending + out
                        pending = b""
                        for line in io.BytesIO(out):
                            if line[-1:] != b"\n":
                                pending = line
                                break
                            yield start, offset, line
                            offset += len(line)
                    if decoder.eof:
                        rest = decoder.unused_data
                        end = start + fed + len(data) - len(rest)
                        if pending:  # a torn last line of this batch
                            yield start, offset, pending
                            offset += len(pending)
                        if not rest:
                            rest = handle.read(CHUNK)
                        self.last = None if rest else Frame(start, end, offset)
                        start, data = end, rest
                        break
                    fed += len(data)
                    data = handle.read(CHUNK)
                    if not data:
                        yield start, "zstd frame cut short (the file ends inside it)", None
                        return
            except zstandard.ZstdError as exc:
                yield start, f"damaged zstd frame: {exc}", None
                found = _next_magic(handle, start + 1)
                if found is None:
                    return
                handle.seek(found)
                start, data = found, b""


def frame_bytes(handle: BinaryIO, frame: Frame) -> bytes:
    """The decompressed content of one whole frame."""
    handle.seek(frame.start)
    return (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress(handle.read(frame.end - frame.start))
    )


def line_in_frame(handle: BinaryIO, start: int, offset: int) -> bytes:
    """The line at `offset` of the frame at `start`, decompressing only as far as its end."""
    handle.seek(start)
    decoder = zstandard.ZstdDecompressor().decompressobj()
    data = bytearray()
    while not decoder.eof:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        data += decoder.decompress(chunk)
        end = data.find(b"\n", offset)
        if end >= 0:
            return bytes(data[offset : end + 1])
    return bytes(data[offset:])


def last_frame(handle: BinaryIO) -> Frame | None:
    """The file's final frame when every frame decodes and the last ends the file, else None."""
    frames = FrameLines(handle)
    for _ in frames:
        pass
    return frames.last


def _next_magic(handle: BinaryIO, position: int) -> int | None:
    """The offset of the next frame magic number at or after `position`, or None."""
    handle.seek(position)
    carry = b""
    base = position
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return None
        window = carry + chunk
        found = window.find(MAGIC)
        if found >= 0:
            return base - len(carry) + found
        carry = window[-(len(MAGIC) - 1) :]
        base += len(chunk)
