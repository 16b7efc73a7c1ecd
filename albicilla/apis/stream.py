"""The base every API's stream accumulator builds on: a decoder it owns, the events it gets, and
the JSON rule for an event's data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..jsonio import loads_for_record, loads_native
from .sse import SSEDecoder


def parse_data(data: str) -> Any:
    """An event's data as JSON, read by the records' rule (`jsonio.loads_for_record`: NaN,
    Infinity and overflowing floats as null); ValueError when it is not JSON."""
    return loads_for_record(data)


class SSEStream:
    """An API's stream accumulator: raw bytes in through a decoder it owns, events to `on_event`.

    The decoder knows SSE and nothing of the API; the accumulator knows the API's events and
    nothing of bytes.
    """

    ends_with_done = True  # False for APIs whose streams end with a terminal event of their own

    def __init__(self) -> None:
        self._sse = SSEDecoder(
            self.on_event, on_events=self.on_events, ends_with_done=self.ends_with_done
        )
        self.note = self._sse.note

    def feed(self, chunk: bytes) -> None:
        self._sse.feed(chunk)

    def close(self) -> None:
        self._sse.close()

    @property
    def done(self) -> bool:
        """A [DONE] event has arrived."""
        return self._sse.done

    @property
    def notes(self) -> list[str]:
        return self._sse.notes

    def on_event(self, event: str, data: str) -> None:
        raise NotImplementedError

    def on_raw_event(self, name: bytes, data: bytes) -> None:
        """One event of one data line, raw: read from its bytes by msgspec when it takes them
        (`on_object`, with the same value `parse_data` gives), else the full way (`on_event`)."""
        try:
            obj = loads_native(data)
        except (ValueError, RecursionError):  # not UTF-8 or not plain JSON: the full way
            self.on_event(name.decode("utf-8", "replace"), data.decode("utf-8", "replace"))
        else:
            self.on_object(name.decode("utf-8", "replace"), obj, data)

    def on_object(self, event: str, obj: Any, raw: str | bytes) -> None:
        """An event's data read as JSON, and the data itself (for errors and notes); by default
        handed to `on_event` as text."""
        self.on_event(event, raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))

    def on_events(self, names: Sequence[bytes], datas: Sequence[bytes]) -> None:
        """A run of events of one data line each, raw (see SSEDecoder): each to `on_event`,
        unless the API reads the usual ones faster itself."""
        on_event = self.on_event
        for name, data in zip(names, datas, strict=True):
            on_event(name.decode("utf-8", "replace"), data.decode("utf-8", "replace"))
