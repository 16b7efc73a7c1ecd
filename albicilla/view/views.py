"""The HTML pages: sessions, one session, one record, dataset preview, overview."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from ..conv.session import WRITERS
from . import detail
from .api import shown
from .listing import find_session, fresh_index, page_of, row, rows, url_key
from .render import bars, message_view, pretty
from .summary import Totals

bp = Blueprint("view", __name__)
FORMATS = tuple(WRITERS)


@bp.get("/")
def sessions() -> str:
    found, choices = rows(request.args)
    page_rows, page, pages = page_of(found, request.args)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "sessions.html",
        rows=shown(page_rows),
        total=len(found),
        choices=shown(choices),
        args=args,
        page=page,
        pages=pages,
        progress=fresh_index().progress(),
    )


@bp.get("/session/<session:session>")
def session(session: str) -> str:
    entry = find_session(session)
    tab = request.args.get("tab", "turns")
    timeline = [
        {"number": n, "day": s.file.day, **asdict(summary)}
        for n, (s, summary) in enumerate(entry.summaries(), 1)
    ]
    turns: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    if tab == "conversations":
        for conversation in detail.conversations(entry):
            conversations.append(
                {
                    "day": conversation.day,
                    "main": conversation.main,
                    "tools": len(conversation.tools),
                    "messages": [message_view(m) for m in shown(conversation.messages)],
                }
            )
        conversations.sort(key=lambda c: not c["main"])
    else:
        tab = "turns"
        for turn in detail.turns(entry):
            turns.append(
                {
                    "number": turn.number,
                    "extends": turn.extends,
                    "skipped": turn.skipped,
                    "new": [message_view(m) for m in shown(turn.new)],
                    "replies": [message_view(m) for m in shown(turn.replies)],
                }
            )
    key = url_key(entry)
    return render_template(
        "session.html",
        info=shown(row(entry)),
        key=key,
        tab=tab,
        timeline=shown(timeline),
        turns=turns,
        conversations=conversations,
        version_url=url_for("api.version", session=key),
    )


@bp.get("/session/<session:session>/record/<int:number>")
def record(session: str, number: int) -> str:
    entry = find_session(session)
    value = detail.record_at(entry, number)
    if value is None:
        abort(404)
    full = request.args.get("full") == "1"
    return render_template(
        "record.html",
        key=url_key(entry),
        info=shown(row(entry)),
        number=number,
        count=entry.totals().records,
        full=full,
        text=pretty(shown(value), full=full),
    )


@bp.get("/session/<session:session>/dataset")
def dataset(session: str) -> str:
    entry = find_session(session)
    fmt = request.args.get("format", "json_tool_call")
    if fmt not in WRITERS:
        abort(400)
    lines, problems = detail.dataset(entry, fmt, redact=False)
    by_line: dict[int, list[dict[str, Any]]] = {}
    dropped = []
    for problem in problems:
        if problem["line"] is None:
            dropped.append(problem)
        else:
            by_line.setdefault(problem["line"], []).extend(problem["problems"])
    shown_lines = [
        {"number": n, "text": pretty(shown(json.loads(line))), "problems": by_line.get(n, [])}
        for n, line in enumerate(lines, 1)
    ]
    return render_template(
        "dataset.html",
        key=url_key(entry),
        info=shown(row(entry)),
        fmt=fmt,
        formats=FORMATS,
        lines=shown_lines,
        dropped=shown(dropped),
    )


@bp.get("/session/<session:session>/download")
def download(session: str) -> Response:
    entry = find_session(session)
    fmt = request.args.get("format", "json_tool_call")
    if fmt not in WRITERS:
        abort(400)
    lines, _ = detail.dataset(entry, fmt, redact=_redacting())
    body = "".join(lines).encode("utf-8", "backslashreplace")
    name = f"{entry.stem}.{fmt}.jsonl"
    return Response(
        body,
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _redacting() -> bool:
    from .listing import state

    return state().redactor is not None


@bp.get("/overview")
def overview() -> str:
    index = fresh_index()
    days: dict[str, Totals] = {}
    sessions: dict[str, int] = {}
    for entry in index.sessions():
        for state in entry.files:
            day = state.file.day
            days.setdefault(day, Totals()).add(state.totals)
            sessions[day] = sessions.get(day, 0) + 1
    ordered = sorted(days, reverse=True)
    per_day = [
        {
            "day": day,
            "records": days[day].records,
            "sessions": sessions[day],
            "errors": days[day].errors,
            "tokens": bars(dict(days[day].model_tokens.most_common(12))),
            "statuses": bars(dict(days[day].statuses.most_common(12))),
            "tools": bars(dict(days[day].tools.most_common(10))),
        }
        for day in ordered
    ]
    return render_template(
        "overview.html",
        records=bars({day: days[day].records for day in ordered[:60]}),
        sessions=bars({day: sessions[day] for day in ordered[:60]}),
        days=shown(per_day),
        progress=index.progress(),
    )


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)
