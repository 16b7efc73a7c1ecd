"""albicilla-view: serve the viewer over the log roots under gunicorn (one process, threads)."""

from __future__ import annotations

import argparse
import sys

from ..config import ConfigError
from .settings import ViewSettings

THREADS = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albicilla-view",
        description="Read-only web viewer over albicilla log roots. Flags override "
        "ALBICILLA_VIEW_* variables.",
    )
    parser.add_argument(
        "--logs",
        action="append",
        help="a log root, or a directory of host roots; repeatable (ALBICILLA_VIEW_LOGS, "
        "./proxy_logs)",
    )
    parser.add_argument("--host", help="bind address (ALBICILLA_VIEW_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="bind port (ALBICILLA_VIEW_PORT, 9100)")
    parser.add_argument(
        "--token", help="access token every request needs (ALBICILLA_VIEW_TOKEN, none)"
    )
    parser.add_argument(
        "--redact",
        action="store_true",
        default=None,
        help="show every page and download through the redactor (ALBICILLA_VIEW_REDACT, off)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = ViewSettings.load(vars(args))
    except ConfigError as err:
        print(f"albicilla-view: error: {err}", file=sys.stderr)
        return 2
    return serve(settings)


def serve(settings: ViewSettings) -> int:
    """Run gunicorn in this process: one worker (the index lives in memory), threads for pages."""
    from gunicorn.app.base import BaseApplication

    from . import create_app

    host = settings.host
    bind = f"[{host}]" if ":" in host and not host.startswith("[") else host

    class ViewApplication(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{bind}:{settings.port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": THREADS,
                "preload_app": False,
                "control_socket_disable": True,
                "errorlog": "-",
                "timeout": 120,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return create_app(settings)

    print(
        f"albicilla-view: http://{bind}:{settings.port}/ over {', '.join(settings.logs)}",
        file=sys.stderr,
        flush=True,
    )
    ViewApplication().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
