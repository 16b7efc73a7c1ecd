"""Whole SSE events in the usual form, recognised and cut out with a few passes in C: the
decoder's fast path for a chunk of whole one-line events, or a chunk of one, and where a
[DONE] among them ends the stream (docs/benchmarks.md). Pure functions of the bytes; the
decoder's state stays in sse.py."""

from __future__ import annotations

from itertools import repeat


def usual_events(whole: bytes) -> tuple[list[bytes], list[bytes]] | None:
    """The events' names and data, if `whole` (bytes that end with a blank line, without CR)
    is made of events of the usual form only; None otherwise.

    The usual form: each event one `data: ` line, after one `event: ` line in every event or in
    none (the name is then b""), LF only, no comment or other field. Values are raw bytes, the
    one space after the colon taken off, as a line-by-line reading would take it off.
    """
    if whole.startswith(b"data: "):
        datas = whole.split(b"\n\ndata: ")
        datas[0] = datas[0][6:]
        datas[-1] = datas[-1][:-2]
        # The pairs of LFs split on and the last pair are all the LFs there are exactly when
        # each event is one data line: then no piece holds one. (Joined and searched with
        # memchr: counting the LFs of the whole is a slower byte-by-byte loop.)
        if b"".join(datas).find(b"\n") >= 0:
            return None
        return [b""] * len(datas), datas
    if whole.startswith(b"event: "):
        lines = whole.split(b"\n")  # [event, data, blank] per event, and b"" after the end
        del lines[-1]
        if len(lines) % 3 or any(lines[2::3]):
            return None
        datas = _values(lines[1::3], b"data: ")
        names = _values(lines[0::3], b"event: ")
        if datas is None or names is None:
            return None
        return names, datas
    return None


def _values(lines: list[bytes], prefix: bytes) -> list[bytes] | None:
    """What follows `prefix` on each line, if each starts with it (no line holds an LF)."""
    values = b"\n".join(lines).split(b"\n" + prefix)  # one piece per line exactly when each
    if len(values) != len(lines) or not values[0].startswith(prefix):  # after the first has it
        return None
    values[0] = values[0][len(prefix) :]
    return values


def one_usual_event(chunk: bytes) -> tuple[bytes, bytes] | None:
    """The name and data of `chunk` (bytes that end with a blank line) if it is exactly one
    event of the usual form; None otherwise.

    Its line breaks are found from the start (memchr, stopping early), not counted: a long chunk
    of many events is told apart at its first event's end.
    """
    if chunk[:6] == b"data: ":
        if chunk.find(b"\n") != len(chunk) - 2:
            return None
        name, data = b"", chunk[6:-2]
    elif chunk[:7] == b"event: ":
        line_end = chunk.find(b"\n")
        if chunk.find(b"\n", line_end + 1) != len(chunk) - 2:
            return None
        name, found, data = chunk[7:-2].partition(b"\ndata: ")
        if not found:
            return None
    else:
        return None
    if b"\r" in chunk:
        return None
    return name, data


def cut_at_done(datas: list[bytes], chunk: bytes, end: int) -> bool:
    """Drop the first value that starts with [DONE] (the openai SDK's test) and every one after
    it from `datas`, the values of the usual events in `chunk[:end]`; whether there was one.

    A value that starts with [DONE] sorts before b"[DONF"; the usual values, JSON objects, all
    sort after it, and their least is found in one pass of compares that stop early. Else the
    search: perhaps only inside a value.
    """
    first = -1 if min(datas) >= b"[DONF" else chunk.find(b"data: [DONE]", 0, end)
    if first == end - 8 - len(datas[-1]):  # it starts the last data line: that one ends it
        del datas[-1]
        return True
    if first >= 0:
        starts = list(map(bytes.startswith, datas, repeat(b"[DONE]")))
        if True in starts:
            del datas[starts.index(True) :]
            return True
    return False
