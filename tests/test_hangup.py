"""The hangup watcher stays out of the way where it cannot work."""

from __future__ import annotations

from albicilla.proxy.hangup import watch_for_hangup


class _TLSSocket:
    def getpeercert(self):  # the mark of an SSL socket
        return None

    def fileno(self):
        raise AssertionError("a TLS socket must not be watched")


def test_no_socket_means_no_watcher():
    stop = watch_for_hangup({})
    assert stop() is None


def test_tls_sockets_are_not_watched(monkeypatch):
    # As under gunicorn's gevent worker, where watching is otherwise on.
    monkeypatch.setattr("albicilla.proxy.hangup._gevent_patched", lambda: True)
    stop = watch_for_hangup({"gunicorn.socket": _TLSSocket()})
    assert stop() is None
