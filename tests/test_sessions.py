"""Session id resolution and file naming."""

from __future__ import annotations

import hashlib

import pytest

from albicilla.proxy.sessions import resolve_session_id, session_file_name

HEADERS = ("X-Session-Id", "X-Agent-Run")


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"user": "u1"}, {"X-Session-Id": "h1", "Authorization": "Bearer k"}, "u1"),
        ({"user": ""}, {"X-Session-Id": "h1"}, "h1"),
        ({"user": 42}, {"X-Agent-Run": "h2"}, "h2"),
        ({}, {"X-Session-Id": "h1", "X-Agent-Run": "h2"}, "h1"),
        ({}, {"X-Agent-Run": "h2", "Authorization": "Bearer k"}, "h2"),
        ({}, {"Authorization": "Basic abc"}, "anonymous"),
        ({}, {}, "anonymous"),
    ],
)
def test_resolution_order(body, headers, expected):
    assert resolve_session_id(body, headers, HEADERS) == expected


def test_bearer_token_is_hashed_never_kept():
    token = "sk-proj-abc123"
    session = resolve_session_id({}, {"Authorization": f"Bearer {token}"}, HEADERS)
    assert session == "key-" + hashlib.sha256(token.encode()).hexdigest()[:16]
    assert token not in session


@pytest.mark.parametrize("plain", ["abc", "agent-7", "A.b_c-d", "x" * 128, "0"])
def test_plain_ids_are_used_as_they_are(plain):
    assert session_file_name(plain) == plain


@pytest.mark.parametrize(
    "session_id",
    [
        "../etc/passwd",
        "/abs/path",
        ".",
        "..",
        "a b",
        "héllo",
        "x" * 400,
        "a\x00b",
        "ａｂｃ",
        "-leading",
        ".hidden",
        "back\\slash",
        "\u202eevil",
        "",
        "x" * 129,
    ],
)
def test_other_ids_become_a_slug_plus_hash(session_id):
    name = session_file_name(session_id)
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    assert name.endswith("-" + digest)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 128


def test_ids_shaped_like_hashed_names_cannot_collide():
    hashed = session_file_name("a b")
    assert session_file_name(hashed) != hashed
    assert session_file_name("0123456789ab") != "0123456789ab"


def test_distinct_ids_get_distinct_names():
    ids = [
        "a/b",
        "a b",
        "a-b",
        "a_b",
        "A/B",
        "../a",
        "a/../b",
        "ａ",
        "a",
        ".",
        "..",
        "x" * 400,
        "x" * 401,
    ]
    names = [session_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)


def test_uuid_session_ids_of_claude_code_and_codex_name_their_files_as_they_are():
    for uuid_id in ("6431f560-5c39-4fd1-a94a-1114c2ee92e8", "01a22f37-2c6d-7013-b5c8-319b88768380"):
        assert session_file_name(uuid_id) == uuid_id
    # An id whose slug would be a UUID's head cannot take a UUID's name: names stay one per id.
    crafted = "6431f560-5c39-4fd1-a94a/"
    name = session_file_name(crafted)
    assert name.startswith("6431f560-5c39-4fd1-a94a_-") and len(name) == len(crafted) + 13
    # Upper-case hex is not the shape of a hashed name at all: plain, as it always was.
    assert session_file_name("6431F560-5C39-4FD1-A94A-1114C2EE92E8") == (
        "6431F560-5C39-4FD1-A94A-1114C2EE92E8"
    )
    assert session_file_name("a-b-0123456789ab") != "a-b-0123456789ab"
