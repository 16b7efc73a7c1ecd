"""The --report integrity report: every count checked against a corpus built to have it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.cli import main
from albicilla.conv.report import record_model, record_usage

READ = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}
GREP = {"type": "function", "function": {"name": "grep", "parameters": {"type": "object"}}}
LS = {"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def record(
    messages: list[dict[str, Any]],
    reply: dict[str, Any],
    *,
    tools: list[Any] | None = None,
    model: str = "local-model",
    usage: dict[str, Any] | None = None,
    status: int = 200,
    complete: bool = True,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": reply}],
    }
    if usage is not None:
        response["usage"] = usage
    return {
        "request": {"model": "asked-model", "messages": messages, "tools": tools or []},
        "response": response,
        "status": status,
        "complete": complete,
        "endpoint": "/v1/chat/completions",
    }


SYSTEM = {"role": "system", "content": "You are an agent."}
TASK = {"role": "user", "content": "Find the bug."}
CALLS = {
    "role": "assistant",
    "content": None,
    "tool_calls": [call("c1", "read_file", '{"path": "a.py"}'), call("c2", "grep", '{"q": "x"}')],
}
RESULTS = [
    {"role": "tool", "tool_call_id": "c1", "content": "print(1)"},
    {"role": "tool", "tool_call_id": "c2", "content": "grep: bad regex", "_is_error": True},
]
RATE_LIMITED = {
    "request": {"model": "gpt-4.1", "messages": [SYSTEM, TASK]},
    "response": {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
    "status": 429,
    "complete": True,
    "endpoint": "/v1/chat/completions",
}

# Session a: a tool loop of two calls (the first folds into the second), a 429 in between, and
# a title side call. Lines: 1 = the loop, 2 = the title. No problems.
SESSION_A = [
    record(
        [SYSTEM, TASK],
        CALLS,
        tools=[READ, GREP],
        model="gpt-4.1-2025-04-14",
        usage={
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 40},
        },
    ),
    RATE_LIMITED,
    record(
        [SYSTEM, TASK, CALLS, *RESULTS],
        {"role": "assistant", "content": "Fixed."},
        tools=[READ, GREP],
        model="gpt-4.1-2025-04-14",
        usage={"prompt_tokens": 200, "completion_tokens": 20},
    ),
    record(
        [{"role": "user", "content": "Title for: Find the bug."}],
        {"role": "assistant", "content": "Bug hunt"},
        model="gpt-4.1-mini",
        usage={
            "prompt_tokens": 30,
            "completion_tokens": 5,
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    ),
]
# Session b: one problem per line, an incomplete record, and a damaged line after the second.
SESSION_B = [
    record(
        [{"role": "user", "content": "one"}],
        {"role": "assistant", "tool_calls": [call("u1", "unknown_tool", '{"x": 1}')]},
    ),
    record(
        [{"role": "user", "content": "two"}],
        {"role": "assistant", "tool_calls": [call("c9", "ls", "{bad")]},
        tools=[LS],
    ),
    "this line is not JSON",
    record([{"role": "user", "content": "three"}], {"role": "assistant", "content": ""}),
    record(
        [{"role": "user", "content": "cut"}], {"role": "assistant", "content": "c"}, complete=False
    ),
    record(
        [
            {"role": "user", "content": "four"},
            {"role": "tool", "tool_call_id": "zz", "content": "?"},
        ],
        {"role": "assistant", "content": "ok"},
    ),
]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    day = tmp_path / "logs" / "2026-11-26"
    day.mkdir(parents=True)
    for name, records in (("a.jsonl", SESSION_A), ("b.jsonl", SESSION_B)):
        text = "".join((r if type(r) is str else json.dumps(r)) + "\n" for r in records)
        (day / name).write_text(text, encoding="utf-8")
    return tmp_path / "logs"


def run_report(logs: Path, tmp_path: Path, *flags: str) -> dict[str, Any]:
    tmp_path.mkdir(exist_ok=True)
    report = tmp_path / "report.json"
    argv = ["--logs", str(logs), "--output", str(tmp_path / "out"), "--report", str(report)]
    assert main([*argv, *flags]) == 0
    return json.loads(report.read_text(encoding="utf-8"))


def b_problems(first_line: int, file: str, *, hf: bool) -> list[dict[str, Any]]:
    """The problem entries of session b, whose lines start at `first_line` of `file`."""
    two = {
        "file": None if hf else file,
        "line": None if hf else first_line + 1,
        "source": "2026-11-26/b.jsonl",
        "dropped": "tool arguments not JSON" if hf else None,
        "problems": [
            {
                "kind": "invalid arguments",
                "path": "messages[1].tool_calls[0]",
                "detail": "not JSON",
            },
            {"kind": "call without result", "path": "messages[1].tool_calls[0]", "detail": "c9 ls"},
        ],
    }
    after = first_line + (1 if hf else 2)
    return [
        {
            "file": file,
            "line": first_line,
            "source": "2026-11-26/b.jsonl",
            "dropped": None,
            "problems": [
                {
                    "kind": "unknown tool name",
                    "path": "messages[1].tool_calls[0]",
                    "detail": "unknown_tool",
                },
                {
                    "kind": "call without result",
                    "path": "messages[1].tool_calls[0]",
                    "detail": "u1 unknown_tool",
                },
            ],
        },
        two,
        {
            "file": file,
            "line": after,
            "source": "2026-11-26/b.jsonl",
            "dropped": None,
            "problems": [{"kind": "empty assistant turn", "path": "messages[1]", "detail": ""}],
        },
        {
            "file": file,
            "line": after + 1,
            "source": "2026-11-26/b.jsonl",
            "dropped": None,
            "problems": [{"kind": "result without call", "path": "messages[1]", "detail": "zz"}],
        },
    ]


# Counted by hand from the corpus above: 9 records (4 + 5) and 1 damaged line; 7 used (the 429
# and the incomplete one skipped); 1 folded (the loop's first call); 2 + 4 lines.
RECORDS = {
    "read": 9,
    "used": 7,
    "skipped": {"incomplete": 1, "status not 200": 1},
    "damaged_lines": 1,
    "folded": 1,
    "folded_share": 0.1429,
    "id_only_folds": 0,
    "by_endpoint": {"/v1/chat/completions": 9},
    "dropped_items": {},  # a chat-only corpus: nothing without a chat form
}
MODELS = {"gpt-4.1": 1, "gpt-4.1-2025-04-14": 2, "gpt-4.1-mini": 1, "local-model": 5}
USAGE = {
    "records_with_usage": 3,
    "input_tokens": 330,
    "cached_input_tokens": 40,
    "cache_write_input_tokens": 0,
    "output_tokens": 35,
    "reasoning_tokens": 2,
}
PROBLEM_COUNTS = {
    "call without result": 2,
    "empty assistant turn": 1,
    "invalid arguments": 1,
    "result without call": 1,
    "unknown tool name": 1,
}


def test_report_of_the_default_format_counts_everything_exactly(logs: Path, tmp_path: Path) -> None:
    assert run_report(logs, tmp_path) == {
        "report_version": 1,
        "format": "json_tool_call",
        "files": 2,
        "records": RECORDS,
        "lines": {"written": 6, "dropped": {}, "with_problems": 4},
        "problems": {
            "counts": PROBLEM_COUNTS,
            "lines": b_problems(1, "2026-11-26/b.jsonl", hf=False),
        },
        "tools": {
            "grep": {"calls": 1, "error_results": 1},
            "ls": {"calls": 1, "error_results": 0},
            "read_file": {"calls": 1, "error_results": 0},
            "unknown_tool": {"calls": 1, "error_results": 0},
        },
        "renamed_tools": {},  # only the native format renames
        "models": MODELS,
        "redactions": {},  # no --redact
        "usage": USAGE,
    }


def test_report_of_hf_lists_the_dropped_line_and_numbers_the_written_ones(
    logs: Path, tmp_path: Path
) -> None:
    report = run_report(logs, tmp_path, "--format", "hf", "--single-file")
    assert report["format"] == "hf"
    assert report["records"] == RECORDS
    assert report["lines"] == {
        "written": 5,
        "dropped": {"tool arguments not JSON": 1},
        "with_problems": 3,
    }
    # Session a's two lines come first in the single file.
    assert report["problems"] == {
        "counts": PROBLEM_COUNTS,
        "lines": b_problems(3, "conversations.jsonl", hf=True),
    }
    assert "ls" not in report["tools"]  # its only call is in the dropped line
    lines = (tmp_path / "out" / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    assert json.loads(lines[4])["messages"][0] == {"role": "user", "content": "four"}


def test_report_is_the_same_bytes_on_every_run(logs: Path, tmp_path: Path) -> None:
    first = run_report(logs, tmp_path / "1", "--format", "native")
    second = run_report(logs, tmp_path / "2", "--format", "native")
    assert first == second
    assert (tmp_path / "1" / "report.json").read_bytes() == (
        tmp_path / "2" / "report.json"
    ).read_bytes()


def test_without_report_flag_no_report_and_the_summary_stays_one_line(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--logs", str(logs), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "albicilla-conv: 2 files, 9 records read, 7 used, 2 skipped (incomplete: 1, "
        "status not 200: 1), 1 damaged lines, 6 conversations written, 1 invalid tool arguments"
    )
    assert len(err) == 2  # the damaged-line warning, then the summary
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize(
    "where, message",
    [
        ("missing/report.json", "report directory not found: {tmp}/missing"),
        ("", "report is a directory: {tmp}/"),
    ],
)
def test_report_path_that_cannot_be_written_is_refused_before_the_run(
    logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, message: str
) -> None:
    argv = [
        "--logs",
        str(logs),
        "--output",
        str(tmp_path / "out"),
        "--report",
        f"{tmp_path}/{where}",
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"albicilla-conv: error: {message.format(tmp=tmp_path)}\n"
    assert not (tmp_path / "out").exists()


USAGES = {
    "chat completions": (
        {
            "endpoint": "/v1/chat/completions",
            "response": {
                "model": "gpt-4.1",
                "usage": {
                    "prompt_tokens": 1000,
                    "completion_tokens": 50,
                    "total_tokens": 1050,
                    "prompt_tokens_details": {"cached_tokens": 600, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 20},
                },
            },
        },
        (1000, 600, 0, 50, 20),
    ),
    "responses": (
        {
            "endpoint": "/v1/responses",
            "response": {
                "object": "response",
                "model": "o4-mini",
                "usage": {
                    "input_tokens": 700,
                    "output_tokens": 80,
                    "total_tokens": 780,
                    "input_tokens_details": {"cached_tokens": 300},
                    "output_tokens_details": {"reasoning_tokens": 64},
                },
            },
        },
        (700, 300, 0, 80, 64),
    ),
    "anthropic messages: input_tokens leaves out the cache, so the cache is added": (
        {
            "endpoint": "/v1/messages",
            "response": {
                "type": "message",
                "model": "claude-sonnet-4-5",
                "usage": {
                    "input_tokens": 12,
                    "cache_creation_input_tokens": 200,
                    "cache_read_input_tokens": 3000,
                    "output_tokens": 90,
                    "service_tier": "standard",
                },
            },
        },
        (3212, 3000, 200, 90, 0),
    ),
    "anthropic without endpoint, known by its cache fields": (
        {
            "response": {
                "usage": {"input_tokens": 5, "cache_read_input_tokens": 10, "output_tokens": 1}
            }
        },
        (15, 10, 0, 1, 0),
    ),
    "rebuilt stream cut before usage": ({"response": {"usage": None}}, None),
    "error body": ({"response": {"error": {"message": "x"}}}, None),
    "counts that are not integers are left out": (
        {"response": {"usage": {"prompt_tokens": "12", "completion_tokens": True}}},
        (0, 0, 0, 0, 0),
    ),
}


@pytest.mark.parametrize("rec, expected", USAGES.values(), ids=USAGES.keys())
def test_usage_has_one_shape_for_every_api(rec: dict[str, Any], expected: Any) -> None:
    names = (
        "input_tokens",
        "cached_input_tokens",
        "cache_write_input_tokens",
        "output_tokens",
        "reasoning_tokens",
    )
    usage = record_usage(rec)
    assert usage == (None if expected is None else dict(zip(names, expected, strict=True)))


def test_model_is_the_answering_one_else_the_requested_one() -> None:
    assert record_model({"request": {"model": "a"}, "response": {"model": "b"}}) == "b"
    assert record_model({"request": {"model": "a"}, "response": {"model": ""}}) == "a"
    assert record_model({"request": {"model": "a"}, "response": "bad gateway"}) == "a"
    assert record_model({"request": []}) == "(unknown)"


def test_checks_pair_results_by_id_or_position_and_flag_late_system_and_blank_turns() -> None:
    from albicilla.conv.checks import Problem, check_conversation

    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "go"},
        {"role": "assistant", "function_call": {"name": "now", "arguments": "[1]"}},
        {"role": "function", "name": "now", "content": "12:00", "_is_error": True},
        {"role": "developer", "content": "late"},
        {"role": "assistant", "content": "  \n", "tool_calls": []},
        {"role": "assistant", "tool_calls": [call("a", "ls", ""), call("b", "ls", "{}")]},
        {"role": "tool", "tool_call_id": "b", "content": "x", "_is_error": True},
        {"role": "tool", "tool_call_id": "a", "content": "y", "_is_error": False},
    ]
    findings = check_conversation(messages, [LS])
    assert findings.problems == [
        Problem("unknown tool name", "messages[2].tool_calls[0]", "now"),
        Problem("invalid arguments", "messages[2].tool_calls[0]", "not a JSON object"),
        Problem("late system message", "messages[4]", "developer"),
        Problem("empty assistant turn", "messages[5]", ""),
    ]
    assert findings.calls == {"now": 1, "ls": 2}
    assert findings.errors == {"now": 1, "ls": 1}


def test_report_path_without_a_directory_goes_to_the_working_directory(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--logs", str(logs), "--output", "out", "--report", "report.json"]) == 0
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["files"] == 2


def test_report_counts_redactions_by_kind(tmp_path: Path) -> None:
    record = {
        "timestamp": "2026-11-26T10:00:00.000000Z",
        "session_id": "s",
        "status": 200,
        "complete": True,
        "endpoint": "/v1/chat/completions",
        "schema_version": 1,
        "request": {
            "model": "m",
            "messages": [{"role": "user", "content": "my key is ghp_" + "a1B2" * 9 + " ok"}],
        },
        "response": {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Mail bob@corp.example about it."},
                }
            ]
        },
    }
    logs = tmp_path / "logs" / "2026-11-26"
    logs.mkdir(parents=True)
    (logs / "s.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = run_report(tmp_path / "logs", tmp_path, "--redact", "--anonymize-emails")
    assert report["redactions"] == {"email": 1, "github_token": 1}
