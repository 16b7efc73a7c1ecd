"""Notice a client that hung up while its request still waits on the upstream.

A relay only learns that its client left when a write fails, which on a silent upstream (a
reasoning model thinking for a minute) can be a long time. Under gevent, a watcher greenlet waits
for the client socket to turn readable; end of file means the client is gone, and the serving
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


def _noop() -> None:
    return None


def watch_for_hangup(environ: Mapping[str, Any]) -> Callable[[], None]:
    """Start watching the request's client socket; returns the function that stops watching."""
    sock = environ.get("gunicorn.socket")
    if sock is None or not _gevent_patched():
        return _noop
    import gevent
    from gevent.socket import wait_read

    serving = gevent.getcurrent()
    active = [True]

    def interrupt() -> None:
        # Runs in the hub while the serving greenlet is suspended, so the flag cannot change
        # under us: once stopped (record being written, response done), nothing is thrown.
        if active[0]:
            active[0] = False
            serving.throw(ClientGone())

    def watch() -> None:
        try:
            wait_read(sock.fileno())
            if sock.recv(1, socket.MSG_PEEK) != b"":
                return  # the client sent more (a pipelined request): not a hangup
        except OSError:
            pass  # reset by peer: gone too
        gevent.get_hub().loop.run_callback(interrupt)

    watcher = gevent.spawn(watch)

    def stop() -> None:
        active[0] = False
        # Blocking: a watcher still waiting on the fd when gunicorn closes the socket holds the
        # close (and the connection's slot) back by about a second.
        watcher.kill(block=True)

    return stop


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")
