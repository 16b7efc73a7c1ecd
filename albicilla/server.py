"""Serving: the one gunicorn configuration, the runner behind albicilla-proxy, stop handling.

`albicilla-proxy` and `gunicorn wsgi:app` (through `gunicorn.conf.py`) both take their
settings from `gunicorn_options`, so the two cannot drift. This module imports neither Flask
nor the proxy at import time: `gunicorn.conf.py` loads it in the master, before gevent patches
the workers.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from .config import ConfigError, Settings, load_dotenv_file

if TYPE_CHECKING:
    from flask import Flask

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
    from .proxy.exchange import stop_in_flight

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


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """Every gunicorn setting the proxy runs with, under either entry point."""
    return {
        # Where to listen: PROXY_HOST/PROXY_PORT (--host/--port).
        "bind": f"{_bind_host(settings.host)}:{settings.port}",
        # Worker processes; each serves many connections as greenlets.
        "workers": settings.workers,
        # gevent: streams are long-lived and mostly waiting on the upstream.
        "worker_class": "gevent",
        # Simultaneous clients per worker (also the size of the upstream connection pool).
        "worker_connections": settings.worker_connections,
        # Seconds in-flight streams get to finish after SIGTERM before the worker is killed.
        "graceful_timeout": settings.graceful_timeout,
        # Each worker listens on its own SO_REUSEPORT socket and the kernel deals new
        # connections evenly between them; on one shared socket a burst of long streams could
        # pile onto whichever worker woke first (bench/RESULTS.md). Only processes of the same
        # user may bind the port too.
        "reuse_port": True,
        # Keep idle client connections this long (longer than the openai SDK's 5 s pool
        # expiry); short, because gunicorn waits for idle connections too before a worker stops.
        "keepalive": 10,
        # Must stay off under gevent: the app (and its sockets) is built in each patched worker.
        "preload_app": False,
        # gunicorn >= 25.1 opens a control socket at one fixed path; parallel instances collide.
        "control_socket_disable": True,
        # Errors to stderr; no access log: it would only repeat the records, and a query string
        # can carry a key (`?key=`).
        "errorlog": "-",
        "accesslog": None,
        "post_worker_init": freeze_loaded_objects,
    }


def freeze_loaded_objects(worker: Any = None) -> None:
    """Once a worker has built its app, move every object it holds so far (modules, the app,
    the pools' classes) out of the garbage collector's sight: they live as long as the worker,
    and each full collection would walk them all again while requests wait. About 4-6% of the
    CPU a request costs under load (bench/RESULTS.md)."""
    gc.collect()
    gc.freeze()


def gunicorn_conf_options() -> dict[str, Any]:
    """The settings for `gunicorn.conf.py`: `.env` and PROXY_* read as albicilla-proxy reads
    them; a bad value is the same one line and exit status 2."""
    load_dotenv_file()
    try:
        settings = Settings.load()
    except ConfigError as err:
        print(err.line(), file=sys.stderr)
        raise SystemExit(2) from None
    return gunicorn_options(settings)


def serve(settings: Settings) -> int:
    """Run gunicorn with gevent workers in this process until it is stopped."""
    from gunicorn.app.base import BaseApplication

    class ProxyApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return worker_app(settings)

    ProxyApplication().run()
    return 0


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
