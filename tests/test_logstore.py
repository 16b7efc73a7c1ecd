"""The locked JSONL append: permissions, torn lines, symlinks, concurrency, failure reporting."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albicilla.logs.store import LogStore, append_line, serialize_record
from albicilla.proxy.exchange import Exchange, build_record, utc_timestamp


def test_files_and_directories_are_owner_only(tmp_path):
    root = tmp_path / "logs"
    append_line(root, "2026-01-02", "s.jsonl", b"{}\n")
    assert stat.S_IMODE((root / "2026-01-02").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "2026-01-02" / "s.jsonl").stat().st_mode) == 0o600


def test_torn_last_line_does_not_swallow_the_next_record(tmp_path):
    day = tmp_path / "d"
    day.mkdir()
    (day / "s.jsonl").write_bytes(b'{"ok":1}\n{"torn":')
    append_line(tmp_path, "d", "s.jsonl", b'{"ok":2}\n')
    assert (day / "s.jsonl").read_bytes() == b'{"ok":1}\n{"torn":\n{"ok":2}\n'


def test_symlinked_file_is_not_followed(tmp_path):
    day = tmp_path / "d"
    day.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("")
    (day / "s.jsonl").symlink_to(target)
    with pytest.raises(OSError):
        append_line(tmp_path, "d", "s.jsonl", b"{}\n")
    assert target.read_text() == ""


def test_symlinked_day_directory_is_not_followed(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "d").symlink_to(tmp_path / "real")
    with pytest.raises(OSError):
        append_line(tmp_path / "logs", "d", "s.jsonl", b"{}\n")
    assert list((tmp_path / "real").iterdir()) == []


def test_many_processes_appending_never_interleave(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from albicilla.logs.store import append_line
        tag = sys.argv[2]
        for i in range(300):
            line = ('{"w":"%s","i":%d,"pad":"%s"}\\n' % (tag, i, tag * 5000)).encode()
            append_line(Path(sys.argv[1]), "d", "s.jsonl", line)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in "abcd"]
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    lines = (tmp_path / "d" / "s.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 1200
    for tag in "abcd":
        assert [r["i"] for r in records if r["w"] == tag] == list(range(300))
        assert all(r["pad"] == tag * 5000 for r in records if r["w"] == tag)


def test_store_reports_failure_and_recovers(tmp_path, capsys):
    root = tmp_path / "logs"
    root.write_text("a file, not a directory")
    store = LogStore(root)
    assert store.append("d", "s", b"{}\n") is False
    health = store.health()
    assert health["status"] == "degraded" and "d/s.jsonl" in health["reason"]
    assert "record lost" in capsys.readouterr().err
    root.unlink()
    assert store.append("d", "s", b"{}\n") is True
    assert store.health() == {"status": "ok"}
    assert "resumed" in capsys.readouterr().err


def test_serialized_record_is_one_utf8_line():
    line = serialize_record({"text": "héllo\nworld ✓", "n": 1})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"text": "héllo\nworld ✓", "n": 1}
    assert "✓".encode() in line


def test_lone_surrogates_fall_back_to_escaped_json():
    record = json.loads('{"text": "bad \\ud800 half"}')
    line = serialize_record(record)
    assert json.loads(line) == record
    line.decode("ascii")


def test_build_record_has_every_field():
    record = build_record(
        arrived=0.0,
        session_id="s",
        request={"a": 1},
        response=None,
        status=502,
        stream=False,
        complete=False,
        error="upstream unreachable",
        duration_ms=1.23456,
        endpoint="/v1/x",
    )
    assert record == {
        "timestamp": "1970-01-01T00:00:00.000000Z",
        "session_id": "s",
        "request": {"a": 1},
        "response": None,
        "status": 502,
        "stream": False,
        "complete": False,
        "error": "upstream unreachable",
        "duration_ms": 1.235,
        "endpoint": "/v1/x",
        "schema_version": 1,
    }


def test_utc_timestamp_is_iso_z():
    assert utc_timestamp(1764150000.5) == "2025-11-26T09:40:00.500000Z"
    assert utc_timestamp(1764201599.9999996) == "2025-11-27T00:00:00.000000Z"  # rounds up a day


@given(st.floats(min_value=0, max_value=2**33, allow_nan=False))
def test_utc_timestamp_matches_datetime(epoch: float) -> None:
    moment = datetime.fromtimestamp(epoch, UTC)
    assert utc_timestamp(epoch) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_exchange_is_written_once_under_its_arrival_day(tmp_path):
    store = LogStore(tmp_path)
    exchange = Exchange(
        store,
        endpoint="/v1/chat/completions",
        session_id="../s",
        request={},
        stream=True,
        arrived=86400.0 * 365,
    )
    exchange.status = 200
    assert exchange.finish(response={"x": 1}, complete=True, error=None) is True
    assert exchange.finish(response={"x": 2}, complete=False, error="again") is False
    [path] = list(tmp_path.rglob("*.jsonl"))
    assert path.parent.name == "1971-01-01"
    [record] = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert (record["response"], record["status"], record["session_id"]) == ({"x": 1}, 200, "../s")


def test_abandoned_exchange_records_partial_response(tmp_path):
    store = LogStore(tmp_path)
    exchange = Exchange(store, endpoint="/e", session_id="s", request={}, stream=True)
    exchange.partial_response = lambda: {"partial": True}
    exchange.abandon()
    [line] = next(tmp_path.rglob("*.jsonl")).read_bytes().splitlines()
    record = json.loads(line)
    assert (record["response"], record["complete"], record["error"]) == (
        {"partial": True},
        False,
        "worker shutdown",
    )


def test_in_flight_records_are_written_at_interpreter_exit(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from albicilla.proxy.exchange import Exchange
        from albicilla.logs.store import LogStore
        ex = Exchange(LogStore(sys.argv[1]), endpoint="/e", session_id="s", request={},
                      stream=True)
        ex.partial_response = lambda: {"so": "far"}
        sys.exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    [line] = next(tmp_path.rglob("*.jsonl")).read_bytes().splitlines()
    assert json.loads(line)["error"] == "worker shutdown"
    assert os.path.getsize(next(tmp_path.rglob("*.jsonl"))) == len(line) + 1
