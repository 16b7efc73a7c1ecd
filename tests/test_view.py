"""albicilla-view through Flask's test client: API, pages, escaping, headers, paths, token, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures.hostile import DAY, HOSTILE_IDS, chat_record, write_hostile_root

from albicilla.conv.cli import main as conv_main
from albicilla.view import create_app, index
from albicilla.view.cli import main as view_main
from albicilla.view.settings import ViewSettings

REAL = Path(__file__).parent / "fixtures" / "real_agents"
CLAUDE = "6431f560-5c39-4fd1-a94a-1114c2ee92e8"
CODEX = "01a22f37-305c-7081-866e-1a2a5b711586"
GEMINI = "gem-session-resumed"
ANTHROPIC_KEY = "sk-ant-api03-" + "Xy7_Kp2-" * 12 + "Q9wAA"
EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def make_client(*logs: Path, **extra):
    app = create_app(ViewSettings(tuple(str(p) for p in logs), background=False, **extra))
    app.config["TESTING"] = True
    return app.test_client()


def url(session: str, tail: str = "") -> str:
    return "/session/" + quote(session, safe="") + tail


@pytest.fixture
def real():
    return make_client(REAL)


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    write_hostile_root(root)
    return root


def test_sessions_api_lists_each_agent_with_client_kind_and_counts(real):
    rows = {r["session"]: r for r in real.get("/api/sessions").get_json()}
    assert set(rows) == {CLAUDE, CODEX, "01a22f37-2c6d-7013-b5c8-319b88768380", GEMINI}
    # Gemini CLI: 2 router calls, 4 main-loop calls (2 before --resume latest, 2 after).
    assert rows[GEMINI]["records"] == 6 and rows[GEMINI]["days"] == ["2026-12-06"]
    assert rows[GEMINI]["endpoints"] == sorted(
        ["/v1beta/models/{model}:generateContent", "/v1beta/models/{model}:streamGenerateContent"]
    )
    claude = rows[CLAUDE]
    assert claude["client"] == "Claude Code"
    assert rows[CODEX]["client"] == "Codex"
    assert claude["records"] == 3 and claude["days"] == ["2026-12-01"]
    assert claude["endpoints"] == ["/v1/messages"] and claude["models"] == ["claude-opus-4-8"]
    # usage in the fixture: input 101, 102, 103 and output 21, 22, 23
    assert (claude["tokens_in"], claude["tokens_out"]) == (306, 66)
    assert claude["errors"] == 0 and claude["incomplete"] == 0
    assert claude["first"] == "2026-12-01T01:27:54.069079Z" or claude["first"] < claude["last"]
    path = REAL / "2026-12-01" / f"{CLAUDE}-9c6edb476e5b.jsonl"
    assert claude["bytes"] == path.stat().st_size


def test_sessions_page_filters_sorts_and_pages(real, monkeypatch):
    page = real.get("/?api=/v1/messages").get_data(as_text=True)
    assert CLAUDE in page and CODEX not in page
    page = real.get("/?q=305c").get_data(as_text=True)
    assert CODEX in page and CLAUDE not in page
    page = real.get("/?sort=records&order=desc").get_data(as_text=True)
    assert page.index(CLAUDE) < page.index(CODEX)
    monkeypatch.setattr("albicilla.view.listing.PAGE_SIZE", 2)
    first, second = (
        real.get("/").get_data(as_text=True),
        real.get("/?page=2").get_data(as_text=True),
    )
    assert "page 1 of 2" in first and "page 2 of 2" in second
    shown = [s for s in (CLAUDE, CODEX) if s in first] + [s for s in (CLAUDE, CODEX) if s in second]
    assert len(shown) == 2


def test_session_page_shows_timeline_turns_and_the_converters_conversations(real):
    page = real.get(url(CLAUDE)).get_data(as_text=True)
    assert "/v1/messages" in page and "claude-opus-4-8" in page
    assert "say hi, then run echo" in page  # the user's prompt
    assert "Bash" in page  # the tool call
    assert "continues exchange 2" in page  # exchange 3 continues the main loop
    conv = real.get(url(CLAUDE, "?tab=conversations")).get_data(as_text=True)
    assert "Main loop" in conv and "Side call" in conv
    assert "Fake title" in conv  # the title side call's reply
    assert "<details><summary>system text" in conv


def test_session_api_trajectories_are_what_the_converter_writes(real, tmp_path):
    assert conv_main(["--logs", str(REAL), "--output", str(tmp_path), "--format", "native"]) == 0
    written = (tmp_path / "2026-12-01" / f"{CLAUDE}-9c6edb476e5b.jsonl").read_text().splitlines()
    api = real.get("/api/sessions/" + CLAUDE).get_json()
    assert len(api["records"]) == 3 and api["records"][0]["endpoint"] == "/v1/messages"
    assert [len(t["messages"]) for t in api["trajectories"]] == [
        len(json.loads(line)["messages"]) for line in written
    ]
    dataset = real.get(f"/api/sessions/{CLAUDE}/dataset?format=native").get_json()
    assert dataset == [json.loads(line) for line in written]


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_dataset_page_and_download_match_the_converter(real, tmp_path, fmt):
    assert conv_main(["--logs", str(REAL), "--output", str(tmp_path), "--format", fmt]) == 0
    written = (tmp_path / "2026-12-01" / f"{CODEX}-03d0e6ecb976.jsonl").read_bytes()
    download = real.get(url(CODEX, f"/download?format={fmt}"))
    assert download.status_code == 200 and download.data == written
    page = real.get(url(CODEX, f"/dataset?format={fmt}")).get_data(as_text=True)
    assert "exec_command" in page and "Download" in page
    assert real.get(url(CODEX, "/dataset?format=bogus")).status_code == 400


def test_record_page_pretty_prints_and_cuts_long_strings(hostile_root):
    client = make_client(hostile_root)
    short = client.get(url("hostile-main", "/record/12")).get_data(as_text=True)
    assert "more characters]" in short and len(short) < 200_000
    assert 'class="copy"' in short and 'id="raw"' in short
    full = client.get(url("hostile-main", "/record/12?full=1")).get_data(as_text=True)
    assert "A" * 5_000_000 in full
    assert client.get(url("hostile-main", "/record/99")).status_code == 404
    assert client.get(url("hostile-main", "/record/0")).status_code == 404


def test_hostile_content_is_shown_as_text_on_every_page(hostile_root):
    client = make_client(hostile_root)
    pages = [
        "/",
        "/overview",
        url("hostile-main"),
        url("hostile-main", "?tab=conversations"),
        url("hostile-main", "/dataset"),
        *(url("hostile-main", f"/record/{n}") for n in range(1, 12)),
        *(url(session) for session in HOSTILE_IDS),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.get_data(as_text=True)
        for raw in ("<script>window", "<img src=x", '<a href="javascript', "<svg onload"):
            assert raw not in body, (page, raw)
        for char in ("\x1b", "\u202e", "\x00", "\x07"):
            assert char not in body, (page, repr(char))
    main = client.get(url("hostile-main")).get_data(as_text=True)
    assert "&lt;script&gt;window.__pwned=1" in main
    assert "&amp;lt;script&amp;gt;" in main  # entities in the text stay entities, not tags
    assert "\\u202e" in main and "\\u001b" in main and "\\u0000" in main
    assert "\\ud800" in main
    assert "{{ 7*7 }}" in main  # not a template


def test_hostile_session_ids_are_looked_up_through_encoded_urls(hostile_root):
    client = make_client(hostile_root)
    listed = {r["session"] for r in client.get("/api/sessions").get_json()}
    assert set(HOSTILE_IDS) <= listed
    for session in HOSTILE_IDS:
        assert (
            client.get("/api/sessions/" + quote(session, safe="")).get_json()["session"] == session
        )
        assert client.get(url(session)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/session/..%2F..%2F..%2Fetc%2Fpasswd",
        "/session/%2Fetc%2Fpasswd",
        "/session/" + DAY + "%2Fhostile-main.jsonl",
        "/session/hostile-main.jsonl",
        "/session/..",
        "/api/sessions/..%2Fhostile-main",
        "/api/sessions/nope/dataset",
        "/session/nope/record/1",
    ],
)
def test_paths_that_are_not_an_indexed_session_are_404(hostile_root, path):
    response = make_client(hostile_root).get(path)
    assert response.status_code == 404
    assert "root:" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/overview", "/api/sessions", "/nope", "/static/view.css"])
def test_every_response_carries_the_security_headers(real, path):
    response = real.get(path)
    response.close()  # the static file's handle
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value, (path, name)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_no_route_accepts_a_writing_method(real, method):
    for path in ("/", "/api/sessions", url(CLAUDE)):
        assert real.open(path, method=method).status_code == 405


def test_token_guards_every_page_and_api_call(hostile_root):
    client = make_client(hostile_root, token="s3cret-token")
    for path in ("/", "/api/sessions", url("hostile-main"), "/overview"):
        response = client.get(path)
        assert response.status_code == 401
        assert "hostile-main" not in response.get_data(as_text=True)
        wrong = client.get(path, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and "hostile-main" not in wrong.get_data(as_text=True)
        right = client.get(path, headers={"Authorization": "Bearer s3cret-token"})
        assert right.status_code == 200
    assert client.post("/login", data={"token": "nope"}).status_code == 401
    login = client.post("/login", data={"token": "s3cret-token"})
    assert login.status_code == 303
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "s3cret-token" not in cookie
    assert client.get("/").status_code == 200  # the cookie now rides along


def test_redact_hides_secrets_on_pages_api_and_downloads(tmp_path):
    day = tmp_path / DAY
    day.mkdir()
    record = chat_record("leaky", f"my key is {ANTHROPIC_KEY}", f"use {ANTHROPIC_KEY}")
    (day / "leaky.jsonl").write_text(json.dumps(record) + "\n")
    plain, redacted = make_client(tmp_path), make_client(tmp_path, redact=True)
    paths = [
        url("leaky"),
        url("leaky", "/record/1"),
        url("leaky", "/dataset"),
        url("leaky", "/download"),
        "/api/sessions/leaky",
        "/api/sessions/leaky/dataset",
    ]
    assert ANTHROPIC_KEY in plain.get(paths[1]).get_data(as_text=True)
    for path in paths:
        body = redacted.get(path).get_data(as_text=True)
        assert ANTHROPIC_KEY not in body and "REDACTED" in body, path


def test_appended_record_shows_up_and_only_changed_files_are_read_again(tmp_path, monkeypatch):
    shutil.copytree(REAL, tmp_path / "logs")
    client = make_client(tmp_path / "logs")
    monkeypatch.setattr(index, "SCAN_EVERY_S", 0.0)
    assert {r["session"]: r["records"] for r in client.get("/api/sessions").get_json()}[CODEX] == 2
    reads: list[str] = []
    original = index.LogIndex.read
    monkeypatch.setattr(
        index.LogIndex,
        "read",
        lambda self, state: (reads.append(state.file.name), original(self, state)),
    )
    path = tmp_path / "logs" / "2026-12-01" / f"{CODEX}-03d0e6ecb976.jsonl"
    last = path.read_text().splitlines()[-1]
    with path.open("a") as handle:
        handle.write(last + "\n")
    rows = {r["session"]: r["records"] for r in client.get("/api/sessions").get_json()}
    assert rows[CODEX] == 3 and rows[CLAUDE] == 3
    assert reads == [path.name]
    assert "Exchange 3" in client.get(url(CODEX)).get_data(as_text=True)


def test_a_session_over_two_days_and_two_roots_is_one_row(tmp_path):
    for host, day in (("host1", "2026-12-01"), ("host2", "2026-12-01"), ("host2", "2026-12-02")):
        (tmp_path / host / day).mkdir(parents=True)
        record = chat_record("spread", f"from {host} {day}", "ok", timestamp=f"{day}T01:00:00Z")
        (tmp_path / host / day / "spread.jsonl").write_text(json.dumps(record) + "\n")
    rows = make_client(tmp_path).get("/api/sessions").get_json()
    assert len(rows) == 1
    assert rows[0]["days"] == ["2026-12-01", "2026-12-02"] and rows[0]["records"] == 3


def test_overview_draws_inline_svg_per_day(real):
    page = real.get("/overview").get_data(as_text=True)
    assert "<svg" in page and "2026-12-01" in page
    assert "claude-opus-4-8" in page and "exec_command" in page and "Bash" in page


def test_cli_refuses_a_public_address_without_a_token(tmp_path, capsys, monkeypatch):
    assert view_main(["--logs", str(tmp_path), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "token" in err
    monkeypatch.setenv("ALBICILLA_VIEW_HOST", "192.0.2.1")
    assert view_main(["--logs", str(tmp_path)]) == 2
    assert view_main(["--logs", str(tmp_path / "missing")]) == 2
    monkeypatch.setenv("ALBICILLA_VIEW_HOST", "127.0.0.1")
    monkeypatch.setenv("ALBICILLA_VIEW_PORT", "many")
    assert view_main(["--logs", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 3


def test_settings_come_from_the_environment_for_gunicorn(tmp_path):
    env = {
        "ALBICILLA_VIEW_LOGS": str(tmp_path),
        "ALBICILLA_VIEW_HOST": "0.0.0.0",
        "ALBICILLA_VIEW_PORT": "9123",
        "ALBICILLA_VIEW_TOKEN": "t",
        "ALBICILLA_VIEW_REDACT": "true",
    }
    settings = ViewSettings.load({}, env)
    assert settings == ViewSettings((str(tmp_path),), "0.0.0.0", 9123, "t", True)
