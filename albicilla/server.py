"""Serving: the gunicorn application behind albicilla-proxy, and per-worker stop handling."""

from __future__ import annotations

import logging
import signal
from typing import Any

from flask import Flask

from .config import Settings
from .proxy.exchange import stop_in_flight

# The master SIGKILLs a worker at the graceful timeout; records still open are written this
# long before, so they reach the disk.
STOP_MARGIN_S = 1.0
# How gunicorn starts the warning for a request it rejects before the app sees it.
_REJECTED = "Invalid request from ip="


def worker_app(settings: Settings | None = None) -> Flask:
    """The app as a gunicorn worker runs it: built in the worker, with stop handling installed."""
    from . import create_app

    app = create_app(settings)
    install_stop_handler(app.extensions["albicilla"].settings.graceful_timeout)
    withhold_rejected_request_details()
    return app


class _RejectedRequestFilter(logging.Filter):
    """Keep only the kind of error when gunicorn logs a request it rejected.

    gunicorn quotes the offending line, and a malformed header line can be a credential
    (`Authorization Bearer sk-...` without its colon): no header value may reach the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_REJECTED):
            where, _, error = message.partition(": ")
            record.msg = f"{where}: {error.split(':', 1)[0]} (the offending line is not logged)"
            record.args = ()
        return True


def withhold_rejected_request_details() -> None:
    logger = logging.getLogger("gunicorn.error")
    if not any(isinstance(f, _RejectedRequestFilter) for f in logger.filters):
        logger.addFilter(_RejectedRequestFilter())


def install_stop_handler(graceful_timeout: float) -> None:
    """On SIGTERM, keep gunicorn's graceful stop, and write unfinished records before the kill."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        if callable(previous):
            previous(signum, frame)
        _call_later(max(graceful_timeout - STOP_MARGIN_S, 0.0), stop_in_flight)

    signal.signal(signal.SIGTERM, on_sigterm)


def _call_later(delay: float, func: Any) -> None:
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        import gevent

        gevent.spawn_later(delay, func)
    else:
        import threading

        timer = threading.Timer(delay, func)
        timer.daemon = True
        timer.start()


def serve(settings: Settings) -> int:
    """Run gunicorn with gevent workers in this process until it is stopped."""
    from gunicorn.app.base import BaseApplication

    class ProxyApplication(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{_bind_host(settings.host)}:{settings.port}",
                "workers": settings.workers,
                "worker_class": "gevent",
                "worker_connections": settings.worker_connections,
                "graceful_timeout": settings.graceful_timeout,
                "keepalive": 10,
                "preload_app": False,
                "control_socket_disable": True,
                "errorlog": "-",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return worker_app(settings)

    ProxyApplication().run()
    return 0


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
