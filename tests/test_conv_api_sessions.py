"""Whole sessions of real agents on /v1/responses and /v1/messages fold to the lines a person would
write: one for the main loop and one per side call, in chat form (before the output formats)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conv_support import fold_logs, write_logs
from fixtures.agent_sessions import (
    CLAUDE_AGENT,
    CLAUDE_PROMPT,
    CLAUDE_TASK,
    CODEX_ENV,
    CODEX_PROMPT,
    CODEX_TASK,
    LARK,
    REMINDER,
    agents_sdk_days,
    claude_code_session,
    codex_session,
    record,
)

from albicilla.conv.chains import REMEMBERED
from albicilla.conv.cli import main

DAY = "2026-11-26/019a7c3e.jsonl"


def calls(call_id: str, name: str, arguments: str) -> list[dict[str, Any]]:
    return [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]


def test_codex_session_is_one_main_loop_line_and_one_title_line(tmp_path: Path) -> None:
    lines, skipped, dropped = fold_logs(write_logs(tmp_path, {DAY: codex_session()}))
    patch = (
        '{"input": "*** Begin Patch\\n*** Update File: calc.py\\n@@\\n'
        '-    return a - b\\n+    return a + b\\n*** End Patch"}'
    )
    main_loop = {
        "messages": [
            {"role": "developer", "content": CODEX_PROMPT},
            {"role": "user", "content": CODEX_ENV + "\n" + CODEX_TASK},
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "**Running the tests**",
                "tool_calls": calls("call_run", "exec_command", '{"cmd":"pytest -q"}'),
            },
            {
                "role": "tool",
                "tool_call_id": "call_run",
                "content": "F\nFAILED test_calc.py::test_add - assert -1 == 3\n1 failed in 0.02s",
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "**Fixing the sign**",
                "tool_calls": calls("call_patch", "apply_patch", patch),
            },
            {
                "role": "tool",
                "tool_call_id": "call_patch",
                "content": "Success. Updated the following files:\nM calc.py",
            },
            {
                "role": "assistant",
                "content": "Fixed: add() now returns a + b.",
                "reasoning_content": "**Done**",
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "exec_command",
                    "description": "Runs a command in a PTY.",
                    "parameters": {
                        "type": "object",
                        "properties": {"cmd": {"type": "string"}},
                        "required": ["cmd"],
                        "additionalProperties": False,
                    },
                    "strict": False,
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "apply_patch",
                    "description": "Use the `apply_patch` tool to edit files.\n\n"
                    "The input follows this lark grammar:\n" + LARK,
                    "parameters": {
                        "type": "object",
                        "properties": {"input": {"type": "string"}},
                        "required": ["input"],
                    },
                },
            },
        ],
    }
    title = {
        "messages": [
            {"role": "developer", "content": "Write a short title for the task."},
            {"role": "user", "content": CODEX_TASK},
            {"role": "assistant", "content": "Fix add() in calc.py"},
        ],
        "tools": [],
    }
    assert lines == {DAY: [main_loop, title]}
    assert not skipped and not dropped


def test_claude_code_session_is_one_main_loop_line_and_one_per_side_call(tmp_path: Path) -> None:
    lines, skipped, dropped = fold_logs(write_logs(tmp_path, {DAY: claude_code_session()}))
    system = {"role": "system", "content": CLAUDE_AGENT + "\n" + CLAUDE_PROMPT}
    task = {"role": "user", "content": REMINDER + "\n" + CLAUDE_TASK}
    run_tests = {
        "role": "assistant",
        "content": "I'll run the tests first.",
        "reasoning_content": "The user wants the test fixed.",
        "tool_calls": calls(
            "toolu_01", "Bash", '{"command": "pytest -q", "description": "Run the tests"}'
        ),
    }
    main_loop = {
        "messages": [
            system,
            task,
            run_tests,
            {
                "role": "tool",
                "tool_call_id": "toolu_01",
                "content": "FAILED test_calc.py::test_add - assert -1 == 3",
                "_is_error": True,
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "add() subtracts.",
                "tool_calls": calls(
                    "toolu_02",
                    "Edit",
                    '{"file_path": "/repo/calc.py", "old_string": "return a - b", '
                    '"new_string": "return a + b"}',
                ),
            },
            {
                "role": "tool",
                "tool_call_id": "toolu_02",
                "content": "The file /repo/calc.py has been updated.",
            },
            {"role": "assistant", "content": "Fixed: add() now returns the sum."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "Bash",
                    "description": "Executes a bash command.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "command": {"type": "string"},
                            "description": {"type": "string"},
                        },
                        "required": ["command"],
                    },
                },
            },
            {
                "type": "function",
                "function": {
                    "name": "Edit",
                    "description": "Performs exact string replacements in files.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "file_path": {"type": "string"},
                            "old_string": {"type": "string"},
                            "new_string": {"type": "string"},
                        },
                        "required": ["file_path", "old_string", "new_string"],
                    },
                },
            },
        ],
    }
    title = {
        "messages": [
            {"role": "system", "content": "Generate a concise title for this coding session."},
            {"role": "user", "content": CLAUDE_TASK},
            {"role": "assistant", "content": '{"title": "Fix add()"}'},
        ],
        "tools": [],
    }
    summary = {
        "messages": [
            system,
            task,
            run_tests,
            {"role": "user", "content": "Summarize the conversation so far in two sentences."},
            {"role": "assistant", "content": "Tests ran. One failed."},
        ],
        "tools": [],
    }
    assert lines == {DAY: [main_loop, title, summary]}
    assert not skipped
    assert dropped == {"redacted thinking": 1}  # once, in the reply, not again when resent


def weather(*turns: dict[str, Any]) -> dict[str, Any]:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": True,
        },
    }
    system = {"role": "system", "content": "You are a weather agent."}
    return {"messages": [system, *turns], "tools": [tool]}


PARIS = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": calls("call_w1", "get_weather", '{"city":"Paris"}'),
    },
    {"role": "tool", "tool_call_id": "call_w1", "content": "18°C, sunny"},
    {"role": "assistant", "content": "18°C."},
]
ROME = [
    {"role": "user", "content": "And in Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": calls("call_w2", "get_weather", '{"city": "Rome"}'),
    },
    {"role": "tool", "tool_call_id": "call_w2", "content": "21°C"},
    {"role": "assistant", "content": "21°C in Rome."},
]


@pytest.mark.parametrize(
    "remembered", [REMEMBERED, 0], ids=["parents remembered", "parents re-read"]
)
def test_previous_response_id_chains_are_rebuilt_across_days(
    tmp_path: Path, remembered: int
) -> None:
    lines, skipped, _ = fold_logs(write_logs(tmp_path, agents_sdk_days()), remembered)
    # Each day's file folds on its own; the second day's line holds the whole chain.
    assert lines == {
        "2026-11-26/weather.jsonl": [weather(*PARIS)],
        "2026-11-27/weather.jsonl": [weather(*PARIS, *ROME)],
    }
    assert skipped == {"missing context": 1}  # the chain whose start was never logged


def test_a_chain_is_rebuilt_when_its_parent_comes_later_in_file_order(tmp_path: Path) -> None:
    days = agents_sdk_days()
    # The same records, the first day's filed under a name read after the second day's.
    files = {"2026-11-27/a.jsonl": days["2026-11-27/weather.jsonl"]}
    files["2026-11-28/b.jsonl"] = days["2026-11-26/weather.jsonl"]
    lines, skipped, _ = fold_logs(write_logs(tmp_path, files))
    assert lines["2026-11-27/a.jsonl"] == [weather(*PARIS, *ROME)]
    assert skipped == {"missing context": 1}


def test_one_session_file_mixing_three_apis_folds_as_one_conversation(tmp_path: Path) -> None:
    # A gateway app: turn 1 on chat completions, turn 2 resent to Anthropic, a title on Responses.
    system, question = "You answer briefly.", "What is 2 + 2?"
    chat = record(
        "/v1/chat/completions",
        {
            "model": "gpt-4.1",
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
        },
        {
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "4", "refusal": None}}
            ],
        },
    )
    anthropic = record(
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": question}]},
                {"role": "assistant", "content": "4"},
                {"role": "user", "content": "And times 3?"},
            ],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "12"}]},
    )
    title = record(
        "/v1/responses",
        {"model": "gpt-4.1-mini", "instructions": "Title this.", "input": question},
        {
            "object": "response",
            "status": "completed",
            "id": "resp_t",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Arithmetic"}],
                }
            ],
        },
    )
    lines, _, _ = fold_logs(write_logs(tmp_path, {DAY: [chat, anthropic, title]}))
    assert lines == {
        DAY: [
            {
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": "4"},
                    {"role": "user", "content": "And times 3?"},
                    {"role": "assistant", "content": "12"},
                ],
                "tools": [],
            },
            {
                "messages": [
                    {"role": "system", "content": "Title this."},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": "Arithmetic"},
                ],
                "tools": [],
            },
        ]
    }


def test_summary_counts_new_skips_and_dropped_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {DAY: [*claude_code_session(), *codex_session()], **agents_sdk_days()}
    logs = write_logs(tmp_path / "logs", files)
    assert main(["--logs", str(logs), "--output", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == (
        "albicilla-conv: 3 files, 14 records read, 13 used, 1 skipped (missing context: 1), "
        "0 damaged lines, 7 conversations written, 0 invalid tool arguments, "
        "1 items dropped (redacted thinking: 1)"
    )


def test_report_counts_records_of_every_api_and_what_had_no_chat_form(tmp_path: Path) -> None:
    files = {DAY: [*claude_code_session(), *codex_session()], **agents_sdk_days()}
    logs = write_logs(tmp_path / "logs", files)
    report_path = tmp_path / "report.json"
    argv = ["--logs", str(logs), "--output", str(tmp_path / "out"), "--report", str(report_path)]
    assert main(argv) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    records = report["records"]
    # The same corpus as the summary test above: 14 records, one chain without its parent.
    assert (records["read"], records["used"]) == (14, 13)
    assert records["skipped"] == {"missing context": 1}
    assert records["dropped_items"] == {"redacted thinking": 1}
    assert sum(records["by_endpoint"].values()) == 14
    assert set(records["by_endpoint"]) == {"/v1/messages", "/v1/responses"}
    assert report["lines"]["written"] == 7
