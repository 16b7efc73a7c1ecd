"""Which session a request belongs to, and the safe file name that session is logged under."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..apis.api_keys import header_key

ANONYMOUS = "anonymous"
_REMEMBERED_ID_LENGTH = 200
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SLUG_JUNK = re.compile(r"[^A-Za-z0-9._-]+")
# The shape of a hashed name; a plain id of this shape is hashed too, so names stay injective.
_HASHED_NAME = re.compile(r"(?:.*-)?[0-9a-f]{12}")
# Except a UUID, the session id of Claude Code and Codex: used as it is, readable. No hashed
# name has this shape (a slug that would give it gets a `_`), so names stay injective.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_HEAD = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}")


def resolve_session_id(
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    session_headers: Sequence[str],
    client_ids: Iterable[str] = (),
    api_key: str | None = None,
) -> str:
    """The first of (docs/design.md section 4): the body's `user`, the first session header present,
    the client's own session id (`client_ids`, from the API's module, looked at lazily), the
    hashed API key (`api_key`, from the API's module; by default `x-api-key`, else the bearer
    token), `anonymous`."""
    user = body.get("user")
    if isinstance(user, str) and user:
        return user
    for name in session_headers:
        value = headers.get(name)
        if value:
            return value
    for value in client_ids:
        if value:
            return value
    token = header_key(headers) if api_key is None else api_key
    if token:
        return "key-" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return ANONYMOUS


def session_file_name(session_id: str) -> str:
    """A file name (without `.jsonl`) that stays in its directory and is unique per id
    (`_file_name` says how). Remembered for the last ids of usual length (a session's records
    come in runs); a long id is not kept, so a client cannot fill memory with them."""
    if len(session_id) <= _REMEMBERED_ID_LENGTH:
        return _remembered_file_name(session_id)
    return _file_name(session_id)


@functools.lru_cache(maxsize=1024)
def _remembered_file_name(session_id: str) -> str:
    return _file_name(session_id)


def _file_name(session_id: str) -> str:
    """Plain ids are used as they are (a plain id shaped like a hashed name is hashed, a UUID
    excepted). Anything else becomes a readable slug plus `-` plus 12 hex digits of the id's
    SHA-256.
    """
    if _PLAIN_NAME.fullmatch(session_id) and (
        _UUID.fullmatch(session_id) or not _HASHED_NAME.fullmatch(session_id)
    ):
        return session_id
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    ascii_id = unicodedata.normalize("NFKD", session_id).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_id).strip("-._")[:64]
    if _UUID_HEAD.fullmatch(slug):
        slug += "_"
    return f"{slug}-{digest}" if slug else f"session-{digest}"
