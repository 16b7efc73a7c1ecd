"""Session ids that look like URL tails (`a/dataset`, `x/record/3`), paths, `%2F`, markup or
non-ASCII route to their own session on every page, through the test client and under gunicorn."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures.hostile import DAY, chat_record
from werkzeug.test import EnvironBuilder

from albicilla.proxy.sessions import session_file_name
from albicilla.view import create_app
from albicilla.view.settings import ViewSettings

# Each id is also the start of a URL of another session that exists: misrouting shows up.
AMBIGUOUS = [
    "a/dataset",
    "a/download",
    "x/record/3",
    "x/record/1",
    "b/version",
    "../../etc/passwd",
    "%2F",
    "/",
    "..",
    "a b  c",
    "<script>window.__pwned=1</script>",
    "ünïcødé/セッション",
    "a",
    "x",
    "b",
]


def write_root(root: Path) -> None:
    (root / DAY).mkdir(parents=True)
    for session in AMBIGUOUS:
        records = [chat_record(session, f"question {n} of [{session}]", "ok") for n in (1, 2, 3)]
        text = "".join(json.dumps(r) + "\n" for r in records)
        (root / DAY / (session_file_name(session) + ".jsonl")).write_text(text)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("urls")
    write_root(path)
    return path


@pytest.fixture(scope="module")
def app(root):
    app = create_app(ViewSettings((str(root),), background=False))
    app.config["TESTING"] = True
    return app


def encoded(session: str) -> str:
    return quote(session, safe="")


def pages(session: str) -> dict[str, str]:
    key = encoded(session)
    return {
        "session": f"/session/{key}",
        "record": f"/session/{key}/record/2",
        "dataset": f"/session/{key}/dataset",
        "download": f"/session/{key}/download?format=native",
        "api": f"/api/sessions/{key}",
        "api_dataset": f"/api/sessions/{key}/dataset?format=native",
        "version": f"/api/sessions/{key}/version",
    }


def check(session: str, kind: str, status: int, body: bytes) -> None:
    assert status == 200, (session, kind)
    text = unescape(body.decode("utf-8"))
    if kind == "record":
        assert f"question 2 of [{session}]" in text.replace('\\"', '"'), session
    elif kind == "api":
        assert json.loads(body)["session"] == session
    elif kind == "version":
        assert json.loads(body)["records"] == 3
    elif kind in ("api_dataset", "download"):
        lines = (
            json.loads(body)
            if kind == "api_dataset"
            else [json.loads(line) for line in body.splitlines()]
        )
        assert f"question 3 of [{session}]" in json.dumps(lines, ensure_ascii=False), session
    else:
        assert f"question 1 of [{session}]" in text.replace('\\"', '"'), (session, kind)


@pytest.mark.parametrize("session", AMBIGUOUS)
def test_every_page_of_an_ambiguous_id_is_its_own(app, session):
    client = app.test_client()
    for kind, path in pages(session).items():
        response = client.get(path)
        check(session, kind, response.status_code, response.data)


def test_the_links_a_page_draws_lead_to_the_same_session(app):
    client = app.test_client()
    listing = client.get("/").get_data(as_text=True)
    links = re.findall(r'<a href="(/session/[^"?]+)">', listing)
    assert len(links) == len(AMBIGUOUS)
    for link in links:
        page = client.get(unescape(link)).get_data(as_text=True)
        records = re.findall(r'href="(/session/[^"]+/record/\d+)"', page)
        assert records, link
        for record in records:
            assert client.get(unescape(record)).status_code == 200
        version = client.get(unescape(link).replace("/session/", "/api/sessions/") + "/version")
        assert version.get_json()["records"] == 3


def test_without_a_raw_uri_the_longest_tail_is_the_page(app):
    def get(path: str) -> tuple[int, bytes]:
        environ = EnvironBuilder(path=path).get_environ()
        del environ["REQUEST_URI"], environ["RAW_URI"]
        status: list[str] = []
        body = b"".join(app.wsgi_app(environ, lambda s, h, e=None: status.append(s)))
        return int(status[0].split()[0]), body

    status, body = get("/session/x%2Frecord%2F3")  # the server decoded it: taken as x, record 3
    assert status == 200 and b"question 3 of [x]" in body
    status, body = get("/api/sessions/a%20b%20%20c")
    assert json.loads(body)["session"] == "a b  c"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_under_gunicorn_ids_route_on_the_raw_uri(root):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "albicilla.view", "--logs", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/api/status", timeout=2) as response:
                    if json.loads(response.read())["done"]:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "albicilla-view did not come up"
            time.sleep(0.2)
        for session in AMBIGUOUS:
            for kind, path in pages(session).items():
                with urllib.request.urlopen(base + path, timeout=10) as response:
                    check(session, kind, response.status, response.read())
    finally:
        process.terminate()
        process.wait(timeout=20)
