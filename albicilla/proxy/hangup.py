"""Notice a client that hung up while its request still waits on the upstream.

A relay only learns that its client left when a write fails, which on a silent upstream (a
reasoning model thinking for a minute) can be a long time. Under gevent, an io watcher waits for
the client socket to turn readable; end of file means the client is gone, and the serving
greenlet is interrupted with `ClientGone`, which closes the upstream connection at once.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from gevent import GreenletExit


class ClientGone(GreenletExit):
    """Raised in the serving greenlet when its client has closed the connection.

    A GreenletExit, so gunicorn's gevent worker ends the request quietly.
    """


class WorkerStopping(GreenletExit):
    """Raised in a greenlet relaying a stream when its worker must stop before the stream ends.

    The relay writes the record, sends the client the API's error frame and ends the body.
    """


def _noop() -> None:
    return None


def stopper() -> Callable[[], None] | None:
    """A function that interrupts the calling greenlet with WorkerStopping; None without gevent."""
    if not _gevent_patched():
        return None
    import gevent

    serving = gevent.getcurrent()

    def stop() -> None:
        gevent.kill(serving, WorkerStopping())  # asynchronous: raised when it next runs

    return stop


def watch_for_hangup(environ: Mapping[str, Any]) -> Callable[[], None]:
    """Start watching the request's client socket; returns the function that stops watching."""
    sock = environ.get("gunicorn.socket")
    # TLS terminated in gunicorn: readable may be a TLS record, and MSG_PEEK is refused.
    if sock is None or hasattr(sock, "getpeercert") or not _gevent_patched():
        return _noop
    import gevent

    serving = gevent.getcurrent()
    # A bare libev watcher, not a greenlet: starting and stopping it costs a few microseconds,
    # which every chat request pays.
    readable = gevent.get_hub().loop.io(sock.fileno(), 1)

    def on_readable() -> None:
        # Runs in the hub while the serving greenlet is suspended, so nothing can change under
        # us; once stopped (record being written, response done), this never runs.
        readable.stop()
        try:
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"":
                return  # the client sent more (a pipelined request): not a hangup
        except BlockingIOError:
            return  # a spurious wake-up
        except OSError:
            pass  # reset by peer: gone too
        serving.throw(ClientGone())

    readable.start(on_readable)

    def stop() -> None:
        readable.stop()
        readable.close()

    return stop


_patched = False  # seen patched once: a process is never unpatched


def _gevent_patched() -> bool:
    global _patched
    if _patched:
        return True
    try:
        from gevent import monkey
    except ImportError:
        return False
    _patched = monkey.is_module_patched("socket")
    return _patched
