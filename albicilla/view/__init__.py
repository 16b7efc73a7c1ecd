"""albicilla-view: a read-only web viewer over the log roots (docs/design.md section 12)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask

from ..redact import Redactor
from .index import LogIndex
from .routing import SessionIdConverter, SessionIds
from .settings import ViewSettings


@dataclass
class ViewState:
    settings: ViewSettings
    index: LogIndex
    redactor: Redactor | None
    stop: threading.Event


def create_app(settings: ViewSettings | None = None) -> Flask:
    """The viewer app; without settings, they come from ALBICILLA_VIEW_* (for gunicorn)."""
    from . import api, render, security, views

    if settings is None:
        settings = ViewSettings.load({})
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # only the login form posts anything
    app.json.ensure_ascii = True  # lone surrogates in records stay encodable
    app.jinja_env.finalize = render.visible
    app.jinja_env.autoescape = True
    # Session ids may hold "//": never rewrite a path into another session's URL.
    app.url_map.merge_slashes = False
    app.url_map.converters["session"] = SessionIdConverter
    index = LogIndex(list(settings.logs))
    state = ViewState(
        settings, index, Redactor(secrets=True) if settings.redact else None, threading.Event()
    )
    app.extensions["albicilla_view"] = state
    security.install(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.wsgi_app = SessionIds(app.wsgi_app)  # type: ignore[method-assign]
    if settings.background:
        thread = threading.Thread(
            target=index.run, args=(state.stop,), name="albicilla-view-index", daemon=True
        )
        thread.start()
    return app
