"""Headers on every response, the allowed methods, and the access token (bearer or cookie)."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, g, redirect, render_template, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
COOKIE = "albicilla_view"
OPEN_PATHS = ("/login", "/static/", "/favicon.ico")  # no captured data behind these


def install(app: Flask) -> None:
    app.before_request(_check_request)
    app.after_request(_secure_headers)
    app.add_url_rule("/login", "login", _login, methods=["GET", "POST"])


def _token() -> str | None:
    return current_app.extensions["albicilla_view"].settings.token


def cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the token itself is not stored."""
    return hmac.new(token.encode(), b"albicilla-view-cookie", hashlib.sha256).hexdigest()


def _authorized() -> bool:
    token = _token()
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    ):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(
        cookie.encode("utf-8", "surrogateescape"), cookie_value(token).encode()
    )


def _check_request() -> Response | None:
    post_login = request.method == "POST" and request.path == "/login"
    if request.method not in ("GET", "HEAD") and not post_login:
        return Response("method not allowed\n", 405, {"Allow": "GET, HEAD"}, mimetype="text/plain")
    g.authorized = _authorized()
    if g.authorized or request.path.startswith(OPEN_PATHS):
        return None
    if request.path.startswith("/api/"):
        return Response('{"error": "unauthorized"}\n', 401, mimetype="application/json")
    return Response(render_template("login.html", failed=False), 401)


def _login() -> Response:
    token = _token()
    if request.method == "GET":
        return Response(render_template("login.html", failed=False), 200)
    given = request.form.get("token", "")
    if token and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
        response = redirect("/", 303)
        response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="Strict", path="/")
        return response
    if not token:
        return redirect("/", 303)
    return Response(render_template("login.html", failed=True), 401)


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Cache-Control", "no-store")
    return response
