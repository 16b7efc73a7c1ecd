"""Whole SSE events in the usual form, recognised and cut out with a few passes in C: the
decoder's fast path for a chunk of whole one-line events (docs/benchmarks.md)."""

from __future__ import annotations


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
