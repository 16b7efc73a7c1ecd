"""Native output names tools the way OpenAI fine-tuning accepts: `^[a-zA-Z0-9_-]{1,64}$`."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from albicilla.conv.cli import main
from albicilla.conv.formats import json_tool_call_writer, native_writer

REAL_AGENTS = Path(__file__).parent / "fixtures" / "real_agents"
CODEX = "2026-12-01/01a22f37-2c6d-7013-b5c8-319b88768380-0ede731b3c95.jsonl"
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
LONG = "mcp__" + "x" * 70  # valid characters, too long


def hashed(original: str, flat: str) -> str:
    """The documented rule's fallback, written out here: 55 characters, `_`, 8 hex digits."""
    return flat[:55] + "_" + hashlib.sha256(original.encode()).hexdigest()[:8]


def function_tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


def call(call_id: str, name: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def names_in(line: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The names of a native line's tool definitions, and of its calls and results."""
    tools = [(t.get("function") or t)["name"] for t in line["tools"]]
    used = []
    for message in line["messages"]:
        used += [c["function"]["name"] for c in message.get("tool_calls") or ()]
        if message.get("role") == "tool" and "name" in message:
            used.append(message["name"])
    return tools, used


HAND_MADE_TOOLS = [
    function_tool("clock.sleep"),
    function_tool("clock_sleep"),  # already valid: "clock.sleep" may not take its name
    function_tool("fs:read"),
    function_tool(LONG),
    function_tool("ok-name"),
]
HAND_MADE_MESSAGES = [
    {"role": "user", "content": "wait, then read"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [call("c1", "clock.sleep"), call("c2", "fs:read"), call("c3", LONG)],
    },
    {"role": "tool", "tool_call_id": "c1", "name": "clock.sleep", "content": "slept"},
    {"role": "tool", "tool_call_id": "c2", "content": "text"},
    {"role": "tool", "tool_call_id": "c3", "content": "long"},
    {"role": "assistant", "content": None, "function_call": {"name": "fs:read", "arguments": ""}},
    {"role": "function", "name": "fs:read", "content": "more"},
    {"role": "assistant", "content": "done"},
]


def test_invalid_names_are_flattened_alike_in_tools_calls_and_results() -> None:
    out = native_writer(HAND_MADE_MESSAGES, HAND_MADE_TOOLS)
    assert out.line is not None
    clock = hashed("clock.sleep", "clock_sleep")  # "clock_sleep" is taken by a valid tool
    long = hashed(LONG, LONG)
    tools, used = names_in(out.line)
    assert tools == [clock, "clock_sleep", "fs_read", long, "ok-name"]
    assert used == [clock, "fs_read", long, clock]
    assert out.line["messages"][5]["function_call"] == {"name": "fs_read", "arguments": ""}
    assert out.line["messages"][6] == {"role": "function", "name": "fs_read", "content": "more"}
    assert all(OPENAI_NAME.match(name) for name in tools + used)
    assert out.renamed_tools == ("clock.sleep", "fs:read", LONG)


def test_renaming_leaves_the_captured_conversation_unchanged() -> None:
    before = json.dumps([HAND_MADE_MESSAGES, HAND_MADE_TOOLS])
    native_writer(HAND_MADE_MESSAGES, HAND_MADE_TOOLS)
    assert json.dumps([HAND_MADE_MESSAGES, HAND_MADE_TOOLS]) == before


def test_two_names_flattening_to_the_same_name_stay_apart_in_sorted_order() -> None:
    tools = [function_tool("a:b"), function_tool("a.b")]
    out = native_writer([{"role": "user", "content": "x"}], tools)
    assert out.line is not None
    # "a.b" sorts before "a:b", so it takes "a_b" and "a:b" gets the hashed name.
    assert names_in(out.line)[0] == [hashed("a:b", "a_b"), "a_b"]


def test_valid_names_are_written_as_captured_and_counted_as_nothing() -> None:
    tools = [function_tool("read_file"), function_tool("Edit-2")]
    messages = [{"role": "assistant", "content": None, "tool_calls": [call("c", "read_file")]}]
    out = native_writer(messages, tools)
    assert out.line == {"messages": messages, "tools": tools}
    assert out.renamed_tools == ()


def test_only_the_native_format_renames() -> None:
    out = json_tool_call_writer(HAND_MADE_MESSAGES, HAND_MADE_TOOLS)
    assert out.line is not None
    assert out.line["tools"][0]["name"] == "clock.sleep"
    assert out.renamed_tools == ()


def test_real_codex_namespaced_tools_become_valid_names_and_are_reported(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    (logs / "2026-12-01").mkdir(parents=True)
    shutil.copy(REAL_AGENTS / CODEX, logs / CODEX)
    captured = (REAL_AGENTS / CODEX).read_text(encoding="utf-8")
    assert '"type":"namespace","name":"clock"' in captured  # Codex's namespaced clock.sleep
    report = tmp_path / "report.json"
    argv = ["--logs", str(logs), "--output", str(tmp_path / "out"), "--report", str(report)]
    assert main([*argv, "--format", "native", "--jobs", "1"]) == 0
    lines = [json.loads(x) for x in (tmp_path / "out" / CODEX).read_text().splitlines()]
    assert lines
    for line in lines:
        tools, used = names_in(line)
        assert [name for name in tools + used if not OPENAI_NAME.match(name)] == []
        assert set(used) <= set(tools)
    tools = names_in(lines[-1])[0]
    assert "clock_sleep" in tools and "collaboration_spawn_agent" in tools
    renamed = json.loads(report.read_text())["renamed_tools"]
    assert renamed["clock.sleep"] == len(lines)
    assert all("." in name for name in renamed)


def test_the_report_counts_no_renamed_tools_in_other_formats(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    argv = ["--logs", str(REAL_AGENTS), "--output", str(tmp_path / "out"), "--report", str(report)]
    assert main([*argv, "--format", "json_tool_call", "--jobs", "1"]) == 0
    assert json.loads(report.read_text())["renamed_tools"] == {}
