"""One request/response exchange: its record, written exactly once, even if the worker stops."""

from __future__ import annotations

import atexit
import functools
import time
from collections.abc import Callable
from typing import Any

from ..logs.store import LogStore, serialize_record
from .sessions import session_file_name

SCHEMA_VERSION = 1
SHUTDOWN_REASON = "worker shutdown"

# Exchanges not yet recorded in this process, so a stopping worker can still write them.
_in_flight: set[Exchange] = set()
_atexit_registered = False


class Exchange:
    """Collects what the record needs while a request is served; `finish` writes it once."""

    def __init__(
        self,
        store: LogStore,
        *,
        endpoint: str,
        session_id: str,
        request: Any,
        stream: bool,
        arrived: float | None = None,
        instance: str | None = None,
        redact: Callable[[Any], Any] | None = None,
        model: str | None = None,
    ) -> None:
        self.store = store
        self.model = model  # from the path, for APIs whose body names none (Gemini)
        self.instance = instance
        self.endpoint = endpoint
        self.session_id = session_id
        self.request = request
        self.stream = stream
        self.arrived = time.time() if arrived is None else arrived
        # The same instant on the monotonic clock, so duration_ms survives a wall-clock step
        # (NTP) while the exchange runs; only the few ms since `arrived` are on the wall clock.
        self._started = time.monotonic() - max(0.0, time.time() - self.arrived)
        # Applied to the logged values only: what went upstream and back is never touched.
        self.redact = redact
        self.status = 0
        # For a stream in progress: returns the response rebuilt so far, and interrupts the
        # relay so that it tells the client the worker is stopping.
        self.partial_response: Callable[[], Any] | None = None
        self.interrupt: Callable[[], None] | None = None
        self.finished = False
        _track(self)

    def finish(
        self,
        *,
        status: int | None = None,
        response: Any = None,
        complete: bool,
        error: str | None,
    ) -> bool:
        """Write the record; later calls do nothing. Returns whether the line was stored."""
        if self.finished:
            return False
        self.finished = True
        _in_flight.discard(self)
        if status is not None:
            self.status = status
        record = self.record(response=response, complete=complete, error=error)
        if self.redact is not None:
            for key in ("request", "response", "error"):
                record[key] = self.redact(record[key])
        day = record["timestamp"][:10]  # the UTC day the request arrived: YYYY-MM-DD
        name = session_file_name(self.session_id)
        return self.store.append(day, name, serialize_record(record))

    def record(self, *, response: Any, complete: bool, error: str | None) -> dict[str, Any]:
        return build_record(
            arrived=self.arrived,
            session_id=self.session_id,
            request=self.request,
            response=response,
            status=self.status,
            stream=self.stream,
            complete=complete,
            error=error,
            # From the request's arrival to this record's writing, which comes before the client
            # has the last byte (docs/sessions-and-records.md, duration_ms).
            duration_ms=(time.monotonic() - self._started) * 1000.0,
            endpoint=self.endpoint,
            instance=self.instance,
            model=self.model,
        )

    def abandon(self, reason: str = SHUTDOWN_REASON) -> None:
        """Record whatever is known now: the worker is going away mid-exchange."""
        partial = self.partial_response() if self.partial_response else None
        self.finish(response=partial, complete=False, error=reason)


def build_record(
    *,
    arrived: float,
    session_id: str,
    request: Any,
    response: Any,
    status: int,
    stream: bool,
    complete: bool,
    error: str | None,
    duration_ms: float,
    endpoint: str,
    instance: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    record = {
        "timestamp": utc_timestamp(arrived),
        "session_id": session_id,
        "request": request,
        "response": response,
        "status": status,
        "stream": stream,
        "complete": complete,
        "error": error,
        "duration_ms": round(duration_ms, 3),
        "endpoint": endpoint,
        "schema_version": SCHEMA_VERSION,
    }
    if model is not None:
        record["model"] = model  # the model named by the path (docs/design.md section 14)
    if instance is not None:
        record["instance"] = instance  # which proxy host captured it (PROXY_INSTANCE)
    return record


def utc_timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with microseconds, as datetime's isoformat writes it, a Z for +00:00."""
    seconds = int(epoch // 1)
    micros = round((epoch - seconds) * 1e6)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    return _second(seconds) + f".{micros:06d}Z"


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    """The timestamp up to its second, formatted once for the records of that second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def abandon_in_flight(reason: str = SHUTDOWN_REASON) -> int:
    """Write a partial record for every exchange still open; returns how many."""
    pending = list(_in_flight)
    for exchange in pending:
        exchange.abandon(reason)
    return len(pending)


def stop_in_flight(grace: float = 0.5) -> int:
    """The worker is about to be killed: interrupt the streams still relayed, so each writes its
    record and sends its client the API's error frame, then record whatever is still open."""
    interrupted = [ex.interrupt for ex in list(_in_flight) if ex.interrupt is not None]
    for interrupt in interrupted:
        interrupt()
    if interrupted:
        time.sleep(grace)  # cooperative under gevent: the relays run now
    return abandon_in_flight()


def _track(exchange: Exchange) -> None:
    global _atexit_registered
    _in_flight.add(exchange)
    if not _atexit_registered:
        # A worker leaving through sys.exit (SIGINT, SIGQUIT, graceful timeout) runs this.
        atexit.register(abandon_in_flight)
        _atexit_registered = True
