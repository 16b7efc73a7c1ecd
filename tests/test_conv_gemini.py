"""Gemini records in chat form, and a Gemini CLI session (as observed: id-less calls resent with
ids the client made up, a router side call, a resumed history that repeats a tool result and
carries a placeholder signature) folded into one tool-calling conversation in every format."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conv_support import fold_logs, write_logs

from albicilla.conv.apis import to_exchange
from albicilla.conv.apis.common import ChatForm, Context
from albicilla.conv.cli import main

STREAM = "/v1beta/models/{model}:streamGenerateContent"
SYSTEM = {"role": "user", "parts": [{"text": "You are Gemini CLI."}]}
TOOLS = [
    {
        "functionDeclarations": [
            {
                "name": "run_shell_command",
                "description": "Run it",
                "parametersJsonSchema": {"type": "object"},
            }
        ]
    }
]
PROMPT = {
    "role": "user",
    "parts": [{"text": "<session_context>ctx</session_context>"}, {"text": "say hello"}],
}
CALL = {"name": "run_shell_command", "args": {"command": "echo hi"}}


def call_part(call_id: str | None = None, signature: str = "SIG") -> dict:
    call = dict(CALL, id=call_id) if call_id else dict(CALL)
    return {"functionCall": call, "thoughtSignature": signature}


def result_part(call_id: str) -> dict:
    return {
        "functionResponse": {
            "name": "run_shell_command",
            "id": call_id,
            "response": {"output": "hi"},
        }
    }


def record(
    contents: list[dict],
    parts: list[dict],
    *,
    model: str = "gemini-3.1-pro-preview",
    endpoint: str = STREAM,
    extra: dict | None = None,
) -> dict:
    request = {"contents": contents, "systemInstruction": SYSTEM, "tools": TOOLS, **(extra or {})}
    response = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ]
    }
    return {
        "timestamp": "2026-12-01T10:00:00.000000Z",
        "session_id": "gem-1",
        "status": 200,
        "complete": True,
        "stream": True,
        "endpoint": endpoint,
        "model": model,
        "request": request,
        "response": response,
        "schema_version": 1,
    }


def session() -> list[dict]:
    thought = {"text": "I will run it.", "thought": True}
    router = record(
        [{"role": "user", "parts": [{"text": "say hello"}]}],
        [{"text": '{"complexity_score": 10}'}],
        model="gemini-3.5-flash-lite",
        endpoint="/v1beta/models/{model}:generateContent",
        extra={"tools": [], "systemInstruction": {"parts": [{"text": "Route."}]}},
    )
    first = record([PROMPT], [thought, call_part()])
    second = record(
        [
            PROMPT,
            {"role": "model", "parts": [call_part("run_shell_command_17_0")]},
            {"role": "user", "parts": [result_part("run_shell_command_17_0")]},
        ],
        [{"text": "Done.", "thoughtSignature": "S2"}],
    )
    resumed = record(
        [
            PROMPT,
            {
                "role": "model",
                "parts": [call_part("run_shell_command_17_0", "skip_thought_signature_validator")],
            },
            {
                "role": "user",
                "parts": [
                    result_part("run_shell_command_17_0"),
                    result_part("run_shell_command_17_0"),
                ],
            },
            {"role": "model", "parts": [{"text": "Done."}]},
            {"role": "user", "parts": [{"text": "again"}]},
        ],
        [{"text": "Again done."}],
    )
    return [router, first, second, resumed]


def test_a_gemini_record_maps_to_chat_form():
    exchange = to_exchange(session()[1], Context())
    assert isinstance(exchange, ChatForm)
    assert exchange.messages == [
        {"role": "system", "content": "You are Gemini CLI."},
        {"role": "user", "content": "<session_context>ctx</session_context>\nsay hello"},
    ]
    [reply] = exchange.replies
    assert reply["reasoning_content"] == "I will run it."
    assert reply["tool_calls"] == [
        {
            "id": "call_1_1",
            "type": "function",
            "function": {"name": "run_shell_command", "arguments": '{"command": "echo hi"}'},
        }
    ]
    assert exchange.tools == [
        {
            "type": "function",
            "function": {
                "name": "run_shell_command",
                "description": "Run it",
                "parameters": {"type": "object"},
            },
        }
    ]


def test_results_without_ids_match_calls_by_name_and_order_and_other_parts_are_counted():
    contents = [
        PROMPT,
        {"role": "model", "parts": [{"functionCall": CALL}, {"functionCall": CALL}]},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "run_shell_command", "response": {"x": 1}}},
                {"functionResponse": {"name": "run_shell_command", "response": {"x": 2}}},
                {"inlineData": {"mimeType": "image/png", "data": "AA=="}},
            ],
        },
    ]
    context = Context()
    exchange = to_exchange(record(contents, [{"text": "ok"}]), context)
    tools = [m for m in exchange.messages if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tools] == [
        ("call_1_0", '{"x": 1}'),
        ("call_1_1", '{"x": 2}'),
    ]
    assert context.dropped == Counter({"gemini part": 1})


def test_gemini_cli_session_folds_into_one_conversation_plus_the_router_line(tmp_path):
    root = write_logs(tmp_path / "logs", {"2026-12-01/gem-1.jsonl": session()})
    lines, skipped, dropped = fold_logs(root)
    conversations = lines["2026-12-01/gem-1.jsonl"]
    assert len(conversations) == 2, conversations
    main_line = max(conversations, key=lambda c: len(c["messages"]))
    roles = [m["role"] for m in main_line["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert dropped["repeated tool result"] == 1
    assert not skipped


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_every_format_writes_the_gemini_session(tmp_path, fmt):
    write_logs(tmp_path / "logs", {"2026-12-01/gem-1.jsonl": session()})
    out = tmp_path / "out"
    argv = [
        "--logs",
        str(tmp_path / "logs"),
        "--output",
        str(out),
        "--single-file",
        "--format",
        fmt,
        "--report",
        str(tmp_path / "report.json"),
    ]
    assert main(argv) == 0
    lines = [json.loads(x) for x in (out / "conversations.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    text = json.dumps(lines)
    assert "echo hi" in text and "Again done." in text
    report = json.loads((tmp_path / "report.json").read_text())
    assert "repeated tool result" in json.dumps(report)


REAL_GEMINI = Path(__file__).parent / "fixtures" / "real_agents" / "2026-12-06"


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_the_captured_gemini_cli_session_folds_into_one_loop_and_two_router_lines(
    tmp_path: Path, fmt: str
) -> None:
    """Gemini CLI 0.61.0 for real (tests/fixtures/real_agents): `-p` with one tool call, then
    `--resume latest` with another; a router call before each prompt."""
    logs = tmp_path / "logs"
    shutil.copytree(REAL_GEMINI, logs / REAL_GEMINI.name)
    report = tmp_path / "report.json"
    argv = ["--logs", str(logs), "--output", str(tmp_path / "out"), "--format", fmt]
    assert main([*argv, "--report", str(report)]) == 0
    lines = (tmp_path / "out" / REAL_GEMINI.name / "gem-session-resumed.jsonl").read_text()
    conversations = [json.loads(line)["messages"] for line in lines.splitlines()]
    routers = [c for c in conversations if "complexity_score" in c[-1]["content"]]
    assert len(routers) == 2 and len(conversations) == 3
    (loop,) = [c for c in conversations if c not in routers]
    text = json.dumps(loop)
    assert "say hi, then run echo" in text and "now say bye" in text
    assert [m["role"] for m in loop].count("tool") == 2  # the repeated result once
    assert loop[-1]["content"] == "Done: the tool printed hello-from-tool."
    counts = json.loads(report.read_text())["records"]
    # The resumed router call and both resumed main calls repeat the earlier result; the call
    # sent without an id comes back with the client's, once per tool call.
    assert counts["dropped_items"] == {"repeated tool result": 3}
    assert (counts["read"], counts["used"], counts["id_only_folds"]) == (6, 6, 2)
