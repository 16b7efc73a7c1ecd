"""Decode a server-sent event stream from raw bytes, chunk by chunk, into (event, data) pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .sse_usual import cut_at_done, one_usual_event, usual_events

# A line still waiting for its line break, and the data lines of an event not yet ended, are
# held in memory: a broken upstream that never sends a line break must not grow them without end.
MAX_EVENT_BYTES = 8 * 1024 * 1024
# What holding one more data line costs beyond its bytes (a list slot, an object header), so that
# a flood of tiny data lines is bounded by the memory it takes, not only by its text.
_LINE_COST = 64
_BOM = b"\xef\xbb\xbf"
# A hostile or broken upstream must not grow a record without bound through notes.
MAX_NOTES = 20
# Smaller chunks (an event or two, or pieces of one) are read line by line: reading them at
# once gains nothing, and even looking for whole events in them costs (bench_rebuild --chunk).
_AT_ONCE = 1024
# The start of an event that a chunk read at once ends with (the read cut it) is kept as it
# came and read with the next chunk as if the two had come as one: the usual upstream's body
# arrives in two or three reads cut anywhere, and the cut event would otherwise split a run of
# whole events in two and go line by line.
# Events read on the fast path: their names and their data, the raw bytes of one line each.
RawEvents = Callable[[Sequence[bytes], Sequence[bytes]], None]


class SSEDecoder:
    """Feed raw bytes as they arrive; each complete event goes to `on_event(event, data)`.

    Lines end in CR, LF or CRLF (a CRLF may be cut between chunks), each data line is decoded as
    UTF-8 on its own (bad bytes become U+FFFD), and an event's data lines are joined with "\\n".
    Decoding stops at the first event whose data starts with [DONE]; `done` then says so, and
    a stream closed without it gets a note (unless `ends_with_done` is False: APIs whose streams
    end with a terminal event of their own).

    A line longer than `max_bytes` is dropped as if it had not been sent, and an event of several
    data lines that take more than `max_bytes` to hold is dropped whole (each line counted with
    64 bytes more); each drop is a note. The first MAX_NOTES notes, the decoder's and those its
    owner adds with `note`, are kept in `notes`.

    A chunk that starts at an event's start and holds whole events of one data line each (the
    usual chunk) is read at once; an event it ends with the start of waits, as it came, for the
    next chunk, and is read with it. An event of one data line (the usual event) goes to
    `on_events`, with the others of its chunk when the chunk was read at once: their names and
    data as two sequences of raw bytes (decoded as UTF-8 with "replace" by the consumer, or
    handed on to `on_event`, which `on_events` does by default); an event of several data
    lines goes to `on_event` decoded. The same events, in the same order, either way.
    """

    def __init__(
        self,
        on_event: Callable[[str, str], None],
        *,
        on_events: RawEvents | None = None,
        ends_with_done: bool = True,
        max_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.on_event = on_event
        self.on_events = on_events or self._each_event
        self.ends_with_done = ends_with_done
        self._notes: list[str] = []
        self._max = max_bytes
        self._partial: list[bytes] = []  # pieces of a line whose end has not arrived yet
        # Their length, counted from the first chunk without a line break on (until then the one
        # piece is a chunk's tail: no longer than the limit); past _max the pieces are let go.
        self._held = 0
        self._skip_lf = False  # the last chunk ended in CR: a leading LF completes that CRLF
        self._first_line = True
        self._data: list[bytes] = []  # decoded when the event ends: once, for the usual one line
        self._size = 0  # what the event's data lines take, counted once there are two
        self._event = b""  # the event's name, raw
        self._closed = False
        self._done = False
        self._raw = b""  # the cut start of an event after whole events read at once, unread

    @property
    def done(self) -> bool:
        return self._done

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def note(self, note: str) -> None:
        """Something dropped or missing, e.g. an oversized line, or [DONE] at the close."""
        if len(self._notes) < MAX_NOTES:
            self._notes.append(note)
        elif len(self._notes) == MAX_NOTES:
            self._notes.append("further notes dropped")

    def unfinished_tail(self) -> bytes:
        """The line breaks that end what the stream left unfinished, so that bytes sent after
        it start a new event: a cut data line is only ended (the next event takes it in), and
        complete data lines still waiting are ended as an event of their own."""
        self._read_held()
        partial = self._partial
        if partial or self._held:
            if not partial or partial[0].startswith(b"data"):
                return b"\n"
            return b"\n\n" if self._data else b"\n"
        if self._data:
            return b"\n\n" if self._skip_lf else b"\n"  # after a CR, a lone LF only ends a CRLF
        return b""

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the stream; the events they complete go to `on_event`."""
        if self._done or self._closed or not chunk:
            return
        if self._raw:  # the cut event's start comes first: the two are read as one chunk
            chunk, self._raw = self._raw + chunk, b""
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return
        if chunk[-2:] == b"\n\n" and self._one_event(chunk):  # the read of one usual event
            return
        if len(chunk) >= _AT_ONCE and chunk.find(b"\n") < len(chunk) - 2:  # not one line
            rest = self._whole_events(chunk)  # what is left: the usual chunk leaves nothing
            if not rest or self._done:
                return
            if len(rest) < len(chunk):  # an event's start, cut: read with the next chunk
                self._raw = rest
                return
            chunk = rest
        if b"\n" not in chunk and b"\r" not in chunk:  # the held line goes on
            partial = self._partial
            held = self._held = (self._held or sum(map(len, partial))) + len(chunk)
            if held <= self._max:
                partial.append(chunk)  # joined once when the line ends, not on every chunk
            elif partial:
                self._partial = []  # too long: only its length is kept, to know where it ends
            return
        if len(chunk) > self._max:  # in pieces, so that only a line held across them can be long
            for start in range(0, len(chunk), self._max):
                self.feed(chunk[start : start + self._max])
            return
        # bytes.splitlines breaks on CR, LF and CRLF only (unlike str.splitlines, which would
        # also split inside JSON text at U+2028 or U+0085); the last byte says if one was cut.
        lines = chunk.splitlines()
        if self._partial:  # the held line ends in this chunk
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial = []
            self._held = 0
            if len(lines[0]) > self._max:
                del lines[0]
                self._drop_line()
        elif self._held:  # the end of a line too long to hold
            self._held = 0
            del lines[0]
            self._drop_line()
        last = chunk[-1]
        if last == 0x0D:
            self._skip_lf = True
        elif last != 0x0A:
            self._partial.append(lines.pop())
        if self._first_line and lines:
            lines[0] = self._without_bom(lines[0])
        field = self._field
        for raw in lines:
            if raw:
                field(raw)
                continue
            data, event = self._data, self._event  # a blank line: the event ends
            self._data, self._event = [], b""
            if len(data) == 1:  # the usual event, and one line is never over the limit
                if data[0].startswith(b"[DONE]"):  # the openai SDK's test too
                    self._done = True
                    return
                self.on_events((event,), data)  # raw, as from the fast path
                continue
            self._size = 0
            if not data:
                continue
            text = "\n".join([part.decode("utf-8", "replace") for part in data])
            if text.startswith("[DONE]"):
                self._done = True
                return
            self.on_event(event.decode("utf-8", "replace"), text)

    def _one_event(self, chunk: bytes) -> bool:
        """A chunk that is one whole event of the usual form (`one_usual_event`), arriving
        between events, goes to `on_events` as it is; False (nothing read) for any other."""
        if self._first_line or self._partial or self._held or self._data or self._size:
            return False
        event = None if self._event else one_usual_event(chunk)
        if event is None:
            return False
        name, data = event
        if data[:6] == b"[DONE]":  # the openai SDK's test too
            self._done = True
        else:
            self.on_events((name,), (data,))
        return True

    def _whole_events(self, chunk: bytes) -> bytes:
        """The whole events the chunk starts with (after the end of one under way, read line
        by line), read at once when they all have the usual form (else none); returns the
        bytes not read. When some were read, those bytes start an event, and nothing of an
        event is held (no line, data or name): they may wait for the next chunk as they are.

        The usual form is `usual_events`'s.
        """
        if self._partial or self._held or self._data or self._size or self._event:
            if b"\r" in chunk:
                return chunk
            end = chunk.find(b"\n\n") + 2  # without a CR, the first blank line ends it
            if end < 2 or end == len(chunk):  # no event after it: all line by line
                return chunk
            self.feed(chunk[:end])  # (its one blank line at its end: read line by line)
            if self._done:
                return b""
            chunk = chunk[end:]
        end = chunk.rfind(b"\n\n") + 2
        if end < 2 or len(chunk) > self._max or chunk.find(b"\r", 0, end) >= 0:
            return chunk
        events = usual_events(chunk if end == len(chunk) else chunk[:end])  # (no copy, usually)
        if events is None:
            return chunk  # (a byte order mark too, at the stream's start)
        names, datas = events
        self._first_line = False
        if cut_at_done(datas, chunk, end):
            self._done = True
        if datas:
            self.on_events(names[: len(datas)], datas)
        return chunk[end:]

    def _read_held(self) -> None:
        """Read the held start of an event line by line, as if it had not been held. (It holds
        no blank line, so it ends no event: holding it delayed none.)"""
        if self._raw:
            raw, self._raw = self._raw, b""
            self.feed(raw)  # (shorter than _AT_ONCE or not: it holds no blank line)

    def _each_event(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        on_event = self.on_event
        for name, data in zip(names, datas, strict=True):
            on_event(name.decode("utf-8", "replace"), data.decode("utf-8", "replace"))

    def close(self) -> None:
        """The stream has ended: a line or an event cut off before its end still counts."""
        if self._closed:
            return
        self.feed(b"\n\n")  # the line break, then the blank line, that did not come
        self._closed = True
        if not self._done and self.ends_with_done:
            self.note("stream ended without [DONE]")

    def _drop_line(self) -> None:
        self._first_line = False
        self.note("oversized SSE line dropped")

    def _without_bom(self, line: bytes) -> bytes:
        self._first_line = False
        return line[3:] if line.startswith(_BOM) else line

    def _field(self, raw: bytes) -> None:
        # Field and value split on bytes: ':' and ' ' never occur inside a UTF-8 sequence, so
        # this equals decoding the line first, with one decode per value instead.
        name, _, value = raw.partition(b":")
        if not name:
            return  # a comment, e.g. a keep-alive
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data = self._data
            if data or self._size:
                self._more_data(value)
            else:
                data.append(value)
        elif name == b"event":
            self._event = value

    def _more_data(self, value: bytes) -> None:
        # Counted only once a second line comes (one line is bounded as a line already); past
        # _max the event is dropped, and _size stays past it until the event ends.
        data = self._data
        size = self._size or len(data[0]) + _LINE_COST
        size = self._size = size + len(value) + _LINE_COST
        if size <= self._max:
            data.append(value)
        elif data:  # the line that crossed the limit: the event goes, noted once
            self._data = []
            self.note("oversized SSE event dropped")
