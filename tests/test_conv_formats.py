"""The two output formats: json_tool_call (default) and native, message by message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.cli import main
from albicilla.conv.formats import flatten_tool, json_tool_call_line, json_tool_call_message

READ = {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": ""}}


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


MESSAGES = {
    "text then parallel tool calls, one per line, arguments parsed": (
        {
            "role": "assistant",
            "content": "Let me look.",
            "refusal": None,
            "tool_calls": [
                tool_call("call_1", "read_file", '{"path": "a.py"}'),
                tool_call("call_2", "grep", '{"pattern":"déjà vu","max":3}'),
            ],
        },
        {
            "role": "assistant",
            "content": "Let me look.\n"
            '<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>\n'
            '<tool_call>{"name": "grep", "arguments": {"pattern": "déjà vu", "max": 3}}'
            "</tool_call>",
        },
        0,
    ),
    "null content with a tool call is the tool call alone": (
        {"role": "assistant", "content": None, "tool_calls": [tool_call("c", "ls", "{}")]},
        {"role": "assistant", "content": '<tool_call>{"name": "ls", "arguments": {}}</tool_call>'},
        0,
    ),
    "arguments that are not JSON stay the string and are counted": (
        {"role": "assistant", "tool_calls": [tool_call("c", "ls", '{"path": "a.py"')]},
        {
            "role": "assistant",
            "content": '<tool_call>{"name": "ls", "arguments": "{\\"path\\": \\"a.py\\""}'
            "</tool_call>",
        },
        1,
    ),
    "empty arguments are an empty object": (
        {"role": "assistant", "content": "", "tool_calls": [READ]},
        {
            "role": "assistant",
            "content": '<tool_call>{"name": "read_file", "arguments": {}}</tool_call>',
        },
        0,
    ),
    "the legacy function_call is a tool call too": (
        {"role": "assistant", "function_call": {"name": "ls", "arguments": '{"a": 1}'}},
        {
            "role": "assistant",
            "content": '<tool_call>{"name": "ls", "arguments": {"a": 1}}</tool_call>',
        },
        0,
    ),
    "a tool result is wrapped with its call id and loses tool_call_id": (
        {"role": "tool", "tool_call_id": "call_1", "content": "print('hi')"},
        {
            "role": "tool",
            "content": "<tool_result tool_call_id=\"call_1\">print('hi')</tool_result>",
        },
        0,
    ),
    "a tool result with list content is its texts joined by newlines, null is empty": (
        {
            "role": "tool",
            "tool_call_id": "c",
            "name": "ls",
            "content": [{"type": "text", "text": "a.py"}, {"type": "text", "text": "b.py"}],
        },
        {
            "role": "tool",
            "content": '<tool_result tool_call_id="c">a.py\nb.py</tool_result>',
            "name": "ls",
        },
        0,
    ),
    "a tool result with null content": (
        {"role": "tool", "tool_call_id": "c", "content": None},
        {"role": "tool", "content": '<tool_result tool_call_id="c"></tool_result>'},
        0,
    ),
    "developer becomes system": (
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": "Be brief."},
        0,
    ),
    "null content becomes an empty string; null fields go, other fields stay": (
        {"role": "assistant", "content": None, "refusal": None, "reasoning_content": "Hmm."},
        {"role": "assistant", "content": "", "reasoning_content": "Hmm."},
        0,
    ),
    "text-only list content becomes one string": (
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Part one."},
                {"type": "text", "text": "Part two.", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "user", "content": "Part one.\nPart two."},
        0,
    ),
    "list content with an image stays a list": (
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        0,
    ),
}


@pytest.mark.parametrize("message, expected, invalid", MESSAGES.values(), ids=MESSAGES.keys())
def test_json_tool_call_message(message: dict, expected: dict, invalid: int) -> None:
    assert json_tool_call_message(message) == (expected, invalid)


TOOLS = {
    "a function tool keeps name, description and parameters only": (
        {
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file.",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                "strict": True,
            },
        },
        {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    ),
    "missing description and parameters are filled in": (
        {"type": "function", "function": {"name": "now"}},
        {"name": "now", "description": "", "parameters": {"type": "object", "properties": {}}},
    ),
    "an already flat tool": (
        {"name": "ls", "description": "List.", "parameters": {"type": "object"}},
        {"name": "ls", "description": "List.", "parameters": {"type": "object"}},
    ),
}


@pytest.mark.parametrize("tool, expected", TOOLS.values(), ids=TOOLS.keys())
def test_flatten_tool(tool: dict, expected: dict) -> None:
    assert flatten_tool(tool) == expected


def test_json_tool_call_line_counts_invalid_arguments_over_the_conversation() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "tool_calls": [tool_call("a", "x", "{bad"), tool_call("b", "y", "[")],
        },
        {"role": "assistant", "tool_calls": [tool_call("c", "z", '{"ok": true}')]},
    ]
    line, invalid = json_tool_call_line(messages, [])
    assert invalid == 2
    assert line["tools"] == []
    assert [m["content"] for m in line["messages"][1:]] == [
        '<tool_call>{"name": "x", "arguments": "{bad"}</tool_call>\n'
        '<tool_call>{"name": "y", "arguments": "["}</tool_call>',
        '<tool_call>{"name": "z", "arguments": {"ok": true}}</tool_call>',
    ]


# One tool-calling exchange through the command line, in both modes.
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CALL = tool_call("call_9", "get_weather", '{"city": "Kraków"}')
REQUESTS = [
    (
        [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Weather?"}],
        {"role": "assistant", "content": None, "refusal": None, "tool_calls": [CALL]},
    ),
    (
        [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21 °C"},
        ],
        {"role": "assistant", "content": "Sunny, 21 °C in Kraków.", "refusal": None},
    ),
]


def write_exchange(logs: Path) -> None:
    lines = []
    for messages, reply in REQUESTS:
        record = {
            "session_id": "s",
            "request": {"model": "m", "messages": messages, "tools": [TOOL]},
            "response": {"object": "chat.completion", "choices": [{"index": 0, "message": reply}]},
            "status": 200,
            "complete": True,
            "endpoint": "/v1/chat/completions",
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    (logs / "2026-11-26").mkdir(parents=True)
    (logs / "2026-11-26" / "s.jsonl").write_text("".join(lines), encoding="utf-8")


def test_default_format_end_to_end(tmp_path: Path) -> None:
    write_exchange(tmp_path / "logs")
    assert main(["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "2026-11-26" / "s.jsonl").read_text(encoding="utf-8")
    assert "Kraków" in text  # UTF-8, not \u escapes
    assert [json.loads(line) for line in text.splitlines()] == [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": '<tool_call>{"name": "get_weather", "arguments": '
                    '{"city": "Kraków"}}</tool_call>',
                },
                {
                    "role": "tool",
                    "content": '<tool_result tool_call_id="call_9">Sunny, 21 °C</tool_result>',
                },
                {"role": "assistant", "content": "Sunny, 21 °C in Kraków."},
            ],
            "tools": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ],
        }
    ]


def test_native_format_end_to_end_keeps_everything_as_captured(tmp_path: Path) -> None:
    write_exchange(tmp_path / "logs")
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]
    assert main([*argv, "--no-json-tool-calls"]) == 0
    text = (tmp_path / "out" / "2026-11-26" / "s.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line) for line in text.splitlines()] == [
        {
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_9", "content": "Sunny, 21 °C"},
                {"role": "assistant", "content": "Sunny, 21 °C in Kraków.", "refusal": None},
            ],
            "tools": [TOOL],
        }
    ]
