"""The JSON twin of every page, for scripts and tests (docs/design.md section 12)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, abort, request

from ..conv.session import WRITERS
from . import detail
from .listing import find_session, fresh_index, page_of, rows, state

bp = Blueprint("api", __name__, url_prefix="/api")


def shown(value: Any) -> Any:
    """The value as the viewer may show it: through the redactor with `--redact`."""
    redactor = state().redactor
    return value if redactor is None else redactor.redact_value(value)


def as_json(value: Any, status: int = 200) -> Response:
    text = json.dumps(shown(value), ensure_ascii=True, default=str)
    return Response(text + "\n", status, mimetype="application/json")


@bp.get("/status")
def status() -> Response:
    return as_json(fresh_index().progress())


@bp.get("/sessions")
def sessions() -> Response:
    found, _ = rows(request.args)
    if "page" in request.args:
        found = page_of(found, request.args)[0]
    return as_json(found)


@bp.get("/sessions/<session:session>")
def session(session: str) -> Response:
    entry = find_session(session)
    records = [
        {"number": n, "day": state_.file.day, **asdict(summary)}
        for n, (state_, summary) in enumerate(entry.summaries(), 1)
    ]
    return as_json(
        {
            "session": entry.session,
            "days": entry.days,
            "records": records,
            "trajectories": [asdict(c) for c in detail.conversations(entry)],
            "turns": [asdict(t) for t in detail.turns(entry)],
        }
    )


@bp.get("/sessions/<session:session>/version")
def version(session: str) -> Response:
    """What a page polls: it changes whenever one of the session's files does."""
    entry = find_session(session)
    return as_json({"version": _version(entry), "records": entry.totals().records})


def _version(entry: Any) -> str:
    return ",".join(f"{size}:{mtime}" for _, size, mtime, _ in entry.signature)


@bp.get("/sessions/<session:session>/dataset")
def dataset(session: str) -> Response:
    fmt = request.args.get("format", "json_tool_call")
    if fmt not in WRITERS:
        abort(400)
    entry = find_session(session)
    lines, _ = detail.dataset(entry, fmt, redact=state().redactor is not None)
    return as_json([json.loads(line) for line in lines])
