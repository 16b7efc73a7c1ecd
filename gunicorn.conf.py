"""gunicorn settings for `gunicorn wsgi:app`, driven by the same PROXY_* variables and `.env`.

Imports nothing of the app but its settings (stdlib only): workers build the app themselves
after gevent has patched them.
"""

import os
import sys

from dotenv import load_dotenv

from albicilla.config import ConfigError, Settings

# .env never overrides a variable that is already set.
if os.path.isfile(".env"):
    load_dotenv(".env", override=False)

# Every setting is checked here, once, as albicilla-proxy checks it: a bad one is one line and
# exit 2 from the master, not a traceback from each worker that fails to boot.
try:
    Settings.load()
except ConfigError as err:
    print(f"albicilla: error: {err}", file=sys.stderr)
    sys.exit(2)

_host = os.environ.get("PROXY_HOST", "0.0.0.0")
# Where to listen: PROXY_HOST/PROXY_PORT, like albicilla-proxy.
bind = f"[{_host}]:{os.environ.get('PROXY_PORT', '9000')}" if ":" in _host else (
    f"{_host}:{os.environ.get('PROXY_PORT', '9000')}"
)
# Worker processes; each serves many connections as greenlets.
workers = int(os.environ.get("PROXY_WORKERS", "2"))
# gevent: streams are long-lived and mostly waiting on the upstream.
worker_class = "gevent"
# Each worker listens on its own SO_REUSEPORT socket and the kernel deals new connections
# evenly between them. On one shared socket whichever worker woke first accepted, and a burst
# of long streams could pile onto one worker: 1,000 streams split up to 885/115 (and 625/375,
# 614/386 in later runs); with reuse_port every run split within 528/472, at the same ratio to
# the floor (bench/RESULTS.md). Only processes of the same user may bind the port too.
reuse_port = True
# Simultaneous clients per worker (also the size of the upstream connection pool).
worker_connections = int(os.environ.get("PROXY_WORKER_CONNECTIONS", "1000"))
# Seconds in-flight streams get to finish after SIGTERM before the worker is killed.
graceful_timeout = int(os.environ.get("PROXY_GRACEFUL_TIMEOUT", "30"))
# Keep idle client connections this long (longer than the openai SDK's 5 s pool expiry);
# short, because gunicorn waits for idle connections too before a worker stops on SIGTERM.
keepalive = 10
# Must stay off under gevent: the app (and its sockets) is built in each patched worker.
preload_app = False
# gunicorn >= 25.1 opens a control socket at one fixed path; parallel instances would collide.
control_socket_disable = True
# Errors to stderr; no access log (it would only repeat what the JSONL log holds).
errorlog = "-"
