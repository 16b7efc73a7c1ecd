"""A stream that is one JSON array (Gemini's `streamGenerateContent` without `alt=sse`): bytes
in as they arrive, each whole element out as its raw bytes."""

from __future__ import annotations

import re
from collections.abc import Callable

from .sse import MAX_EVENT_BYTES

# Where something happens outside a string: a bracket, a brace, a quote opening a string.
_STRUCTURE = re.compile(rb'["\[\]{}]')
# Inside a string: its closing quote or an escape.
_IN_STRING = re.compile(rb'["\\]')
_WHITESPACE = b" \t\r\n,"


class JsonArraySplitter:
    """Feed the bytes of one top-level JSON array; each whole element goes to `on_element` as
    its raw bytes. Splits anywhere (inside strings, escapes, UTF-8 sequences) are fine.

    An element whose bytes grow past `max_bytes` is dropped (noted) and skipped to its end, so a
    broken upstream cannot grow memory without bound. `done` is set by the closing `]`.
    """

    def __init__(
        self,
        on_element: Callable[[bytes], None],
        note: Callable[[str], None],
        *,
        max_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.on_element = on_element
        self.note = note
        self._max = max_bytes
        self._started = False  # the opening `[` has come
        self._done = False
        self._depth = 0  # nesting inside the current element (0: between elements)
        self._in_string = False
        self._escape = False  # the last byte held was a backslash inside a string
        self._parts: list[bytes] = []  # the current element's bytes, joined when it ends
        self._held = 0
        self._dropping = False  # the current element went over the limit
        self._scalar = False  # the current element is a bare number, true, false or null
        self._string_top = False  # the current element is a bare string
        self._junk_noted = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def in_element(self) -> bool:
        """Bytes of an element have come but not its end: a cut here loses it."""
        return self._depth > 0 or self._scalar

    @property
    def started(self) -> bool:
        return self._started

    def feed(self, chunk: bytes) -> None:
        pos, end = 0, len(chunk)
        while pos < end and not self._done:
            if not self._started:
                pos = self._skip_space(chunk, pos)
                if pos == end:
                    return
                if chunk[pos] != 0x5B:  # '['
                    self._junk(chunk[pos : pos + 20])
                    return
                self._started = True
                pos += 1
            elif self._depth == 0 and not self._scalar:
                pos = self._skip_space(chunk, pos)
                if pos == end:
                    return
                byte = chunk[pos]
                if byte == 0x5D:  # ']'
                    self._done = True
                    return
                if byte in (0x7B, 0x5B):  # '{' or '['
                    self._begin()
                    self._depth = 1
                    pos += 1
                    self._hold(chunk[pos - 1 : pos])
                elif byte == 0x22:  # '"'
                    self._begin()
                    self._depth = 1
                    self._in_string = self._string_top = True
                    pos += 1
                    self._hold(b'"')
                else:
                    self._begin()
                    self._scalar = True
            elif self._scalar:
                pos = self._scan_scalar(chunk, pos)
            else:
                pos = self._scan(chunk, pos)

    def _begin(self) -> None:
        self._parts, self._held, self._dropping = [], 0, False

    def _skip_space(self, chunk: bytes, pos: int) -> int:
        end = len(chunk)
        while pos < end and chunk[pos] in _WHITESPACE:
            pos += 1
        return pos

    def _scan_scalar(self, chunk: bytes, pos: int) -> int:
        start, end = pos, len(chunk)
        while pos < end and chunk[pos] not in b" \t\r\n,]":
            pos += 1
        self._hold(chunk[start:pos])
        if pos < end:
            self._scalar = False
            self._emit()
        return pos

    def _scan(self, chunk: bytes, pos: int) -> int:
        """Inside an element: find where it ends, holding its bytes on the way."""
        start, end = pos, len(chunk)
        while pos < end:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    pos += 1
                    continue
                found = _IN_STRING.search(chunk, pos)
                if found is None:
                    pos = end
                    break
                pos = found.end()
                if found.group() == b"\\":
                    self._escape = True
                else:
                    self._in_string = False
                    if self._string_top:  # a top-level string element ends with its quote
                        self._string_top = False
                        self._hold(chunk[start:pos])
                        self._depth = 0
                        self._emit()
                        return pos
                continue
            found = _STRUCTURE.search(chunk, pos)
            if found is None:
                pos = end
                break
            pos = found.end()
            byte = found.group()
            if byte == b'"':
                self._in_string = True
            elif byte in (b"{", b"["):
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    self._hold(chunk[start:pos])
                    self._emit()
                    return pos
        self._hold(chunk[start:pos])
        return pos

    def _hold(self, piece: bytes) -> None:
        if self._dropping or not piece:
            return
        self._held += len(piece)
        if self._held > self._max:
            self._dropping = True
            self._parts = []
            self.note("oversized JSON array element dropped")
            return
        self._parts.append(piece)

    def _emit(self) -> None:
        parts, dropping = self._parts, self._dropping
        self._begin()
        if not dropping:
            self.on_element(b"".join(parts))

    def _junk(self, sample: bytes) -> None:
        if not self._junk_noted:
            self._junk_noted = True
            self.note(f"stream is not a JSON array: {sample!r}")
        self._done = True
