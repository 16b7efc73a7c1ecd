"""Settings read once from flags, the environment and a `.env` file, and the `.env` loader."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; entry points print it on one line and exit 2."""

    def line(self) -> str:
        """The one line every entry point prints (`albicilla-proxy`, `gunicorn wsgi:app`)."""
        return f"albicilla: error: {self}"


# (setting name, environment variable, default, parser); the README table mirrors this.
_ENV = {
    "upstream_endpoint": "PROXY_UPSTREAM_ENDPOINT",
    "anthropic_endpoint": "PROXY_ANTHROPIC_ENDPOINT",
    "gemini_endpoint": "PROXY_GEMINI_ENDPOINT",
    "log_root": "PROXY_LOG_ROOT",
    "host": "PROXY_HOST",
    "port": "PROXY_PORT",
    "session_headers": "PROXY_SESSION_HEADER",
    "connect_timeout": "PROXY_CONNECT_TIMEOUT",
    "read_timeout": "PROXY_READ_TIMEOUT",
    "max_body_bytes": "PROXY_MAX_BODY_BYTES",
    "workers": "PROXY_WORKERS",
    "worker_connections": "PROXY_WORKER_CONNECTIONS",
    "graceful_timeout": "PROXY_GRACEFUL_TIMEOUT",
    "instance": "PROXY_INSTANCE",
    "redact_logs": "PROXY_REDACT_LOGS",
}


@dataclass(frozen=True)
class Settings:
    upstream_endpoint: str
    # Serves every /v1/messages... path (Anthropic); None: the upstream endpoint serves them too.
    anthropic_endpoint: str | None = None
    # Serves every /v1beta/... and /v1/models/...: path (Gemini); None: the upstream endpoint.
    gemini_endpoint: str | None = None
    log_root: Path = Path("./proxy_logs")
    host: str = "0.0.0.0"
    port: int = 9000
    session_headers: tuple[str, ...] = ("X-Session-Id",)
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    max_body_bytes: int = 64 * 1024 * 1024
    workers: int = 2
    worker_connections: int = 1000
    graceful_timeout: int = 30
    # Recorded in every record, so logs merged from several hosts say where each was captured.
    instance: str = ""
    redact_logs: bool = False
    # Base URL without a trailing "/v1", so "/v1/..." paths can be appended as they came.
    upstream_base: str = field(init=False)
    anthropic_base: str = field(init=False)
    gemini_base: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "upstream_base", normalize_upstream(self.upstream_endpoint))
        for name in ("anthropic", "gemini"):
            endpoint = getattr(self, f"{name}_endpoint")
            base = normalize_upstream(endpoint) if endpoint else self.upstream_base
            object.__setattr__(self, f"{name}_base", base)
        for name in ("port", "workers", "worker_connections", "max_body_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name.replace('_', '-')} must be a positive number")
        if not self.session_headers:
            raise ConfigError("session-header must name at least one header")
        for header in self.session_headers:
            if "_" in header:
                # gunicorn drops such headers (they could pass for '-' ones in WSGI's environ):
                # a session id sent in one would never arrive, and every record would fall back.
                raise ConfigError(
                    f"session-header {header!r} contains '_': gunicorn drops request headers "
                    "with underscores in their names, so it would never arrive; use '-'"
                )

    @classmethod
    def load(
        cls, overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings: explicit overrides (flags) win over the environment, then defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, var in _ENV.items():
            raw = environ.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        for name, value in (overrides or {}).items():
            if value is not None:
                values[name] = value
        if not values.get("upstream_endpoint"):
            raise ConfigError(
                "no upstream endpoint: pass --upstream-endpoint URL or set PROXY_UPSTREAM_ENDPOINT"
            )
        values.setdefault("instance", socket.gethostname())
        return cls(**{name: _parse(name, value) for name, value in values.items()})


_PARSERS = {
    "log_root": Path,
    "port": int,
    "workers": int,
    "worker_connections": int,
    "max_body_bytes": int,
    "connect_timeout": float,
    "read_timeout": float,
    "graceful_timeout": int,
    "redact_logs": lambda value: _BOOLEANS[value.lower()],
}
_BOOLEANS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _parse(name: str, value: object) -> object:
    if name == "session_headers":
        if isinstance(value, str):
            value = tuple(h.strip() for h in value.split(",") if h.strip())
        return tuple(value)  # type: ignore[arg-type]
    parser = _PARSERS.get(name)
    if parser is None or not isinstance(value, str):
        return value
    try:
        return parser(value)
    except (ValueError, KeyError):
        raise ConfigError(f"invalid value for {_ENV[name]}: {value!r}") from None


def normalize_upstream(endpoint: str) -> str:
    """`https://api.openai.com` and `https://api.openai.com/v1` both give `https://api.openai.com`."""
    base = endpoint.strip().rstrip("/")
    if not base.lower().startswith(("http://", "https://")) or "://" == base[-3:]:
        raise ConfigError(f"upstream endpoint must be an http(s) URL, got {endpoint!r}")
    if base.lower().endswith("/v1"):
        base = base[:-3]
    return base


def load_dotenv_file(path: str | os.PathLike[str] = ".env") -> None:
    """Load `.env` from the working directory without overriding variables already set."""
    from dotenv import load_dotenv

    if os.path.isfile(path):
        load_dotenv(path, override=False)
