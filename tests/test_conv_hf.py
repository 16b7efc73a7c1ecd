"""The hf format (docs/training-formats.md 9.2) and the private-key and `index` rules of every
format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.checks import Problem
from albicilla.conv.cli import main
from albicilla.conv.formats import json_tool_call_writer, native_writer
from albicilla.conv.hf import hf_writer


def call(call_id: str | None, name: str, arguments: Any, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        out["id"] = call_id
    return {**out, **extra}


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_the_section_9_2_example_comes_out_exactly() -> None:
    # What a streamed log holds for the exchange of the spec's example: developer prompt, `index`
    # in the call, string arguments, null content and refusal, a tool message without `name`.
    captured = [
        {"role": "developer", "content": "You are a helpful agent."},
        {"role": "user", "content": "Jaka jest pogoda w Gdańsku?"},
        {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "reasoning_content": "Need the weather tool.",
            "tool_calls": [call("call_1", "get_weather", '{"city": "Gdańsk"}', index=0)],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 12}'},
        {"role": "assistant", "content": "W Gdańsku jest 12°C.", "refusal": None},
    ]
    out = hf_writer(captured, [WEATHER])
    assert out.dropped is None and out.notes == ()
    assert out.line == {
        "messages": [
            {"role": "system", "content": "You are a helpful agent."},
            {"role": "user", "content": "Jaka jest pogoda w Gdańsku?"},
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": "Need the weather tool.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Gdańsk"}},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "name": "get_weather",
                "content": '{"temp": 12}',
            },
            {"role": "assistant", "content": "W Gdańsku jest 12°C."},
        ],
        "tools": [WEATHER],
    }


def test_leading_system_messages_are_joined_and_a_later_one_stays() -> None:
    out = hf_writer(
        [
            {"role": "system", "content": "Rule one."},
            {"role": "developer", "content": [{"type": "text", "text": "Rule two."}]},
            {"role": "user", "content": "Hi", "name": "ola"},
            {"role": "developer", "content": "Now be brief."},
            {"role": "assistant", "content": "Hello"},
        ],
        [],
    )
    assert out.line == {
        "messages": [
            {"role": "system", "content": "Rule one.\n\nRule two."},
            {"role": "user", "content": "Hi"},  # `name` is not an hf key
            {"role": "system", "content": "Now be brief."},
            {"role": "assistant", "content": "Hello"},
        ],
        "tools": [],
    }


def test_parallel_calls_in_index_order_and_missing_ids_made_and_paired_by_position() -> None:
    out = hf_writer(
        [
            {"role": "user", "content": "Two files"},
            {
                "role": "assistant",
                "content": "Reading both.",
                "tool_calls": [
                    call(None, "read", '{"path": "b.py"}', index=1),
                    call(None, "read", '{"path": "a.py", "opts": {"lines": [1, 2]}}', index=0),
                ],
            },
            {"role": "tool", "content": "A"},
            {"role": "tool", "content": "B"},
            {"role": "assistant", "content": "Done."},
        ],
        [],
    )
    assert out.line is not None
    assert out.line["messages"][1:4] == [
        {
            "role": "assistant",
            "content": "Reading both.",
            "tool_calls": [
                {
                    "id": "call_1_0",
                    "type": "function",
                    "function": {
                        "name": "read",
                        "arguments": {"path": "a.py", "opts": {"lines": [1, 2]}},
                    },
                },
                {
                    "id": "call_1_1",
                    "type": "function",
                    "function": {"name": "read", "arguments": {"path": "b.py"}},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1_0", "name": "read", "content": "A"},
        {"role": "tool", "tool_call_id": "call_1_1", "name": "read", "content": "B"},
    ]


def test_legacy_function_call_and_function_result_become_a_call_and_a_tool_message() -> None:
    out = hf_writer(
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Time?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "now", "arguments": ""},
            },
            {"role": "function", "name": "now", "content": "12:00"},
        ],
        [],
    )
    assert out.line is not None
    assert out.line["messages"][2:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_2_0", "type": "function", "function": {"name": "now", "arguments": {}}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_2_0", "name": "now", "content": "12:00"},
    ]


@pytest.mark.parametrize(
    "arguments, reason, not_json",
    [
        ('{"path": "a.py"', "tool arguments not JSON", 1),
        ('["a.py"]', "tool arguments not a JSON object", 0),
        ("42", "tool arguments not a JSON object", 0),
    ],
)
def test_a_line_whose_arguments_are_not_an_object_is_not_written(
    arguments: str, reason: str, not_json: int
) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [call("c1", "ls", arguments)]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    out = hf_writer(messages, [])
    assert (out.line, out.dropped, out.invalid_arguments) == (None, reason, not_json)


def test_content_parts_join_without_separator_and_non_text_parts_are_noted() -> None:
    out = hf_writer(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is "},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "this?"},
                ],
            },
            {"role": "assistant", "content": "A cat.", "reasoning": "Looks furry."},
        ],
        [],
    )
    assert out.line == {
        "messages": [
            {"role": "user", "content": "What is this?"},
            {"role": "assistant", "content": "A cat.", "reasoning_content": "Looks furry."},
        ],
        "tools": [],
    }
    assert out.notes == (Problem("non-text content dropped", "messages[0]", "image_url"),)


def test_tools_are_wrapped_defaulted_deduplicated_and_nameless_ones_noted() -> None:
    tools = [
        {"type": "function", "function": {"name": "now", "strict": True, "x": None}},
        {"name": "ls", "description": "List.", "parameters": {"type": "object"}},
        {"type": "function", "function": {"name": "now", "description": "second definition"}},
        {"type": "custom", "custom": {"name": "apply_patch", "format": {"type": "text"}}},
        {"type": "web_search"},
    ]
    out = hf_writer(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], tools
    )
    empty = {"type": "object", "properties": {}}
    assert out.line is not None
    assert out.line["tools"] == [
        {
            "type": "function",
            "function": {"name": "now", "description": "", "parameters": empty, "strict": True},
        },
        {
            "type": "function",
            "function": {"name": "ls", "description": "List.", "parameters": {"type": "object"}},
        },
        {
            "type": "function",
            "function": {
                "name": "apply_patch",
                "description": "",
                "parameters": {
                    "type": "object",
                    "properties": {"input": {"type": "string"}},
                    "required": ["input"],
                },
            },
        },
    ]
    assert out.notes == (
        Problem("tool definition without a name dropped", "tools[4]", "web_search"),
    )


def test_custom_tool_call_input_becomes_the_input_argument() -> None:
    custom = {"id": "c", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin"}}
    out = hf_writer(
        [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [custom]}], []
    )
    assert out.line is not None
    assert out.line["messages"][1]["tool_calls"] == [
        {
            "id": "c",
            "type": "function",
            "function": {"name": "apply_patch", "arguments": {"input": "*** Begin"}},
        }
    ]


@pytest.mark.parametrize(
    "bad_call",
    [
        "call_1",
        {"id": "c", "type": "function"},
        {"id": "c", "type": "function", "function": {"name": "", "arguments": "{}"}},
    ],
)
def test_a_tool_call_without_a_function_name_drops_the_line(bad_call: Any) -> None:
    out = hf_writer(
        [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [bad_call]}], []
    )
    assert (out.line, out.dropped) == (None, "malformed tool call")


def test_an_unsupported_role_drops_the_line() -> None:
    out = hf_writer([{"role": "critic", "content": "x"}, {"role": "assistant", "content": "y"}], [])
    assert (out.line, out.dropped) == (None, "unsupported role")


# Private markers and the stream rebuild's `index`, format by format.
PRIVATE = [
    {"role": "user", "content": "go", "_source": "resent"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [call("c1", "ls", "{}", index=0, _raw="x")],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "boom", "_is_error": True},
]


def test_native_drops_index_and_private_keys_without_touching_the_input() -> None:
    before = copy.deepcopy(PRIVATE)
    out = native_writer(PRIVATE, [])
    assert PRIVATE == before
    assert out.line == {
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": [call("c1", "ls", "{}")]},
            {"role": "tool", "tool_call_id": "c1", "content": "boom"},
        ],
        "tools": [],
    }


def test_native_writes_clean_messages_as_the_same_objects() -> None:
    messages = [{"role": "user", "content": "go"}, {"role": "assistant", "content": "ok"}]
    out = native_writer(messages, [])
    assert out.line is not None
    assert all(a is b for a, b in zip(out.line["messages"], messages, strict=True))


@pytest.mark.parametrize("writer", [json_tool_call_writer, hf_writer])
def test_private_keys_never_reach_the_other_formats(writer: Any) -> None:
    out = writer(PRIVATE, [])
    assert out.line is not None
    assert '"_' not in json.dumps(out.line)
    assert "index" not in json.dumps(out.line)


# Through the command line.
def write_logs(
    logs: Path, conversations: list[tuple[list[dict[str, Any]], dict[str, Any]]]
) -> None:
    day = logs / "2026-11-26"
    day.mkdir(parents=True)
    records = [
        {
            "request": {"model": "m", "messages": messages},
            "response": {"object": "chat.completion", "choices": [{"index": 0, "message": reply}]},
            "status": 200,
            "complete": True,
            "endpoint": "/v1/chat/completions",
        }
        for messages, reply in conversations
    ]
    (day / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_hf_on_the_command_line_drops_bad_lines_and_says_so_in_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ([{"role": "user", "content": "a"}], {"role": "assistant", "content": "b"})
    bad = (
        [{"role": "user", "content": "c"}],
        {"role": "assistant", "tool_calls": [call("c1", "ls", "{oops")]},
    )
    write_logs(tmp_path / "logs", [good, bad])
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out"), "--format", "hf"]
    assert main(argv) == 0
    lines = (tmp_path / "out" / "2026-11-26" / "s.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
            "tools": [],
        }
    ]
    assert capsys.readouterr().err == (
        "albicilla-conv: 1 files, 2 records read, 2 used, 0 skipped, 0 damaged lines, "
        "1 conversations written, 1 invalid tool arguments, "
        "1 lines dropped (tool arguments not JSON: 1)\n"
    )


def test_no_json_tool_calls_is_the_native_format(tmp_path: Path) -> None:
    reply = {"role": "assistant", "tool_calls": [call("c1", "ls", "{}", index=0)]}
    write_logs(tmp_path / "logs", [([{"role": "user", "content": "a"}], reply)])
    logs = str(tmp_path / "logs")
    assert main(["--logs", logs, "--output", str(tmp_path / "a"), "--no-json-tool-calls"]) == 0
    assert main(["--logs", logs, "--output", str(tmp_path / "b"), "--format", "native"]) == 0
    one = (tmp_path / "a" / "2026-11-26" / "s.jsonl").read_bytes()
    assert one == (tmp_path / "b" / "2026-11-26" / "s.jsonl").read_bytes()
    assert json.loads(one)["messages"][1]["tool_calls"] == [call("c1", "ls", "{}")]


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--logs", "x", "--output", "y", "--format", "sharegpt"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'sharegpt'" in capsys.readouterr().err


def test_nan_in_arguments_is_not_written_as_invalid_json(tmp_path: Path) -> None:
    nan = (
        [{"role": "user", "content": "a"}],
        {"role": "assistant", "tool_calls": [call("c", "f", '{"x": NaN}')]},
    )
    write_logs(tmp_path / "logs", [nan])
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out"), "--format", "hf"]
    assert main(argv) == 0
    assert not (tmp_path / "out" / "2026-11-26").exists()
