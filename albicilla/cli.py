"""albicilla-proxy: run the proxy under gunicorn with gevent workers, configured by flags."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, Settings, load_dotenv_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albicilla-proxy",
        description="OpenAI-compatible logging proxy. Flags override PROXY_* variables and .env.",
    )
    parser.add_argument("--upstream-endpoint", help="upstream base URL (PROXY_UPSTREAM_ENDPOINT)")
    parser.add_argument(
        "--anthropic-endpoint",
        help="upstream for /v1/messages... (PROXY_ANTHROPIC_ENDPOINT, the upstream endpoint)",
    )
    parser.add_argument(
        "--gemini-endpoint",
        help="upstream for /v1beta/... and /v1/models/...: (PROXY_GEMINI_ENDPOINT, the upstream "
        "endpoint)",
    )
    parser.add_argument("--log-root", help="root of the log tree (PROXY_LOG_ROOT, ./proxy_logs)")
    parser.add_argument("--host", help="bind address (PROXY_HOST, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="bind port (PROXY_PORT, 9000)")
    parser.add_argument(
        "--session-header",
        dest="session_headers",
        help="session header(s), comma-separated (PROXY_SESSION_HEADER, X-Session-Id)",
    )
    parser.add_argument("--workers", type=int, help="gevent worker processes (PROXY_WORKERS, 2)")
    parser.add_argument(
        "--worker-connections",
        type=int,
        help="simultaneous clients per worker (PROXY_WORKER_CONNECTIONS, 1000)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        help="upstream connect timeout, s (PROXY_CONNECT_TIMEOUT, 10)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        help="longest gap between upstream bytes, s (PROXY_READ_TIMEOUT, 600)",
    )
    parser.add_argument(
        "--max-body-bytes", type=int, help="request body limit (PROXY_MAX_BODY_BYTES, 64 MiB)"
    )
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        help="seconds streams may finish after SIGTERM (PROXY_GRACEFUL_TIMEOUT, 30)",
    )
    parser.add_argument(
        "--instance", help="name recorded in every record (PROXY_INSTANCE, the host name)"
    )
    parser.add_argument(
        "--redact-logs",
        action="store_true",
        default=None,
        help="replace secrets in logged bodies with [REDACTED:<kind>] (PROXY_REDACT_LOGS, off)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_dotenv_file()
    try:
        settings = Settings.load(vars(args))
    except ConfigError as err:
        print(err.line(), file=sys.stderr)
        return 2
    from .server import serve

    return serve(settings)


if __name__ == "__main__":
    raise SystemExit(main())
