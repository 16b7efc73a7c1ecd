"""Folding a session's records into conversations, checked line by line against hand-written output.

Every case goes through the whole converter (`main([...])`, native format, one file) so what is
checked is what a user gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.cli import main

SYSTEM = {"role": "system", "content": "You are a coding agent."}
TASK = {"role": "user", "content": "Fix the failing test."}
TITLE_PROMPT = {"role": "system", "content": "Write a five-word title."}
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}
READ_TOOL_V2 = {
    "type": "function",
    "function": {"name": "read_file", "description": "Read a file (changed)."},
}
GREP_TOOL = {"type": "function", "function": {"name": "grep", "description": "Search."}}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def assistant_calls(*calls: dict[str, Any], content: Any = None) -> dict[str, Any]:
    """An assistant reply as the upstream sends it (null content, null refusal)."""
    return {"role": "assistant", "content": content, "refusal": None, "tool_calls": list(calls)}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def result(call_id: str, text: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


# The first tool call, as the model sent it and as the agent put it back into its history.
READ_A = assistant_calls(call("call_1", "read_file", '{"path": "a.py", "limit": null}'))
READ_A_RESENT = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "type": "function",
            "function": {"arguments": '{"path":"a.py"}', "name": "read_file"},
            "id": "call_1",
        }
    ],
}
RESULT_A = result("call_1", "def test(): assert add(1, 1) == 2")
DONE = said("Fixed: add() now returns the sum.")


def record(
    messages: list[dict[str, Any]],
    *replies: dict[str, Any],
    tools: list[Any] | None = None,
    status: int = 200,
    complete: bool = True,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"model": "gpt-4.1", "messages": messages}
    if tools is not None:
        request["tools"] = tools
    if response is None:
        choices = [
            {"index": i, "message": m, "finish_reason": "stop"} for i, m in enumerate(replies)
        ]
        response = {"id": "chatcmpl-1", "object": "chat.completion", "choices": choices}
    return {
        "timestamp": "2026-11-26T10:00:00.000000Z",
        "session_id": "agent-7",
        "request": request,
        "response": response,
        "status": status,
        "stream": False,
        "complete": complete,
        "error": None,
        "duration_ms": 812.4,
        "endpoint": "/v1/chat/completions",
        "schema_version": 1,
    }


def convert_session(tmp_path: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    day = tmp_path / "logs" / "2026-11-26"
    day.mkdir(parents=True)
    lines = [json.dumps(r) + "\n" for r in records]
    (day / "agent-7.jsonl").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(out)]
    assert main([*argv, "--single-file", "--no-json-tool-calls"]) == 0
    text = (out / "conversations.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def line(messages: list[dict[str, Any]], tools: list[Any] | None = None) -> dict[str, Any]:
    return {"messages": messages, "tools": tools or []}


ERROR_BODY = {"error": {"message": "Rate limit reached", "type": "rate_limit", "code": None}}

CASES = {
    "linear agent loop is one conversation, with the history as the agent resent it": (
        [
            record([SYSTEM, TASK], READ_A, tools=[READ_TOOL]),
            record([SYSTEM, TASK, READ_A_RESENT, RESULT_A], DONE, tools=[READ_TOOL]),
        ],
        [line([SYSTEM, TASK, READ_A_RESENT, RESULT_A, DONE], [READ_TOOL])],
    ),
    "a side call in the same session stays its own line, after the loop it interrupted": (
        [
            record([SYSTEM, TASK], READ_A),
            record([TITLE_PROMPT, TASK], said("Fix failing add test")),
            record([SYSTEM, TASK, READ_A, RESULT_A], DONE),
        ],
        [
            line([SYSTEM, TASK, READ_A, RESULT_A, DONE]),
            line([TITLE_PROMPT, TASK, said("Fix failing add test")]),
        ],
    ),
    "a compacted history keeps the full one and continues on its own": (
        [
            record([SYSTEM, TASK], READ_A),
            record([SYSTEM, TASK, READ_A, RESULT_A], said("Now run the tests?")),
            record([SYSTEM, user("Summary: add() fixed.")], said("Running the tests.")),
            record(
                [
                    SYSTEM,
                    user("Summary: add() fixed."),
                    said("Running the tests."),
                    user("go on"),
                ],
                DONE,
            ),
        ],
        [
            line([SYSTEM, TASK, READ_A, RESULT_A, said("Now run the tests?")]),
            line(
                [
                    SYSTEM,
                    user("Summary: add() fixed."),
                    said("Running the tests."),
                    user("go on"),
                    DONE,
                ]
            ),
        ],
    ),
    "a retry after an error and after a dropped stream leaves one conversation": (
        [
            record([SYSTEM, TASK], response=ERROR_BODY, status=429),
            record([SYSTEM, TASK], said("partial"), complete=False),
            record([SYSTEM, TASK], READ_A),
            record([SYSTEM, TASK, READ_A, RESULT_A], DONE),
        ],
        [line([SYSTEM, TASK, READ_A, RESULT_A, DONE])],
    ),
    "n > 1: the continued choice is folded, the other choice is its own line": (
        [
            record([SYSTEM, TASK], said("Option A"), said("Option B")),
            record([SYSTEM, TASK, said("Option B"), user("B please")], DONE),
        ],
        [
            line([SYSTEM, TASK, said("Option A")]),
            line([SYSTEM, TASK, said("Option B"), user("B please"), DONE]),
        ],
    ),
    "n > 1 with two identical choices is one line": (
        [record([SYSTEM, TASK], said("Same"), said("Same"))],
        [line([SYSTEM, TASK, said("Same")])],
    ),
    "a regenerated reply: the discarded one and the continued one are both kept": (
        [
            record([SYSTEM, TASK], said("First try")),
            record([SYSTEM, TASK], said("Second try")),
            record([SYSTEM, TASK, said("Second try"), user("thanks")], said("You're welcome")),
        ],
        [
            line([SYSTEM, TASK, said("First try")]),
            line([SYSTEM, TASK, said("Second try"), user("thanks"), said("You're welcome")]),
        ],
    ),
    "the same call made twice with the same answer is written once": (
        [record([SYSTEM, TASK], said("Yes")), record([SYSTEM, TASK], said("Yes"))],
        [line([SYSTEM, TASK, said("Yes")])],
    ),
    "a conversation an earlier record already continued is not written again": (
        [
            record([SYSTEM, TASK, said("Yes"), user("and?")], said("More")),
            record([SYSTEM, TASK], said("Yes")),
        ],
        [line([SYSTEM, TASK, said("Yes"), user("and?"), said("More")])],
    ),
    "tools are the union over the folded records, the first definition of a name wins": (
        [
            record([SYSTEM, TASK], READ_A, tools=[READ_TOOL]),
            record([SYSTEM, TASK, READ_A, RESULT_A], DONE, tools=[READ_TOOL_V2, GREP_TOOL]),
        ],
        [line([SYSTEM, TASK, READ_A, RESULT_A, DONE], [READ_TOOL, GREP_TOOL])],
    ),
    "tools of a side call do not leak into the loop": (
        [
            record([SYSTEM, TASK], READ_A, tools=[READ_TOOL]),
            record([TITLE_PROMPT, TASK], said("Title"), tools=[GREP_TOOL]),
            record([SYSTEM, TASK, READ_A, RESULT_A], DONE, tools=[READ_TOOL]),
        ],
        [
            line([SYSTEM, TASK, READ_A, RESULT_A, DONE], [READ_TOOL]),
            line([TITLE_PROMPT, TASK, said("Title")], [GREP_TOOL]),
        ],
    ),
    "different arguments are a different conversation": (
        [
            record([SYSTEM, TASK], READ_A),
            record(
                [SYSTEM, TASK, assistant_calls(call("call_1", "read_file", '{"path": "b.py"}'))],
                DONE,
            ),
        ],
        [
            line([SYSTEM, TASK, READ_A]),
            line(
                [
                    SYSTEM,
                    TASK,
                    assistant_calls(call("call_1", "read_file", '{"path": "b.py"}')),
                    DONE,
                ]
            ),
        ],
    ),
    "a different tool-call id is the same conversation (clients invent ids on resend)": (
        [
            record([SYSTEM, TASK, READ_A, result("call_1", "x")], said("one")),
            record([SYSTEM, TASK, READ_A, result("call_2", "x"), said("one")], said("two")),
        ],
        [
            line([SYSTEM, TASK, READ_A, result("call_2", "x"), said("one"), said("two")]),
        ],
    ),
    "list content equal part by part folds; text parts equal their joined string": (
        [
            record(
                [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What is this?"},
                            {"type": "image_url", "image_url": {"url": "data:,x", "detail": None}},
                        ],
                    }
                ],
                {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
            ),
            record(
                [
                    {
                        "role": "user",
                        "content": [
                            {"text": "What is this?", "type": "text"},
                            {"image_url": {"url": "data:,x"}, "type": "image_url"},
                        ],
                    },
                    said("A cat."),
                    user("Sure?"),
                ],
                said("Yes."),
            ),
        ],
        [
            line(
                [
                    {
                        "role": "user",
                        "content": [
                            {"text": "What is this?", "type": "text"},
                            {"image_url": {"url": "data:,x"}, "type": "image_url"},
                        ],
                    },
                    said("A cat."),
                    user("Sure?"),
                    said("Yes."),
                ]
            )
        ],
    ),
    "a different image is a different conversation": (
        [
            record(
                [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}]}],
                said("A cat."),
            ),
            record(
                [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "b"}}]},
                    said("A cat."),
                    user("Sure?"),
                ],
                said("Yes."),
            ),
        ],
        [
            line(
                [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}]},
                    said("A cat."),
                ]
            ),
            line(
                [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "b"}}]},
                    said("A cat."),
                    user("Sure?"),
                    said("Yes."),
                ]
            ),
        ],
    ),
}


@pytest.mark.parametrize("records, expected", CASES.values(), ids=CASES.keys())
def test_folding(tmp_path: Path, records: list[dict], expected: list[dict]) -> None:
    assert convert_session(tmp_path, records) == expected


def test_parallel_tool_calls_fold_when_the_agent_reorders_keys_and_spacing(tmp_path: Path) -> None:
    reply = assistant_calls(
        call("call_1", "read_file", '{"path": "a.py", "offset": 0}'),
        call("call_2", "grep", '{"pattern": "add", "paths": ["src", "tests"]}'),
        content="Let me look.",
    )
    resent = {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            call("call_1", "read_file", '{"offset":0,"path":"a.py"}'),
            call("call_2", "grep", '{ "paths": ["src","tests"], "pattern": "add" }'),
        ],
    }
    history = [SYSTEM, TASK, resent, result("call_1", "code"), result("call_2", "hits")]
    records = [record([SYSTEM, TASK], reply), record(history, DONE)]
    assert convert_session(tmp_path, records) == [line([*history, DONE])]


def test_a_long_loop_folds_to_one_line_with_every_message(tmp_path: Path) -> None:
    history = [SYSTEM, TASK]
    records = []
    for step in range(200):
        reply = assistant_calls(call(f"call_{step}", "read_file", f'{{"path": "f{step}.py"}}'))
        records.append(record(list(history), reply))
        history += [reply, result(f"call_{step}", f"contents of f{step}.py")]
    records.append(record(list(history), DONE))
    assert convert_session(tmp_path, records) == [line([*history, DONE])]


def report_of(tmp_path: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """`--report` of converting one session of `records`."""
    convert_session(tmp_path, records)
    report = tmp_path / "report.json"
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "again")]
    assert main([*argv, "--report", str(report)]) == 0
    return json.loads(report.read_text(encoding="utf-8"))["records"]


def run(call_id: str) -> list[dict[str, Any]]:
    """One agent run: a tool call, its result, the final answer."""
    read = assistant_calls(call(call_id, "read_file", '{"path": "a.py"}'))
    return [record([SYSTEM, TASK], read), record([SYSTEM, TASK, read, result(call_id, "x")], DONE)]


def test_runs_that_differ_only_in_tool_call_ids_fold_and_the_report_counts_them(
    tmp_path: Path,
) -> None:
    # The second run's two records meet the first run's messages with other ids: the reply of
    # its first record and the resent call and result of its second.
    counts = report_of(tmp_path, [*run("call_1"), *run("call_9")])
    assert (counts["used"], counts["id_only_folds"]) == (4, 2)
    lines = (tmp_path / "out" / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1


def test_the_same_run_twice_with_the_same_ids_counts_no_id_only_fold(tmp_path: Path) -> None:
    counts = report_of(tmp_path, [*run("call_1"), *run("call_1")])
    assert (counts["used"], counts["id_only_folds"]) == (4, 0)
