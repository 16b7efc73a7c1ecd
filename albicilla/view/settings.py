"""The viewer's settings: log roots, where to listen, the access token, redaction."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9100
# (setting, environment variable); docs/viewer.md mirrors this table.
ENV = {
    "logs": "ALBICILLA_VIEW_LOGS",
    "host": "ALBICILLA_VIEW_HOST",
    "port": "ALBICILLA_VIEW_PORT",
    "token": "ALBICILLA_VIEW_TOKEN",
    "redact": "ALBICILLA_VIEW_REDACT",
}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class ViewSettings:
    logs: tuple[str, ...] = ("./proxy_logs",)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    redact: bool = False
    # False: every request brings the index up to date itself (tests); True: a thread does.
    background: bool = True

    @classmethod
    def load(
        cls, flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> ViewSettings:
        """Flags first, then ALBICILLA_VIEW_* variables, then defaults; raises ConfigError."""
        env = os.environ if environ is None else environ
        logs = (
            flags.get("logs")
            or [p for p in env.get(ENV["logs"], "").split(os.pathsep) if p]
            or ["./proxy_logs"]
        )
        host = flags.get("host") or env.get(ENV["host"]) or DEFAULT_HOST
        port = flags.get("port")
        if port is None:
            text = env.get(ENV["port"], "")
            try:
                port = int(text) if text else DEFAULT_PORT
            except ValueError:
                raise ConfigError(f"{ENV['port']} must be a port number, not {text!r}") from None
        if not 0 < port < 65536:
            raise ConfigError(f"port must be between 1 and 65535, not {port}")
        token = flags.get("token") or env.get(ENV["token"]) or None
        redact = flags.get("redact")
        if not redact:
            text = env.get(ENV["redact"], "").strip().lower()
            if text not in TRUE | FALSE:
                raise ConfigError(f"{ENV['redact']} must be true or false, not {text!r}")
            redact = text in TRUE
        settings = cls(tuple(logs), host, port, token, bool(redact))
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse an address others can reach unless a token guards it (docs/design.md 12)."""
        for path in self.logs:
            if not os.path.isdir(path):
                raise ConfigError(f"--logs {path}: not a directory")
        if not self.token and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to listen on {self.host} without a token "
                f"(set --token or {ENV['token']}, or bind 127.0.0.1)"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
