"""The sessions list: one row per session, filtered, sorted and paged for the page and the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app

from .index import SessionEntry

PAGE_SIZE = 100
SORTS = (
    "last",
    "first",
    "session",
    "records",
    "errors",
    "incomplete",
    "tokens_in",
    "tokens_out",
    "bytes",
)


def state() -> Any:
    return current_app.extensions["albicilla_view"]


def fresh_index() -> Any:
    """The index, listed again if its listing is old (and read, without a background thread)."""
    view = state()
    view.index.refresh()
    if not view.settings.background:
        view.index.read_all()
    return view.index


def find_session(session: str) -> SessionEntry:
    """The indexed session called `session`, up to date; 404 when there is none."""
    index = fresh_index()
    entry = index.lookup(session)
    if entry is None:
        abort(404)
    index.ensure(entry)
    return entry


def url_key(entry: SessionEntry) -> str:
    """What the session's URLs carry: its id, or its file name when the id cannot be a URL."""
    session = entry.session
    try:
        session.encode("utf-8")
    except UnicodeEncodeError:
        return entry.stem
    return session if session else entry.stem


def row(entry: SessionEntry) -> dict[str, Any]:
    totals = entry.totals()
    clients = [name for name, _ in totals.clients.most_common()]
    return {
        "session": entry.session,
        "key": url_key(entry),
        "days": entry.days,
        "client": clients[0] if clients else None,
        "apis": sorted(totals.apis),
        "endpoints": sorted(totals.endpoints),
        "models": sorted(totals.models),
        "first": totals.first,
        "last": totals.last,
        "records": totals.records,
        "errors": totals.errors,
        "incomplete": totals.incomplete,
        "damaged": totals.damaged,
        "tokens_in": totals.tokens_in,
        "tokens_out": totals.tokens_out,
        "bytes": entry.size,
        "modified": datetime.fromtimestamp(entry.mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "indexed": entry.indexed,
    }


def rows(args: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every matching row, sorted; and the choices the filters offer."""
    all_rows = _all_rows(fresh_index())
    day, model, api = args.get("day", ""), args.get("model", ""), args.get("api", "")
    text = args.get("q", "").lower()
    choices = {
        "days": sorted({d for r in all_rows for d in r["days"]}, reverse=True),
        "models": sorted({m for r in all_rows for m in r["models"]}),
        "apis": sorted({a for r in all_rows for a in r["apis"]}),
    }
    found = [
        r
        for r in all_rows
        if (not day or day in r["days"])
        and (not model or model in r["models"])
        and (not api or api in r["apis"] or api in r["endpoints"])
        and (not text or text in r["session"].lower())
    ]
    sort = args.get("sort", "last")
    if sort not in SORTS:
        sort = "last"
    descending = args.get("order", "desc" if sort != "session" else "asc") == "desc"
    if sort == "last":  # by time, then a file's modification time until it is read
        found.sort(key=lambda r: (r["last"] or r["modified"], r["session"]), reverse=descending)
    else:
        found.sort(key=lambda r: (r[sort], r["session"]), reverse=descending)
    return found, choices


def _all_rows(index: Any) -> list[dict[str, Any]]:
    """Every session's row, made again only when the index changed (its generation moved)."""
    generation = index.generation
    cached = index.rows_cache
    if cached is not None and cached[0] == generation:
        return cached[1]
    made = [row(entry) for entry in index.sessions()]
    index.rows_cache = (generation, made)
    return made


def page_of(found: list[dict[str, Any]], args: Mapping[str, str]) -> tuple[list[Any], int, int]:
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(page, pages)
    return found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], page, pages
