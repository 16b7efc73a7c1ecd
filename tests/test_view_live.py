"""albicilla-view on a root that changes: appended bytes read alone, rewritten files read whole."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures.hostile import DAY, chat_record

from albicilla.logs import records
from albicilla.logs.compact import main as compact_main
from albicilla.view import create_app, index
from albicilla.view.settings import ViewSettings

REAL = Path(__file__).parent / "fixtures" / "real_agents"


class CountingJson:
    """Stands in for the log tree's JSON reader: counts the lines parsed and their bytes."""

    def __init__(self) -> None:
        self.calls = 0
        self.bytes = 0

    def __call__(self, line: bytes):
        self.calls += 1
        self.bytes += len(line)
        return json.loads(line)


def make_client(logs: Path):
    app = create_app(ViewSettings((str(logs),), background=False))
    app.config["TESTING"] = True
    return app.test_client()


def line(session: str, user: str) -> bytes:
    return (json.dumps(chat_record(session, user, f"reply to {user}")) + "\n").encode()


def rows(client) -> dict[str, dict]:
    return {r["session"]: r for r in client.get("/api/sessions").get_json()}


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setattr(index, "SCAN_EVERY_S", 0.0)


@pytest.fixture
def counting(monkeypatch) -> CountingJson:
    counter = CountingJson()
    monkeypatch.setattr(records, "json_loads", counter)
    return counter


def test_a_file_that_grew_in_a_10000_file_root_has_only_its_new_bytes_parsed(
    tmp_path, live, monkeypatch
):
    day = tmp_path / DAY
    day.mkdir()
    for n in range(10_000):
        (day / f"s{n:05d}.jsonl").write_bytes(line(f"s{n:05d}", f"hello {n}"))
    client = make_client(tmp_path)
    before = rows(client)
    assert len(before) == 10_000 and before["s04321"]["records"] == 1
    added = line("s04321", "the appended question")
    counter = CountingJson()
    monkeypatch.setattr(records, "json_loads", counter)
    with (day / "s04321.jsonl").open("ab") as handle:
        handle.write(added)
    after = rows(client)
    assert (counter.calls, counter.bytes) == (1, len(added) - 1)  # the line, not its newline
    assert after["s04321"]["records"] == 2 and after["s04321"]["tokens_in"] == 22
    assert after["s00000"] == before["s00000"]
    monkeypatch.undo()
    page = client.get("/session/s04321").get_data(as_text=True)
    assert "the appended question" in page and "Exchange 2" in page


def test_a_line_being_written_is_read_once_it_is_complete(tmp_path, live, counting):
    day = tmp_path / DAY
    day.mkdir()
    path = day / "growing.jsonl"
    path.write_bytes(line("growing", "first"))
    client = make_client(tmp_path)
    assert rows(client)["growing"]["records"] == 1
    second = line("growing", "second")
    with path.open("ab") as handle:
        handle.write(second[:40])
    calls = counting.calls
    half = rows(client)["growing"]
    assert (half["records"], half["damaged"]) == (1, 1)  # shown as torn while it is
    assert counting.calls == calls  # a line with no newline is not parsed
    with path.open("ab") as handle:
        handle.write(second[40:])
    whole = rows(client)["growing"]
    assert (whole["records"], whole["damaged"]) == (2, 0)
    assert counting.calls - calls == 1
    assert counting.bytes == len(line("growing", "first")) - 1 + len(second) - 1  # each once


def test_a_file_that_shrank_or_was_replaced_is_read_whole(tmp_path, live, counting):
    day = tmp_path / DAY
    day.mkdir()
    path = day / "changing.jsonl"
    path.write_bytes(line("changing", "one") + line("changing", "two"))
    client = make_client(tmp_path)
    assert rows(client)["changing"]["records"] == 2
    path.write_bytes(line("changing", "only"))  # shrank
    assert rows(client)["changing"]["records"] == 1
    replacement = day / "replacement"
    replacement.write_bytes(b"".join(line("changing", str(n)) for n in range(3)))
    os.replace(replacement, path)  # a new inode, longer than before
    calls = counting.calls
    assert rows(client)["changing"]["records"] == 3
    assert counting.calls - calls == 3
    assert "changing" in client.get("/session/changing").get_data(as_text=True)


def test_the_viewer_shows_the_same_sessions_and_counts_after_compaction(tmp_path, live):
    logs = tmp_path / "logs"
    shutil.copytree(REAL, logs)
    client = make_client(logs)
    ignored = ("bytes", "modified", "indexed")

    def counts() -> dict[str, dict]:
        return {
            s: {k: v for k, v in r.items() if k not in ignored} for s, r in rows(client).items()
        }

    before = counts()
    session = next(iter(before))
    detail_before = client.get(f"/api/sessions/{quote(session, safe='')}").get_json()
    assert compact_main(["--logs", str(logs), "--idle", "0"]) == 0
    assert list((logs / "2026-12-01").glob("*.jsonl")) == []
    assert len(list((logs / "2026-12-01").glob("*.jsonl.zst"))) == 3
    assert counts() == before
    assert rows(make_client(logs)) == rows(client)  # a fresh start reads what the live one has
    assert client.get(f"/api/sessions/{quote(session, safe='')}").get_json() == detail_before


def test_reading_from_offsets_gives_what_one_whole_read_gives(tmp_path):
    long_line = line("s", "x" * (3 * records.BLOCK))  # a line over several blocks
    lines = [line("s", "one"), b"not json\n", b"\n", long_line, line("s", "two")]
    path = tmp_path / "s.jsonl"
    data = b"".join(lines) + b'{"torn":'
    path.write_bytes(data)
    whole: list[tuple[int, str]] = []
    expected = list(records.iter_records(str(path), lambda n, r: whole.append((n, r))))
    assert whole[-1] == (6, "torn last line (no newline at end of file)")
    position, damage, got = records.Position(), [], []
    part = tmp_path / "part.jsonl"  # the file as it was when `cut` bytes were written
    for cut in (0, 5, len(lines[0]) + 3, sum(map(len, lines[:4])) - 7, len(data)):
        part.write_bytes(data[:cut])
        got += records.iter_records_from(str(part), position, lambda n, r: damage.append((n, r)))
    assert got == expected
    assert damage == whole[:-1]  # the same damage, the torn tail left for later
    assert position.pending == len(b'{"torn":') and position.lines == 5
