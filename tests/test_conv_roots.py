"""Logs from several hosts: a session split between roots converts as if one root held it all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conv_support import write_logs
from fixtures.agent_sessions import record

from albicilla.conv.cli import main
from albicilla.logs.tree import log_roots

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def one_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated sessions of all three APIs over two days, in one root."""
    logs = tmp_path_factory.mktemp("one") / "logs"
    small = ("--mb", "1", "--seed", "5", "--days", "2", "--max-steps", "8", "--result-words", "60")
    subprocess.run(
        [sys.executable, str(BENCH / "gen_agent_logs.py"), "--out", str(logs), *small],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return logs


def split(root: Path, hosts: list[Path], pick: Any) -> None:
    """Deal each file's lines out to `hosts` (same `<day>/<name>.jsonl`): `pick(n)` is the host
    of the n-th line; a host with no line of a file has no such file."""
    for path in sorted(root.glob("*/*.jsonl")):
        parts: dict[int, list[bytes]] = {}
        for number, line in enumerate(path.read_bytes().splitlines(keepends=True)):
            parts.setdefault(pick(number), []).append(line)
        for host, lines in parts.items():
            target = hosts[host] / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"".join(lines))


def convert(
    tmp_path: Path, name: str, logs: list[Path], capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[dict[str, bytes], bytes, str]:
    out, report = tmp_path / name, tmp_path / f"{name}.json"
    argv = [a for root in logs for a in ("--logs", str(root))]
    assert main([*argv, "--output", str(out), "--report", str(report), *flags]) == 0
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.jsonl"))}
    return files, report.read_bytes(), capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_a_session_dealt_out_to_two_roots_converts_as_one_root_holding_it(
    one_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    hosts = [tmp_path / "host1", tmp_path / "host2"]
    # Every other record on each host, the first on the second: out of root order.
    split(one_root, hosts, lambda number: (number + 1) % 2)
    whole = convert(tmp_path, "whole", [one_root], capsys, "--format", fmt)
    assert len(whole[0]) >= 4 and all(whole[0].values())
    assert convert(tmp_path, "two", hosts, capsys, "--format", fmt) == whole
    assert convert(tmp_path, "jobs", hosts, capsys, "--format", fmt, "--jobs", "2") == whole
    assert (
        convert(tmp_path, "single", hosts, capsys, "--format", fmt, "--single-file")[1:]
        == (convert(tmp_path, "single1", [one_root], capsys, "--format", fmt, "--single-file")[1:])
    )


def test_a_directory_of_host_roots_is_read_as_those_roots(
    one_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    merged = tmp_path / "all-hosts"
    hosts = [merged / "host-a", merged / "host-b", merged / "host-c"]
    split(one_root, hosts, lambda number: (2 - number // 3) % 3)  # runs of records per host
    assert log_roots([str(merged)]) == [str(h) for h in hosts]
    whole = convert(tmp_path, "whole", [one_root], capsys)
    assert convert(tmp_path, "merged", [merged], capsys) == whole


def test_a_log_root_is_a_directory_with_a_day_directory_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "root" / "2026-11-26").mkdir(parents=True)
    (tmp_path / "root" / "notes").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "hosts" / "b" / "2026-11-26").mkdir(parents=True)
    (tmp_path / "hosts" / "a").mkdir()
    (tmp_path / "hosts" / ".hidden").mkdir()
    roots = log_roots([str(tmp_path / d) for d in ("root", "empty", "hosts")])
    assert roots == [str(tmp_path / p) for p in ("root", "empty", "hosts/a", "hosts/b")]


def chat(timestamp: str, question: str, **fields: Any) -> dict[str, Any]:
    request = {"model": "m", "messages": [{"role": "user", "content": question}]}
    response = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": question.upper()}}],
    }
    return record("/v1/chat/completions", request, response, timestamp=timestamp, **fields)


def questions(out: Path) -> list[str]:
    lines = (out / "2026-11-26" / "s.jsonl").read_text().splitlines()
    return [json.loads(line)["messages"][0]["content"] for line in lines]


def test_records_are_merged_by_timestamp_then_root_order_then_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Side calls that fold into nothing: their order is the order of the output lines.
    t1, t2, t3 = (f"2026-11-26T10:00:0{n}.000000Z" for n in (1, 2, 3))
    a = write_logs(tmp_path / "a", {"2026-11-26/s.jsonl": [chat(t1, "a1"), chat(t3, "a3")]})
    b = write_logs(
        tmp_path / "b",
        {"2026-11-26/s.jsonl": [chat(t1, "b1"), chat(t2, "b2"), chat(t3, "b3x"), chat(t3, "b3")]},
    )
    assert main(["--logs", str(a), "--logs", str(b), "--output", str(tmp_path / "ab")]) == 0
    assert questions(tmp_path / "ab") == ["a1", "b1", "b2", "a3", "b3x", "b3"]
    assert main(["--logs", str(b), "--logs", str(a), "--output", str(tmp_path / "ba")]) == 0
    assert questions(tmp_path / "ba") == ["b1", "a1", "b2", "b3x", "b3", "a3"]
    capsys.readouterr()


def test_damaged_lines_are_reported_with_their_own_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = "2026-11-26T10:00:00Z"
    a = write_logs(tmp_path / "a", {"2026-11-26/s.jsonl": [chat(t, "a1")]})
    b = write_logs(tmp_path / "b", {"2026-11-26/s.jsonl": [chat(t, "b1"), chat(t, "b2")]})
    with open(b / "2026-11-26" / "s.jsonl", "ab") as handle:
        handle.write(b"not json\n")
    with open(a / "2026-11-26" / "s.jsonl", "ab") as handle:
        handle.write(b"\n")
    assert main(["--logs", str(a), "--logs", str(b), "--output", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {b / '2026-11-26' / 's.jsonl'}:3: not JSON" in err
    assert f"warning: {a / '2026-11-26' / 's.jsonl'}:2: blank line" in err
    assert ", 2 damaged lines," in err and "1 files, 3 records read" in err


def test_the_instance_field_changes_nothing(
    one_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tagged = tmp_path / "tagged-logs"
    for path in sorted(one_root.glob("*/*.jsonl")):
        lines = []
        for line in path.read_bytes().splitlines(keepends=True):
            try:
                tagged_record = {**json.loads(line), "instance": "host-7"}
                lines.append(json.dumps(tagged_record, ensure_ascii=False, separators=(",", ":")))
                lines[-1] += "\n"
            except ValueError:  # the generator's damaged lines stay as they are
                lines.append(line.decode())
        target = tagged / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(lines), encoding="utf-8", errors="surrogatepass")
    whole = convert(tmp_path, "plain", [one_root], capsys, "--format", "native")
    assert convert(tmp_path, "tagged", [tagged], capsys, "--format", "native") == whole


def test_the_same_logs_directory_twice_is_a_usage_error(
    one_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--logs", str(one_root), "--logs", f"{one_root}/", "--output", str(tmp_path / "o")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "albicilla-conv: error: the same logs directory is given twice\n"
    )


def test_a_missing_second_logs_directory_is_named(
    one_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    argv = ["--logs", str(one_root), "--logs", str(missing), "--output", str(tmp_path / "o")]
    assert main(argv) == 2
    assert (
        capsys.readouterr().err == f"albicilla-conv: error: logs directory not found: {missing}\n"
    )
