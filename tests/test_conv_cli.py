"""The `albicilla-conv` command line, through `main([...])`, flag by flag."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.cli import main

SUMMARY_PREFIX = "albicilla-conv: "


def record(messages: list[dict[str, Any]], reply: str) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-26T10:00:00.000000Z",
        "session_id": "s",
        "request": {"model": "m", "messages": messages},
        "response": {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}],
        },
        "status": 200,
        "stream": True,
        "complete": True,
        "error": None,
        "duration_ms": 1.0,
        "endpoint": "/v1/chat/completions",
        "schema_version": 1,
    }


def chat(*turns: str) -> list[dict[str, Any]]:
    """Alternating user/assistant messages."""
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]


# Two days; on the first, two sessions (files listed out of order on purpose).
LOGS = {
    "2026-11-26/zeta.jsonl": [record(chat("Zeta?"), "Zeta!")],
    "2026-11-26/alpha.jsonl": [
        record(chat("Hi"), "Hello"),
        record(chat("Hi", "Hello", "Żółw?"), "Tortoise 🐢"),
    ],
    "2026-11-27/alpha.jsonl": [record(chat("Next day"), "Still here")],
}
ALPHA = {"messages": chat("Hi", "Hello", "Żółw?", "Tortoise 🐢"), "tools": []}
ZETA = {"messages": chat("Zeta?", "Zeta!"), "tools": []}
NEXT_DAY = {"messages": chat("Next day", "Still here"), "tools": []}


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for name, records in LOGS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return root


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_default_writes_one_file_per_session_and_day(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["--logs", str(logs), "--output", str(out)]) == 0
    assert sorted(tree(out)) == [
        "2026-11-26/alpha.jsonl",
        "2026-11-26/zeta.jsonl",
        "2026-11-27/alpha.jsonl",
    ]
    assert read_lines(out / "2026-11-26" / "alpha.jsonl") == [ALPHA]
    assert read_lines(out / "2026-11-26" / "zeta.jsonl") == [ZETA]
    assert read_lines(out / "2026-11-27" / "alpha.jsonl") == [NEXT_DAY]


def test_output_is_utf8_json_lines_without_escapes(logs: Path, tmp_path: Path) -> None:
    assert main(["--logs", str(logs), "--output", str(tmp_path / "out")]) == 0
    raw = (tmp_path / "out" / "2026-11-26" / "alpha.jsonl").read_bytes()
    assert "Żółw?".encode() in raw and "🐢".encode() in raw
    assert b"\\u" not in raw
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1


def test_single_file_collects_every_session_in_day_then_name_order(
    logs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(["--logs", str(logs), "--output", str(out), "--single-file"]) == 0
    assert list(tree(out)) == ["conversations.jsonl"]
    assert read_lines(out / "conversations.jsonl") == [ALPHA, ZETA, NEXT_DAY]


def test_no_json_tool_calls_keeps_messages_as_captured(tmp_path: Path) -> None:
    messages = [
        {"role": "developer", "content": "Short answers.", "name": None},
        {"role": "user", "content": "Time?"},
    ]
    reply = {"role": "assistant", "content": None, "tool_calls": [], "refusal": None}
    rec = record(messages, "x")
    rec["response"]["choices"][0]["message"] = reply
    day = tmp_path / "logs" / "2026-11-26"
    day.mkdir(parents=True)
    (day / "s.jsonl").write_text(json.dumps(rec) + "\n")
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]

    assert main([*argv, "--no-json-tool-calls"]) == 0
    native = read_lines(tmp_path / "out" / "2026-11-26" / "s.jsonl")
    assert native == [{"messages": [*messages, reply], "tools": []}]

    assert main(argv) == 0
    default = read_lines(tmp_path / "out" / "2026-11-26" / "s.jsonl")
    assert default == [
        {
            "messages": [
                {"role": "system", "content": "Short answers."},
                {"role": "user", "content": "Time?"},
                {"role": "assistant", "content": ""},  # tool_calls always goes
            ],
            "tools": [],
        }
    ]


def test_verbose_reports_progress_per_file(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--logs", str(logs), "--output", str(tmp_path / "out"), "-v"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "[1/3] 2026-11-26/alpha.jsonl: 1 conversations from 2 records "
        "(so far: 2 records, 1 conversations)",
        "[2/3] 2026-11-26/zeta.jsonl: 1 conversations from 1 records "
        "(so far: 3 records, 2 conversations)",
        "[3/3] 2026-11-27/alpha.jsonl: 1 conversations from 1 records "
        "(so far: 4 records, 3 conversations)",
        "albicilla-conv: 3 files, 4 records read, 4 used, 0 skipped, 0 damaged lines, "
        "3 conversations written, 0 invalid tool arguments",
    ]


def test_without_verbose_only_the_summary(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--logs", str(logs), "--output", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "albicilla-conv: 3 files, 4 records read, 4 used, 0 skipped, 0 damaged lines, "
        "3 conversations written, 0 invalid tool arguments\n"
    )


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--logs", "x", "--output", "y", "--frobnicate"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err


def test_missing_required_flags_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --logs, --output" in capsys.readouterr().err


def test_missing_logs_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    assert main(["--logs", str(missing), "--output", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"albicilla-conv: error: logs directory not found: {missing}\n"
    assert not (tmp_path / "out").exists()


def test_logs_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "logs.jsonl"
    file.write_text("")
    assert main(["--logs", str(file), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"albicilla-conv: error: logs directory not found: {file}\n"


def test_output_that_is_a_file_is_refused(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "out"
    file.write_text("")
    assert main(["--logs", str(logs), "--output", str(file)]) == 2
    assert capsys.readouterr().err == f"albicilla-conv: error: output is not a directory: {file}\n"


def test_output_into_the_logs_directory_is_refused(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(logs)
    assert main(["--logs", str(logs), "--output", str(logs)]) == 2
    assert capsys.readouterr().err == (
        "albicilla-conv: error: output directory must not be the logs directory\n"
    )
    assert tree(logs) == before


def test_output_directory_is_created(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "new" / "out"
    assert main(["--logs", str(logs), "--output", str(out), "--single-file"]) == 0
    assert read_lines(out / "conversations.jsonl") == [ALPHA, ZETA, NEXT_DAY]


def test_unwritable_output_is_one_line_and_exit_1(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "2026-11-26").write_text("a file where a day directory must go")
    assert main(["--logs", str(logs), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("albicilla-conv: error: cannot write output: ")
    assert err.count("\n") == 1


def test_empty_logs_directory_warns_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "logs").mkdir()
    assert main(["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: no session files under ")
    assert err[1].startswith("albicilla-conv: 0 files, 0 records read")
    assert tree(tmp_path / "out") == {}


@pytest.mark.parametrize(
    "flags", [[], ["--single-file"], ["--no-json-tool-calls"], ["--single-file", "-v"]]
)
def test_same_input_same_bytes(logs: Path, tmp_path: Path, flags: list[str]) -> None:
    assert main(["--logs", str(logs), "--output", str(tmp_path / "one"), *flags]) == 0
    assert main(["--logs", str(logs), "--output", str(tmp_path / "two"), *flags]) == 0
    # And again into an output that already holds the result.
    assert main(["--logs", str(logs), "--output", str(tmp_path / "two"), *flags]) == 0
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert tree(tmp_path / "one")


def test_lone_surrogates_survive_as_json_escapes(tmp_path: Path) -> None:
    day = tmp_path / "logs" / "2026-11-26"
    day.mkdir(parents=True)
    # What the proxy writes for a client that sent an unpaired surrogate.
    line = json.dumps(record(chat("broken \ud83d emoji"), "ok"))
    (day / "s.jsonl").write_text(line + "\n", encoding="ascii")
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]
    assert main(argv) == 0
    assert read_lines(tmp_path / "out" / "2026-11-26" / "s.jsonl") == [
        {"messages": chat("broken \ud83d emoji", "ok"), "tools": []}
    ]


def test_python_dash_m_runs_the_same_command(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "albicilla.conv", "--logs", str(logs), "--output", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(SUMMARY_PREFIX + "3 files, 4 records read")
    assert read_lines(out / "2026-11-26" / "alpha.jsonl") == [ALPHA]

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "albicilla.conv",
            "--logs",
            str(tmp_path / "missing"),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr == f"albicilla-conv: error: logs directory not found: {tmp_path / 'missing'}\n"
    )
