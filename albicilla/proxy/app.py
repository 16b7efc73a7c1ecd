"""The Flask application: per-worker state, the /v1 blueprint, /health and error handlers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from ..apis import error_body_for
from ..config import Settings
from ..errors import ProxyError, error_body
from ..logs.store import LogStore
from ..redact import Redactor
from . import views
from .upstream import Upstream


@dataclass
class ProxyState:
    settings: Settings
    store: LogStore
    upstream: Upstream
    # Built once per worker when --redact-logs is on: it redacts each record before it is written.
    redactor: Redactor | None = None


def build_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.load()
    app = Flask("albicilla")
    app.extensions["albicilla"] = ProxyState(
        settings=settings,
        store=LogStore(settings.log_root),
        upstream=Upstream(settings),
        redactor=Redactor() if settings.redact_logs else None,
    )
    app.register_blueprint(views.bp)

    @app.get("/health")
    def health() -> tuple[dict, int]:
        report = app.extensions["albicilla"].store.health()
        return report, 200

    @app.errorhandler(ProxyError)
    def proxy_error(err: ProxyError) -> tuple[dict, int]:
        # In the shape the path's clients read: Anthropic's on /v1/messages..., else OpenAI's.
        return error_body_for(request.path, err), err.status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[dict, int]:
        code = err.code or 500
        if code == 404:
            body = error_body(
                f"Invalid URL ({request.method} {request.path})",
                "invalid_request_error",
                code="unknown_url",
            )
        else:
            kind = "invalid_request_error" if code < 500 else "server_error"
            body = error_body(err.description or err.name, kind)
        return body, code

    return app
